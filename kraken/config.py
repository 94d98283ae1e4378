"""Configuration: the only module that reads the environment.

`load_settings(environ)` turns environment variables (names of the wire
contract §12 plus `KRAKEN_*`) into a validated, immutable `Settings`.
Development and test generate their secrets once into a git-ignored folder;
production refuses to start without real ones and names what is missing.
"""
from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import Literal, Mapping
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

PROJECT_ROOT = Path(__file__).resolve().parent.parent
MIN_SECRET_LENGTH = 32


class ConfigError(RuntimeError):
    """Raised when the configuration cannot be used; the message says why."""


class Settings(BaseModel):
    """Everything the app reads from its environment, validated."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    env: Literal["development", "production", "test"] = "development"
    port: int = Field(3000, ge=1, le=65535)
    bind_host: str = "0.0.0.0"
    # gunicorn workers per process; keep 1 (gunicorn.conf.py says why), scale out with processes
    workers: int = Field(1, ge=1, le=32)
    data_dir: Path = PROJECT_ROOT / ".data"

    mongodb_url: str = "mongodb://127.0.0.1:27017/kraken"
    redis_url: str = "redis://127.0.0.1:6379/0"
    # Redis Sentinel (README "Scaling out"): host:port of each sentinel and the master's name; with them,
    # redis_url is `redis://[:REDIS_PASSWORD@]<master>/<REDIS_DB>` (kraken.adapters.redis.RedisLocation)
    redis_sentinels: tuple[str, ...] = ()
    redis_sentinel_master: str = "mymaster"
    redis_sentinel_password: str | None = None

    jwt_secret: str = Field(min_length=MIN_SECRET_LENGTH)
    jwt_refresh_secret: str = Field(min_length=MIN_SECRET_LENGTH)
    access_token_ttl: int = Field(3600, ge=60, le=86400)
    refresh_token_ttl_days: int = Field(30, ge=1, le=365)
    refresh_grace_seconds: int = Field(10, ge=0, le=120)

    cors_origins: tuple[str, ...] = ("http://localhost:5173", "http://127.0.0.1:5173")
    # URL fields clients render (avatars, banners) may be plain http:// (kraken.common.urls)
    allow_http_urls: bool = False
    trusted_proxies: int = Field(0, ge=0, le=5)

    livekit_url: str | None = None
    # where this server reaches LiveKit's API when that differs from the browsers' LIVEKIT_URL (compose)
    livekit_internal_url: str | None = None
    livekit_api_key: str | None = None
    livekit_api_secret: str | None = None
    # seconds a voice-presence entry lives without a refresh (docs/decisions/0019-voice-and-livekit.md)
    voice_presence_ttl: int = Field(90, ge=2, le=3600)

    registration: Literal["invite", "open", "closed"] = "invite"
    community_creation: Literal["everyone", "admins"] = "everyone"
    voice: Literal["on", "off"] = "on"
    uploads: Literal["on", "off"] = "on"
    max_upload_bytes: int = Field(25 * 1024 * 1024, ge=1024)
    upload_dir: Path | None = None
    # a new user's storage quota unless the instance settings name one (kraken.storage_quota)
    default_storage_quota_bytes: int = Field(50 * 1024 ** 3, ge=0)
    # the key of signed file URLs; unset: derived from JWT_SECRET (kraken.files.signing)
    file_signing_secret: str | None = Field(None, min_length=MIN_SECRET_LENGTH)
    # where uploaded bytes live: the local disk (upload_dir) or an S3-compatible bucket (README "Scaling out")
    storage: Literal["local", "s3"] = "local"
    s3_bucket: str | None = None
    s3_endpoint: str | None = None      # None: AWS S3 itself; else e.g. http://seaweedfs:8333
    s3_region: str = "us-east-1"
    s3_access_key: str | None = None    # None: boto3's own chain (AWS_ACCESS_KEY_ID, instance roles, ...)
    s3_secret_key: str | None = None

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    rate_limits: bool = True
    # seconds a socket stays "online" without a heartbeat (a crashed process's users go offline after it)
    presence_ttl: int = Field(30, ge=3, le=600)
    # seconds a user whose last socket closed stays "online": a reconnection within it (a network
    # blip, a server restart) announces nothing, instead of userOffline then userOnline to every room
    presence_grace: float = Field(10, ge=0, le=600)
    # Argon2id cost; the default meets OWASP's minimum (m=19 MiB, t=2, p=1).
    argon2_memory_kib: int = Field(19456, ge=1024)
    argon2_time_cost: int = Field(2, ge=1)
    # web push (docs/decisions/0068-web-push.md): VAPID keys from the environment (base64url, as
    # `web-push generate-vapid-keys` prints them), else generated once and kept in the database
    push: Literal["on", "off"] = "on"
    vapid_public_key: str | None = Field(None, pattern=r"^[A-Za-z0-9_-]{86,88}=*$")
    vapid_private_key: str | None = Field(None, pattern=r"^[A-Za-z0-9_-]{42,44}=*$")
    vapid_subject: str = Field("mailto:admin@localhost", pattern=r"^(mailto:\S+@\S+|https://\S+)$")
    # push endpoints may be http:// and private or loopback addresses (a test's own push service);
    # never in production: the server POSTs to whatever URL a subscriber gives
    push_insecure_endpoints: bool = False
    # seconds between two search sweeps of a process (kraken.search; 0: none, only explicit `sweep()` calls)
    search_sweep_seconds: float = Field(600.0, ge=0, le=86400)
    # pinned messages per channel (docs/decisions/0055-pins.md)
    pins_per_channel: int = Field(50, ge=1, le=1000)

    @field_validator("mongodb_url")
    @classmethod
    def _mongo_scheme(cls, v: str) -> str:
        if not v.startswith(("mongodb://", "mongodb+srv://")):
            raise ValueError("MONGODB_URL must start with mongodb:// or mongodb+srv://")
        return v

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, v: str) -> str:
        if not v.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("REDIS_URL must start with redis://, rediss:// or unix://")
        return v

    @model_validator(mode="after")
    def _s3_needs_a_bucket(self) -> "Settings":
        if self.storage == "s3" and not self.s3_bucket:
            raise ValueError("KRAKEN_STORAGE=s3 needs KRAKEN_S3_BUCKET")
        return self

    @property
    def production(self) -> bool:
        return self.env == "production"

    @property
    def voice_enabled(self) -> bool:
        return self.voice == "on" and bool(self.livekit_api_key and self.livekit_api_secret)

    @property
    def livekit_api_url(self) -> str | None:
        """The URL this server calls LiveKit's API on."""
        return self.livekit_internal_url or self.livekit_url

    @property
    def resolved_upload_dir(self) -> Path:
        return self.upload_dir or self.data_dir / "uploads"


