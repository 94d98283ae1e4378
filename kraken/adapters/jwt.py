"""flask-jwt-extended (pinned in requirements.txt): a per-process cache of verified tokens.

flask-jwt-extended decodes a token three times per request (claims, header, then verified) in
`JWTManager._decode_jwt_from_config`, which its public `decode_token` and `verify_jwt_in_request`
both call. Its public hooks (`decode_key_loader`, `token_in_blocklist_loader`, the `JWT_DECODE_*`
settings) choose the key and the rules, but none can skip a verification already done, so the one
private override stays here. Private relied on: `JWTManager._decode_jwt_from_config(encoded_token,
csrf_value=None, allow_expired=False)`, called by `flask_jwt_extended.utils.decode_token`.
"""
from __future__ import annotations

import time

from cachetools import LRUCache
from flask_jwt_extended import JWTManager


class VerifiedTokenCache(JWTManager):
    """A token verified once is remembered by its exact string in this process and trusted again
    until its `exp`; revocation is still checked on every use (kraken.auth.service.token_state)."""

    def __init__(self, maxsize: int = 20000) -> None:
        super().__init__()
        self._verified: LRUCache = LRUCache(maxsize)

    def _decode_jwt_from_config(self, encoded_token: str, csrf_value=None, allow_expired: bool = False) -> dict:
        plain = csrf_value is None and not allow_expired
        if plain:
            claims = self._verified.get(encoded_token)
            if claims is not None and claims.get("exp", 0) > time.time():
                return dict(claims)
        claims = super()._decode_jwt_from_config(encoded_token, csrf_value, allow_expired)
        if plain and "exp" in claims:
            self._verified[encoded_token] = dict(claims)
        return claims
