"""Storage quotas (HF §12.4, decision 0065): exact per-user usage, race-free reservations, the views.

Usage is `User.storageUsedBytes`. An upload reserves its streamed size with one conditional `$inc`
(`storageUsedBytes <= quota - size`): two uploads cannot both take the last bytes, and no
transaction is needed. A failed upload releases what it reserved; deleting a file releases its size
once (only the request whose delete removed the record releases it).
"""
from __future__ import annotations

import os
import platform
import shutil
import socket
from typing import Any

from bson import ObjectId

from kraken import extensions
from kraken.errors import NotFoundError, PayloadTooLargeError
from kraken.files.models import RESOURCE_TYPES, File
from kraken.rbac import Action, require_instance_actions
from kraken.storage_quota.lookups import limits, quota_of
from kraken.users.models import User

# HF §12.4: users at 75–90 % are "approaching", at 90 % or more "over"
APPROACHING, OVER = 75.0, 90.0
_USER_FIELDS = ("id", "username", "storage_quota_bytes", "storage_used_bytes")


class QuotaExceededError(PayloadTooLargeError):
    code, default_message = "STORAGE_QUOTA_EXCEEDED", "Storage quota exceeded"


def quota_exceeded(quota: int, used: int) -> QuotaExceededError:
    return QuotaExceededError(f"Storage quota exceeded: {used} of {quota} bytes used")


def usage(user_id: ObjectId, default: int | None = None) -> tuple[int, int]:
    """(quota, used bytes) of the user now: a bound for streaming an upload; `reserve` decides."""
    user = User.objects(id=user_id).only(*_USER_FIELDS).first()
    if user is None:
        return 0, 0
    return quota_of(user, default), user.storage_used_bytes or 0


def reserve(user_id: ObjectId, size: int) -> None:
    """Count `size` more bytes against the user's quota, atomically; raises QuotaExceededError."""
    if size <= 0:
        return
    for _ in range(2):
        user = User.objects(id=user_id).only(*_USER_FIELDS).first()
        if user is None:
            raise NotFoundError("User not found")
        quota = quota_of(user)
        if User.objects(id=user_id, storage_used_bytes__lte=quota - size).update_one(inc__storage_used_bytes=size):
            return
        # a user stored before quotas existed has no counter: start it at 0 (once), then try again
        if not User.objects(id=user_id, storage_used_bytes__exists=False).update_one(set__storage_used_bytes=0):
            break
    raise quota_exceeded(quota, user.storage_used_bytes or 0)


def release(user_id: ObjectId, size: int) -> None:
    """Give back `size` bytes (a failed upload, a deleted file)."""
    if size > 0:
        User.objects(id=user_id).update_one(dec__storage_used_bytes=size)


def _percent(used: int, quota: int) -> float:
    return round(used / quota * 100, 2) if quota > 0 else 0.0


def _stats(user: User, default: int, file_count: int | None = None) -> dict[str, Any]:
    quota, used = quota_of(user, default), user.storage_used_bytes or 0
    count = file_count if file_count is not None else File.objects(uploaded_by_id=user.id).count()
    return {"userId": str(user.id), "username": user.username, "usedBytes": used, "quotaBytes": quota,
            "percentUsed": _percent(used, quota), "fileCount": count}


def _user(user_id: object) -> User:
    user = User.objects(id=user_id).only(*_USER_FIELDS).first()
    if user is None:
        raise NotFoundError("User not found")
    return user


def my_usage(actor) -> dict[str, Any]:
    """`GET /api/storage/my-usage`: the caller's own UserStorageStats."""
    return _stats(_user(actor.id), limits().default_quota_bytes)


def user_usage(actor, user_id: str) -> dict[str, Any]:
    """Someone's UserStorageStats. Raises ForbiddenError (no MANAGE_USER_STORAGE), NotFoundError."""
    require_instance_actions(actor, Action.MANAGE_USER_STORAGE)
    return _stats(_user(user_id), limits().default_quota_bytes)


def _grouped(key: str, accumulator: dict) -> dict[Any, int]:
    """{value of `key`: accumulated} over every file. One accumulator per `$group`: FerretDB 1.24
    answers only the first of several (the others come back 0)."""
    rows = File._get_collection().aggregate([{"$group": {"_id": f"${key}", "value": accumulator}}])
    return {row["_id"]: int(row["value"]) for row in rows}


def _file_counts() -> dict[ObjectId, int]:
    return _grouped("uploadedById", {"$sum": 1})


def list_usage(actor, skip: int, take: int, min_percent: float) -> dict[str, Any]:
    """Users by percent used, highest first, then `skip`/`take`; `min_percent` 0 = everyone.
    Raises ForbiddenError."""
    require_instance_actions(actor, Action.MANAGE_USER_STORAGE)
    default, counts = limits().default_quota_bytes, _file_counts()
    rows = [_stats(u, default, counts.get(u.id, 0)) for u in User.objects.only(*_USER_FIELDS)]
    if min_percent > 0:
        rows = [r for r in rows if r["percentUsed"] >= min_percent]
    rows.sort(key=lambda r: (-r["percentUsed"], r["username"]))
    return {"users": rows[skip:skip + take], "total": len(rows)}