# environment variable -> Settings field
_ENV_NAMES = {
    "KRAKEN_ENV": "env",
    "PORT": "port",
    "KRAKEN_BIND_HOST": "bind_host",
    "KRAKEN_WORKERS": "workers",
    "KRAKEN_DATA_DIR": "data_dir",
    "MONGODB_URL": "mongodb_url",
    "JWT_SECRET": "jwt_secret",
    "JWT_REFRESH_SECRET": "jwt_refresh_secret",
    "KRAKEN_ACCESS_TOKEN_TTL": "access_token_ttl",
    "KRAKEN_REFRESH_TOKEN_TTL_DAYS": "refresh_token_ttl_days",
    "KRAKEN_REFRESH_GRACE_SECONDS": "refresh_grace_seconds",
    "KRAKEN_TRUSTED_PROXIES": "trusted_proxies",
    "LIVEKIT_URL": "livekit_url",
    "LIVEKIT_INTERNAL_URL": "livekit_internal_url",
    "LIVEKIT_API_KEY": "livekit_api_key",
    "LIVEKIT_API_SECRET": "livekit_api_secret",
    "KRAKEN_REGISTRATION": "registration",
    "KRAKEN_COMMUNITY_CREATION": "community_creation",
    "KRAKEN_VOICE": "voice",
    "KRAKEN_UPLOADS": "uploads",
    "KRAKEN_MAX_UPLOAD_BYTES": "max_upload_bytes",
    "KRAKEN_UPLOAD_DIR": "upload_dir",
    "KRAKEN_DEFAULT_STORAGE_QUOTA_BYTES": "default_storage_quota_bytes",
    "FILE_SIGNING_SECRET": "file_signing_secret",
    "KRAKEN_STORAGE": "storage",
    "KRAKEN_S3_BUCKET": "s3_bucket",
    "KRAKEN_S3_ENDPOINT": "s3_endpoint",
    "KRAKEN_S3_REGION": "s3_region",
    "KRAKEN_S3_ACCESS_KEY": "s3_access_key",
    "KRAKEN_S3_SECRET_KEY": "s3_secret_key",
    "KRAKEN_LOG_LEVEL": "log_level",
    "KRAKEN_RATE_LIMITS": "rate_limits",
    "KRAKEN_ALLOW_HTTP_URLS": "allow_http_urls",
    "KRAKEN_PRESENCE_TTL": "presence_ttl",
    "KRAKEN_PRESENCE_GRACE": "presence_grace",
    "KRAKEN_VOICE_PRESENCE_TTL": "voice_presence_ttl",
    "KRAKEN_ARGON2_MEMORY_KIB": "argon2_memory_kib",
    "KRAKEN_ARGON2_TIME_COST": "argon2_time_cost",
    "KRAKEN_PUSH": "push",
    "VAPID_PUBLIC_KEY": "vapid_public_key",
    "VAPID_PRIVATE_KEY": "vapid_private_key",
    "VAPID_SUBJECT": "vapid_subject",
    "KRAKEN_PUSH_INSECURE_ENDPOINTS": "push_insecure_endpoints",
    "REDIS_SENTINEL_MASTER": "redis_sentinel_master",
    "REDIS_SENTINEL_PASSWORD": "redis_sentinel_password",
    "KRAKEN_PINS_PER_CHANNEL": "pins_per_channel",
    "KRAKEN_SEARCH_SWEEP_SECONDS": "search_sweep_seconds",
}
_SECRETS = ("jwt_secret", "jwt_refresh_secret")
_LIVEKIT = ("livekit_url", "livekit_internal_url", "livekit_api_key", "livekit_api_secret")
# `livekit-server --dev` (what `make services` runs): public development values, not secrets.
DEV_LIVEKIT = {"livekit_url": "ws://127.0.0.1:7880", "livekit_api_key": "devkey", "livekit_api_secret": "secret"}


