"""The File document: one stored upload, the resource it belongs to and where its bytes live."""
from __future__ import annotations

from mongoengine import DateTimeField, Document, IntField, ObjectIdField, StringField

from kraken.common.time import utcnow

MESSAGE_ATTACHMENT = "MESSAGE_ATTACHMENT"
USER_AVATAR = "USER_AVATAR"
COMMUNITY_AVATAR = "COMMUNITY_AVATAR"
COMMUNITY_BANNER = "COMMUNITY_BANNER"
RESOURCE_TYPES = (MESSAGE_ATTACHMENT, USER_AVATAR, COMMUNITY_AVATAR, COMMUNITY_BANNER)
FILE_TYPES = ("IMAGE", "VIDEO", "AUDIO", "DOCUMENT", "OTHER")


class File(Document):
    meta = {"collection": "files",
            "indexes": [
                # channel clean-up (attachments by channel) and avatar/banner look-ups
                {"fields": ["resource_type", "resource_id"]},
                # community clean-up
                {"fields": ["community_id"]},
                # a user's stored bytes and file count (kraken.storage_quota)
                {"fields": ["uploaded_by_id"]},
            ]}

    filename = StringField(required=True, max_length=255)  # the original name, cleaned for headers
    mime_type = StringField(required=True, max_length=127, db_field="mimeType")
    file_type = StringField(required=True, choices=FILE_TYPES, db_field="fileType")
    size = IntField(required=True, min_value=0)
    checksum = StringField(required=True, min_length=64, max_length=64)  # SHA-256, hex
    uploaded_by_id = ObjectIdField(required=True, db_field="uploadedById")
    uploaded_at = DateTimeField(default=utcnow, db_field="uploadedAt")
    resource_type = StringField(required=True, choices=RESOURCE_TYPES, db_field="resourceType")
    # the channel (MESSAGE_ATTACHMENT), the user (USER_AVATAR) or the community (COMMUNITY_*)
    resource_id = ObjectIdField(required=True, db_field="resourceId")
    community_id = ObjectIdField(db_field="communityId")  # None for user avatars
    message_id = ObjectIdField(db_field="messageId")  # set once attached to a message
    storage_key = StringField(required=True, max_length=64, db_field="storageKey")
    # an image's thumbnail, made on its first request and kept on the storage (kraken.files.thumbnails)
    thumbnail_key = StringField(max_length=64, db_field="thumbnailKey")

    @property
    def url(self) -> str:
        return f"/api/file/{self.id}"
