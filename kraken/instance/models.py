"""The instance's settings: one document, created on first read (kraken-head-features §12.3)."""
from __future__ import annotations

from mongoengine import DateTimeField, Document, IntField, StringField

from kraken.common.time import utcnow

REGISTRATION_MODES = ("OPEN", "INVITE_ONLY", "CLOSED")
SETTINGS_ID = "instance"
DEFAULT_NAME = "Kraken"
DEFAULT_STORAGE_QUOTA = 53687091200  # 50 GiB
DEFAULT_MAX_FILE_SIZE = 524288000  # 500 MiB


class InstanceSettings(Document):
    meta = {"collection": "instance_settings"}

    id = StringField(primary_key=True, default=SETTINGS_ID)
    name = StringField(max_length=100, default=DEFAULT_NAME)
    description = StringField(max_length=500)
    registration_mode = StringField(choices=REGISTRATION_MODES, default="INVITE_ONLY", db_field="registrationMode")
    default_storage_quota_bytes = IntField(min_value=0, default=DEFAULT_STORAGE_QUOTA,
                                           db_field="defaultStorageQuotaBytes")
    max_file_size_bytes = IntField(min_value=0, default=DEFAULT_MAX_FILE_SIZE, db_field="maxFileSizeBytes")
    vapid_public_key = StringField(db_field="vapidPublicKey")
    vapid_subject = StringField(db_field="vapidSubject")
    created_at = DateTimeField(default=utcnow, db_field="createdAt")
    updated_at = DateTimeField(default=utcnow, db_field="updatedAt")