def known_secret_problems(settings: Settings) -> list[str]:
    """Secrets a production instance must not run on, each naming its variable: LiveKit's public
    development pair (anyone holding it forges webhooks and voice tokens), secrets shorter than
    MIN_SECRET_LENGTH, and JWT secrets equal to each other (one leak would forge both kinds of token)."""
    problems = []
    for name, field in (("JWT_SECRET", "jwt_secret"), ("JWT_REFRESH_SECRET", "jwt_refresh_secret"),
                        ("LIVEKIT_API_SECRET", "livekit_api_secret")):
        value = getattr(settings, field)
        if value is not None and len(value) < MIN_SECRET_LENGTH:
            problems.append(f"{name} is shorter than {MIN_SECRET_LENGTH} characters")
    if settings.jwt_secret == settings.jwt_refresh_secret:
        problems.append("JWT_SECRET and JWT_REFRESH_SECRET are equal")
    if settings.livekit_api_key == DEV_LIVEKIT["livekit_api_key"]:
        problems.append(f"LIVEKIT_API_KEY is LiveKit's development key ({DEV_LIVEKIT['livekit_api_key']})")
    if settings.livekit_api_secret == DEV_LIVEKIT["livekit_api_secret"]:
        problems.append(f"LIVEKIT_API_SECRET is LiveKit's development secret ({DEV_LIVEKIT['livekit_api_secret']})")
    return problems


