"""docker/compose.yaml, checked the way Compose reads it (no Docker engine or compose
plugin runs here): ${VARS} interpolated from docker/.env.example with Compose's rules,
the result validated against the official compose-spec JSON schema (the copy vendored
by the check-jsonschema package), then the wiring Kraken relies on."""
from __future__ import annotations

import copy
import json
import re
from importlib import resources

import jsonschema
import pytest
import yaml

from kraken.config import _ENV_NAMES
from tests.live import ROOT
from tests.ops.helpers import DOCKER

COMPOSE = yaml.safe_load((DOCKER / "compose.yaml").read_text())  # safe_load resolves the `<<:` merge keys like Compose
SERVICES = COMPOSE["services"]
# ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?error}, ${NAME?error}, ${NAME:+alt}
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?)([-?+])([^}]*))?\}")
FILLED_SECRETS = {"LIVEKIT_API_SECRET": "a1" * 32}  # what an operator puts in docker/.env


def env_example(include_commented: bool = False) -> dict[str, str]:
    """NAME -> value from docker/.env.example; commented `# NAME=value` lines only on request."""
    values = {}
    for line in (DOCKER / ".env.example").read_text().splitlines():
        match = re.match(r"^(#\s*)?([A-Z][A-Z0-9_]*)=(.*)$", line)
        if match and (include_commented or not match.group(1)):
            values.setdefault(match.group(2), re.split(r"\s+#", match.group(3))[0].strip())
    return values


def interpolate(text: str, env: dict[str, str]) -> str:
    """Compose's variable substitution (the subset without nesting)."""
    def replace(match: re.Match) -> str:
        name, colon, op, arg = match.groups()
        value = env.get(name)
        present = value is not None and (value != "" or not colon)
        if op is None:
            return value or ""
        if op == "-":
            return value if present else arg
        if op == "+":
            return arg if present else ""
        if not present:  # "?"
            raise ValueError(f"{name}: {arg}")
        return value
    return _VAR.sub(replace, text.replace("$$", "\0")).replace("\0", "$")


def strings(node) -> list[str]:
    """Every string value of the parsed file: Compose interpolates values, not comments or keys."""
    if isinstance(node, dict):
        return [s for v in node.values() for s in strings(v)]
    if isinstance(node, list):
        return [s for v in node for s in strings(v)]
    return [node] if isinstance(node, str) else []


def interpolate_tree(node, env: dict[str, str]):
    if isinstance(node, dict):
        return {k: interpolate_tree(v, env) for k, v in node.items()}
    if isinstance(node, list):
        return [interpolate_tree(v, env) for v in node]
    return interpolate(node, env) if isinstance(node, str) else node


