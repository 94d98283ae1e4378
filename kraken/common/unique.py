"""A unique-index clash of an update, the same on MongoDB and on the default store.

MongoEngine raises NotUniqueError only for MongoDB's code 11000; FerretDB 1.24 on PostgreSQL answers an
update that breaks a unique index with code 1 (InternalError, PostgreSQL's "duplicate key value violates
unique constraint", SQLSTATE 23505), which MongoEngine raises as a plain OperationError: a rename to a
taken name was a 500 on the default store.
"""
from __future__ import annotations

from mongoengine import NotUniqueError, OperationError

_CLASH = ("duplicate key", "E11000", "23505")


def update_one(queryset, **update) -> int:
    """`queryset.update_one(**update)`; raises NotUniqueError when a unique index refuses it."""
    try:
        return queryset.update_one(**update)
    except NotUniqueError:
        raise
    except OperationError as exc:
        if any(mark in str(exc) for mark in _CLASH):
            raise NotUniqueError(str(exc)) from exc
        raise
