"""Storage requests and the UserStorageStats / instance view shapes (HF §12.4)."""
from __future__ import annotations

from pydantic import BaseModel, Field, StrictInt

from kraken.common.validation import RequestModel

MAX_BYTES = 2 ** 62  # fits a BSON int64 with room for the sums


class UsersQuery(RequestModel):
    skip: int = Field(0, ge=0, le=1_000_000)
    take: int = Field(20, ge=1, le=100)
    minPercentUsed: float = Field(0, ge=0, le=1_000_000)


class QuotaIn(RequestModel):
    quotaBytes: StrictInt = Field(ge=0, le=MAX_BYTES)


# Response models, for the OpenAPI document (kraken.openapi_spec).

class UserStorageStatsOut(BaseModel):
    userId: str
    username: str
    usedBytes: int
    quotaBytes: int
    percentUsed: float
    fileCount: int


class UserStorageListOut(BaseModel):
    users: list[UserStorageStatsOut]
    total: int


class StorageDistributionOut(BaseModel):
    under25Percent: int
    under50Percent: int
    under75Percent: int
    under90Percent: int
    over90Percent: int


class StorageByTypeOut(BaseModel):
    type: str
    bytes: int
    count: int


class ServerStatsOut(BaseModel):
    memoryTotalBytes: int
    memoryUsedBytes: int
    memoryFreeBytes: int
    memoryUsedPercent: float
    cpuCores: int
    cpuModel: str
    loadAverage: list[float]
    diskTotalBytes: int
    diskUsedBytes: int
    diskFreeBytes: int
    diskUsedPercent: float
    platform: str
    hostname: str
    uptime: float


class InstanceStorageOut(BaseModel):
    totalStorageUsedBytes: int
    totalFileCount: int
    totalUserCount: int
    averageStoragePerUserBytes: int
    userStorageDistribution: StorageDistributionOut
    storageByType: list[StorageByTypeOut]
    defaultQuotaBytes: int
    maxFileSizeBytes: int
    usersApproachingQuota: int
    usersOverQuota: int
    server: ServerStatsOut