def compose_schema_validator() -> jsonschema.Validator:
    text = (resources.files("check_jsonschema") / "builtin_schemas/vendor/compose-spec.json").read_text()
    schema = json.loads(text)
    assert schema["title"] == "Compose Specification"
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def test_valid_against_the_compose_spec_schema():
    resolved = interpolate_tree(COMPOSE, env_example() | FILLED_SECRETS)
    errors = sorted(compose_schema_validator().iter_errors(resolved), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{'/'.join(map(str, e.path))}: {e.message}" for e in errors)


def test_the_schema_check_is_not_vacuous():
    broken = copy.deepcopy(COMPOSE)
    broken["services"]["app1"]["depends_on"]["mongo"]["condition"] = "service_up"
    broken["services"]["nginx"]["volume"] = broken["services"]["nginx"].pop("volumes")
    messages = [e.message for e in compose_schema_validator().iter_errors(broken)]
    assert any("service_up" in m for m in messages) and any("volume" in m for m in messages), messages


def test_every_variable_is_in_env_example():
    documented = env_example(include_commented=True)
    values = strings(COMPOSE)
    used = {m.group(1) for value in values for m in _VAR.finditer(value)}
    assert used, "compose.yaml takes its secrets from docker/.env"
    assert used <= set(documented), f"not in docker/.env.example: {used - set(documented)}"
    # bare $NAME is also interpolated by Compose; this file uses only ${...} (and $$)
    assert not [v for v in values if re.search(r"\$(?!\{)", v.replace("$$", ""))]


def test_compose_refuses_to_start_without_the_livekit_secret():
    with pytest.raises(ValueError, match="LIVEKIT_API_SECRET"):
        interpolate_tree(COMPOSE, env_example())  # as shipped: the secret is empty


def test_env_example_lists_every_setting_the_app_reads():
    documented = env_example(include_commented=True)
    expected = set(_ENV_NAMES) | {"REDIS_URL", "REDIS_HOST", "REDIS_PORT", "REDIS_PASSWORD", "REDIS_DB",
                                  "CORS_ORIGINS", "KRAKEN_MIGRATE_ON_START"}
    assert expected <= set(documented), f"missing from docker/.env.example: {sorted(expected - set(documented))}"
    active = env_example()
    # secrets are placeholders to generate, never working values
    assert active["JWT_SECRET"] == active["JWT_REFRESH_SECRET"] == active["LIVEKIT_API_SECRET"] == ""


def test_services_and_pinned_images():
    assert {"mongo", "redis", "livekit", "app1", "app2", "nginx"} <= set(SERVICES)
    assert SERVICES["mongo"]["image"] == "mongo:7.0"
    assert SERVICES["redis"]["image"] == "redis:7-alpine"
    assert SERVICES["nginx"]["image"] == "nginx:1.27-alpine"
    services_sh = (ROOT / "scripts/services.sh").read_text()
    livekit_version = re.search(r'LIVEKIT_VERSION="(v[\d.]+)"', services_sh).group(1)
    assert SERVICES["livekit"]["image"] == f"livekit/livekit-server:{livekit_version}", \
        "production runs the LiveKit version development and tests use"
    for name in ("mongo", "redis"):
        assert SERVICES[name]["healthcheck"]["test"][0] == "CMD"
    named = set(COMPOSE["volumes"])
    assert "mongo-data:/data/db" in SERVICES["mongo"]["volumes"] and "mongo-data" in named


def test_apps_are_built_from_the_dockerfile_and_point_at_the_services():
    for name in ("app1", "app2"):
        app = SERVICES[name]
        context = (DOCKER / app["build"]["context"]).resolve()
        assert context == ROOT and app["build"]["dockerfile"] == "docker/Dockerfile"
        assert (context / app["build"]["dockerfile"]).is_file()
        assert app["env_file"] == ".env"
        env = app["environment"]
        assert env["MONGODB_URL"] == "mongodb://mongo:27017/kraken"
        assert env["REDIS_URL"] == "redis://redis:6379/0"
        assert env["KRAKEN_ENV"] == "production"
        assert str(env["KRAKEN_TRUSTED_PROXIES"]) == "1"
        assert "uploads:/data/uploads" in app["volumes"]
        assert env["KRAKEN_UPLOAD_DIR"] == "/data/uploads"
        assert app["depends_on"]["mongo"]["condition"] == app["depends_on"]["redis"]["condition"] == "service_healthy"
    assert "uploads" in COMPOSE["volumes"]


def test_only_app1_migrates_and_app2_waits_for_it():
    assert SERVICES["app1"]["environment"].get("KRAKEN_MIGRATE_ON_START", "1") != "0"
    assert SERVICES["app2"]["environment"]["KRAKEN_MIGRATE_ON_START"] == "0"
    assert SERVICES["app2"]["depends_on"]["app1"]["condition"] == "service_healthy"
    # the merge must not have dropped app2's shared settings
    assert SERVICES["app2"]["environment"]["MONGODB_URL"] == SERVICES["app1"]["environment"]["MONGODB_URL"]


def test_nginx_mounts_its_config_and_targets_the_app_services():
    nginx = SERVICES["nginx"]
    mounts = dict(v.rsplit(":", 1)[0].split(":", 1) for v in nginx["volumes"])
    assert mounts["./nginx.conf"] == "/etc/nginx/nginx.conf"
    # nginx.conf includes nginx-upstream.conf relative to its own directory
    assert mounts["./nginx-upstream.conf"] == "/etc/nginx/nginx-upstream.conf"
    for source in mounts:
        assert (DOCKER / source).is_file(), source
    assert any(str(p).endswith(":80") for p in nginx["ports"])
    upstream = (DOCKER / "nginx-upstream.conf").read_text()
    hosts = re.findall(r"^\s*server\s+([\w.-]+):3000;", upstream, re.M)
    assert sorted(hosts) == ["app1", "app2"]
    assert set(nginx["depends_on"]) >= {"app1", "app2"}


def test_livekit_config_keys_and_webhook_are_wired():
    livekit = SERVICES["livekit"]
    host_path, container_path = livekit["volumes"][0].split(":")[:2]
    assert (DOCKER / host_path).resolve() == DOCKER / "livekit.yaml"
    assert livekit["command"] == ["--config", container_path]
    config = yaml.safe_load((DOCKER / "livekit.yaml").read_text())
    assert "keys" not in config, "secrets come from LIVEKIT_KEYS, not from a file in git"
    keys = interpolate(livekit["environment"]["LIVEKIT_KEYS"], env_example() | FILLED_SECRETS)
    key_name, secret = keys.split(": ")
    assert config["webhook"]["api_key"] == key_name == env_example()["LIVEKIT_API_KEY"]
    assert secret == FILLED_SECRETS["LIVEKIT_API_SECRET"]
    assert config["webhook"]["urls"] in (["http://nginx/api/livekit/webhook"], ["http://app1:3000/api/livekit/webhook"])
    assert config["port"] == 7880 and config["rtc"]["tcp_port"] == 7881
    udp = f"{config['rtc']['port_range_start']}-{config['rtc']['port_range_end']}"
    assert f"{udp}:{udp}/udp" in livekit["ports"] and "7881:7881" in livekit["ports"]
