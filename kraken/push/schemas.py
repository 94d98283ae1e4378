"""Push request models and the subscription JSON."""
from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, StrictStr

from kraken.common.time import iso
from kraken.common.validation import RequestModel
from kraken.push.models import MAX_ENDPOINT


class KeysIn(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    p256dh: StrictStr = Field(min_length=1, max_length=128)
    auth: StrictStr = Field(min_length=1, max_length=64)


class SubscribeIn(RequestModel):
    """A browser's PushSubscription (`subscription.toJSON()`; its `expirationTime` is ignored)."""

    endpoint: StrictStr = Field(min_length=1, max_length=MAX_ENDPOINT)
    keys: KeysIn
    userAgent: StrictStr | None = Field(None, max_length=512)


class UnsubscribeIn(RequestModel):
    endpoint: StrictStr = Field(min_length=1, max_length=MAX_ENDPOINT)


def subscription_out(sub) -> dict:
    """A PushSubscription row (the owner's debug list)."""
    return {"id": str(sub.id), "userId": str(sub.user_id), "endpoint": sub.endpoint,
            "keys": {"p256dh": sub.p256dh, "auth": sub.auth}, "userAgent": sub.user_agent,
            "createdAt": iso(sub.created_at), "updatedAt": iso(sub.updated_at)}


def outcome_out(outcome) -> dict:
    return {"success": outcome.sent > 0, "sent": outcome.sent, "failed": outcome.failed,
            "message": (f"Push notification sent to {outcome.sent} device(s)" if outcome.sent
                        else "No active push subscriptions found")}


class VapidKeyOut(BaseModel):
    publicKey: str | None
    enabled: bool


class DoneOut(BaseModel):
    success: bool
    message: str


class PushStatusOut(BaseModel):
    enabled: bool
    subscriptionCount: int


class PushOutcomeOut(BaseModel):
    success: bool
    sent: int
    failed: int
    message: str


class SubscriptionKeysOut(BaseModel):
    p256dh: str
    auth: str


class SubscriptionOut(BaseModel):
    id: str
    userId: str
    endpoint: str
    keys: SubscriptionKeysOut
    userAgent: str | None
    createdAt: str
    updatedAt: str


class DebugSubscriptionsOut(BaseModel):
    subscriptions: list[SubscriptionOut]
    count: int
    pushEnabled: bool
