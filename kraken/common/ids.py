"""ObjectId parsing: malformed ids are a 400 `Invalid ObjectId`, never a 500."""
from __future__ import annotations

from typing import Annotated

from bson import ObjectId
from pydantic import AfterValidator
from werkzeug.routing import BaseConverter

from kraken.errors import InvalidObjectIdError, InvalidObjectIdInPath


def is_object_id(value: object) -> bool:
    return isinstance(value, str) and len(value) == 24 and ObjectId.is_valid(value)


def parse_object_id(value: object) -> ObjectId:
    """Return the ObjectId for a 24-hex string; raises InvalidObjectIdError."""
    if not is_object_id(value):
        raise InvalidObjectIdError()
    return ObjectId(value)


def _check(value: str) -> str:
    if not is_object_id(value):
        raise ValueError("Invalid ObjectId")
    return value.lower()


# A request field that must hold a 24-hex ObjectId string.
ObjectIdStr = Annotated[str, AfterValidator(_check)]


class ObjectIdConverter(BaseConverter):
    """URL converter `<oid:name>`: matches any segment, 400 when it is not an ObjectId."""

    def to_python(self, value: str) -> str:
        if not is_object_id(value):
            raise InvalidObjectIdInPath()
        return value.lower()

    def to_url(self, value: object) -> str:
        return str(value)
