"""Storage quotas for users stored before them (docs/decisions/0065-storage-quotas.md).

The index of `files.uploadedById` (a user's stored bytes by equality), then, for every user without
a quota, the instance's default quota, and for every user, `storageUsedBytes` rebuilt from their
stored files. Idempotent: a second run sets the same values again and changes nothing.
"""
from __future__ import annotations


def up(db, echo):
    from kraken.files.models import File
    from kraken.storage_quota.lookups import default_quota
    from kraken.storage_quota.service import rebuild
    from kraken.users.models import User

    File.ensure_indexes()
    quota = default_quota()
    given = rebuilt = 0
    for user in User.objects.only("id", "storage_quota_bytes"):
        if user.storage_quota_bytes is None:
            given += User.objects(id=user.id, storage_quota_bytes=None).update_one(set__storage_quota_bytes=quota)
        rebuild(user.id)
        rebuilt += 1
    echo(f"  storage: default quota given to {given} users, usage rebuilt for {rebuilt}")