def set_quota(actor, user_id: str, quota_bytes: int) -> dict[str, Any]:
    """Set a user's quota (below their usage is allowed: they just cannot upload until under it).
    Raises ForbiddenError, NotFoundError."""
    require_instance_actions(actor, Action.MANAGE_USER_STORAGE)
    if not User.objects(id=user_id).update_one(set__storage_quota_bytes=quota_bytes):
        raise NotFoundError("User not found")
    return _stats(_user(user_id), limits().default_quota_bytes)


def stored_bytes(user_id: ObjectId) -> int:
    """The sum of the sizes of the user's stored files (one equality match on an index)."""
    rows = list(File._get_collection().aggregate([
        {"$match": {"uploadedById": user_id}}, {"$group": {"_id": None, "bytes": {"$sum": "$size"}}}]))
    return int(rows[0]["bytes"]) if rows else 0


def rebuild(user_id: ObjectId) -> None:
    """Set the user's usage to the bytes of their stored files (idempotent). Exact when no upload or
    delete of theirs is in flight; one that is lands after or is counted again by the next rebuild."""
    User.objects(id=user_id).update_one(set__storage_used_bytes=stored_bytes(user_id))


def recalculate(actor, user_id: str) -> dict[str, Any]:
    """`POST /api/storage/users/:id/recalculate`. Raises ForbiddenError, NotFoundError."""
    require_instance_actions(actor, Action.MANAGE_USER_STORAGE)
    user = _user(user_id)
    rebuild(user.id)
    return _stats(_user(user.id), limits().default_quota_bytes)


def _server(upload_dir) -> dict[str, Any]:
    mem: dict[str, int] = {}
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                key, _, value = line.partition(":")
                mem[key] = int(value.split()[0]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    total, free = mem.get("MemTotal", 0), mem.get("MemAvailable", mem.get("MemFree", 0))
    try:
        disk = shutil.disk_usage(upload_dir if os.path.exists(upload_dir) else "/")
        disk_total, disk_used, disk_free = disk.total, disk.used, disk.free
    except OSError:
        disk_total = disk_used = disk_free = 0
    try:
        with open("/proc/uptime") as handle:
            uptime = float(handle.read().split()[0])
    except (OSError, ValueError, IndexError):
        uptime = 0.0
    load = list(os.getloadavg()) if hasattr(os, "getloadavg") else [0.0, 0.0, 0.0]
    return {"memoryTotalBytes": total, "memoryUsedBytes": total - free, "memoryFreeBytes": free,
            "memoryUsedPercent": _percent(total - free, total), "cpuCores": os.cpu_count() or 0,
            "cpuModel": platform.processor() or platform.machine(), "loadAverage": load,
            "diskTotalBytes": disk_total, "diskUsedBytes": disk_used, "diskFreeBytes": disk_free,
            "diskUsedPercent": _percent(disk_used, disk_total), "platform": platform.system().lower(),
            "hostname": socket.gethostname(), "uptime": uptime}


def instance_usage(actor) -> dict[str, Any]:
    """`GET /api/storage/instance` (READ_INSTANCE_STATS). Raises ForbiddenError."""
    require_instance_actions(actor, Action.READ_INSTANCE_STATS)
    current = limits()
    type_bytes, type_counts = _grouped("resourceType", {"$sum": "$size"}), _grouped("resourceType", {"$sum": 1})
    storage_by_type = [{"type": t, "bytes": type_bytes.get(t, 0), "count": type_counts[t]}
                       for t in RESOURCE_TYPES if t in type_counts]
    buckets = {"under25Percent": 0, "under50Percent": 0, "under75Percent": 0, "under90Percent": 0,
               "over90Percent": 0}
    total_used = users = approaching = over = 0
    for user in User.objects.only(*_USER_FIELDS):
        used = user.storage_used_bytes or 0
        percent = _percent(used, quota_of(user, current.default_quota_bytes))
        users, total_used = users + 1, total_used + used
        bucket = ("under25Percent" if percent < 25 else "under50Percent" if percent < 50 else
                  "under75Percent" if percent < 75 else "under90Percent" if percent < OVER else "over90Percent")
        buckets[bucket] += 1
        approaching += APPROACHING <= percent < OVER
        over += percent >= OVER
    return {"totalStorageUsedBytes": total_used, "totalFileCount": sum(r["count"] for r in storage_by_type),
            "totalUserCount": users, "averageStoragePerUserBytes": total_used // users if users else 0,
            "userStorageDistribution": buckets, "storageByType": storage_by_type,
            "defaultQuotaBytes": current.default_quota_bytes, "maxFileSizeBytes": current.max_file_size_bytes,
            "usersApproachingQuota": approaching, "usersOverQuota": over,
            "server": _server(extensions.settings().resolved_upload_dir)}