def _redis_url_from_parts(environ: Mapping[str, str]) -> str | None:
    if environ.get("REDIS_SENTINELS"):  # the master's name stands for its host (RedisLocation)
        password = environ.get("REDIS_PASSWORD")
        auth = f":{quote(password, safe='')}@" if password else ""
        master = environ.get("REDIS_SENTINEL_MASTER") or Settings.model_fields["redis_sentinel_master"].default
        return f"redis://{auth}{master}/{environ.get('REDIS_DB', '0')}"
    if environ.get("REDIS_URL"):
        return environ["REDIS_URL"]
    if not environ.get("REDIS_HOST"):
        return None
    password = environ.get("REDIS_PASSWORD")
    auth = f":{quote(password, safe='')}@" if password else ""
    return f"redis://{auth}{environ['REDIS_HOST']}:{environ.get('REDIS_PORT', '6379')}/{environ.get('REDIS_DB', '0')}"


def _dev_secrets(data_dir: Path) -> dict[str, str]:
    """Development secrets, generated once and kept in the git-ignored data folder."""
    path = data_dir / "secrets.json"
    if path.exists():
        return json.loads(path.read_text())
    data_dir.mkdir(parents=True, exist_ok=True)
    values = {name: secrets.token_urlsafe(48) for name in _SECRETS}
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(values))
    tmp.chmod(0o600)
    try:
        os.link(tmp, path)  # atomic: the first process to start wins
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)
    return json.loads(path.read_text())


def load_settings(environ: Mapping[str, str] | None = None, **overrides) -> Settings:
    """Build Settings from `environ` (default: os.environ) plus keyword overrides.

    Raises ConfigError listing every missing or invalid setting.
    """
    environ = os.environ if environ is None else environ
    values: dict[str, object] = {}
    for name, field in _ENV_NAMES.items():
        raw = environ.get(name)
        if raw not in (None, ""):
            values[field] = raw
    if origins := environ.get("CORS_ORIGINS"):
        values["cors_origins"] = tuple(o.strip() for o in origins.split(",") if o.strip())
    if redis_url := _redis_url_from_parts(environ):
        values["redis_url"] = redis_url
    if sentinels := environ.get("REDIS_SENTINELS"):
        values["redis_sentinels"] = tuple(h.strip() for h in sentinels.split(",") if h.strip())
    values.update(overrides)

    env = values.get("env", "development")
    if env == "production":
        required = {"JWT_SECRET": "jwt_secret", "JWT_REFRESH_SECRET": "jwt_refresh_secret",
                    "MONGODB_URL": "mongodb_url", "REDIS_URL, REDIS_HOST or REDIS_SENTINELS": "redis_url"}
        missing = [name for name, field in required.items() if not values.get(field)]
        if missing:
            raise ConfigError("production mode needs real settings; missing: " + ", ".join(missing))
    else:
        data_dir = Path(str(values.get("data_dir", Settings.model_fields["data_dir"].default)))
        for field, value in _dev_secrets(data_dir).items():
            values.setdefault(field, value)
        if not any(values.get(field) for field in _LIVEKIT):
            values.update(DEV_LIVEKIT)  # voice works out of the box with `make services`
    try:
        settings = Settings.model_validate(values)
    except ValidationError as exc:
        env_names = {field: name for name, field in _ENV_NAMES.items()} | {"redis_url": "REDIS_URL"}
        problems = [f"{env_names.get(str(e['loc'][0]), e['loc'][0])}: {e['msg']}" for e in exc.errors()]
        raise ConfigError("invalid configuration: " + "; ".join(problems)) from None
    if (settings.vapid_public_key is None) != (settings.vapid_private_key is None):
        raise ConfigError("invalid configuration: VAPID_PUBLIC_KEY and VAPID_PRIVATE_KEY go together")
    if settings.production and settings.push_insecure_endpoints:
        raise ConfigError("production refuses KRAKEN_PUSH_INSECURE_ENDPOINTS")
    if settings.production and (problems := known_secret_problems(settings)):
        raise ConfigError("production refuses known or weak secrets: " + "; ".join(problems))
    return settings
