"""The instance's storage limits: the default quota of new users and the largest file accepted.

The instance settings document (HF §12.3, `defaultStorageQuotaBytes`, `maxFileSizeBytes`) wins when it
names them; otherwise the configuration does (`KRAKEN_DEFAULT_STORAGE_QUOTA_BYTES`,
`KRAKEN_MAX_UPLOAD_BYTES`). The configured upload limit is also a ceiling no setting can lift: the
app's body limit is built from it (decision 0065).
"""
from __future__ import annotations

from dataclasses import dataclass

from kraken import extensions
from kraken.users.models import User

# the single instance settings row, read raw: its document belongs to the instance settings feature
SETTINGS_COLLECTION = "instance_settings"


@dataclass(frozen=True)
class Limits:
    default_quota_bytes: int
    max_file_size_bytes: int


def _setting(row: dict, key: str) -> int | None:
    value = row.get(key)
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0 else None


def limits() -> Limits:
    """The limits in force now (one read of the settings row)."""
    settings = extensions.settings()
    row = User._get_db()[SETTINGS_COLLECTION].find_one(
        {}, {"defaultStorageQuotaBytes": 1, "maxFileSizeBytes": 1}) or {}
    default_quota = _setting(row, "defaultStorageQuotaBytes")
    max_file = _setting(row, "maxFileSizeBytes")
    return Limits(default_quota if default_quota is not None else settings.default_storage_quota_bytes,
                  min(max_file, settings.max_upload_bytes) if max_file is not None else settings.max_upload_bytes)


def default_quota() -> int:
    """The quota a new user gets."""
    return limits().default_quota_bytes


def quota_of(user, default: int | None = None) -> int:
    """The user's quota: their own, or the default for users stored before quotas existed."""
    if user.storage_quota_bytes is not None:
        return user.storage_quota_bytes
    return default if default is not None else default_quota()
