"""Who may do what: the ingest token (writes: Socket.IO `ingest`, checkpoint uploads) and the optional read token
(every REST read, the Socket.IO `join`, hence the dashboard). No token configured means open.
"""
from __future__ import annotations

import hmac
from collections.abc import Mapping

READERS_ROOM = "readers"  # Socket.IO clients that may read: they get `grid_searches_changed`
READ_TOKEN_MISSING = "invalid or missing read token (send it as 'Authorization: Bearer <token>')"
JOIN_TOKEN_MISSING = "invalid or missing read token (connect with the Socket.IO auth {\"token\": <token>})"


def token_ok(expected: str | None, given: object) -> bool:
    """Whether `given` is the `expected` token, compared in constant time (always true when none is expected)."""
    if not expected:
        return True
    return isinstance(given, str) and hmac.compare_digest(given.encode(), expected.encode())


def bearer_token(headers: Mapping[str, str]) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, else None."""
    auth = headers.get("Authorization", "")
    return auth[len("Bearer "):] if auth.startswith("Bearer ") else None


def auth_token(auth: object) -> object:
    """The `token` of a Socket.IO connect auth payload (`{"token": ...}`), else None."""
    return auth.get("token") if isinstance(auth, dict) else None
