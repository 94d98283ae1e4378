"""Fixtures for the storage tests: the files tests' club and upload helpers, and the settings row."""
from __future__ import annotations

import pytest

from kraken.storage_quota.lookups import SETTINGS_COLLECTION
from kraken.users.models import User
from tests.files.conftest import club, empty_upload_dir, s3_server, storage_backend  # noqa: F401  (fixtures)


def settings_row(**values) -> None:
    """Write the instance settings row's storage values (as the instance settings feature stores them)."""
    User._get_db()[SETTINGS_COLLECTION].update_one({}, {"$set": values}, upsert=True)


def usage(user) -> int:
    return User.objects.get(id=user.id).storage_used_bytes


def set_quota(user, quota: int) -> None:
    User.objects(id=user.id).update_one(set__storage_quota_bytes=quota)


@pytest.fixture
def keeper(factory, owner):
    """A user holding MANAGE_USER_STORAGE and READ_INSTANCE_STATS through the Instance Admin role."""
    user = factory.user("keeper")
    factory.assign(user, factory.instance_role())
    return user
