"""How the platforms prove a push is theirs: Meta's ``X-Hub-Signature-256`` and verify token,
X's CRC challenge and ``x-twitter-webhooks-signature``.

Pure functions over bytes and strings; every comparison is constant-time
(`hmac.compare_digest`), so the time an answer takes tells nothing about the secret.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

PREFIX = "sha256="


def meta_signature(app_secret: str, body: bytes) -> str:
    """What Meta sends in ``X-Hub-Signature-256``: ``sha256=`` and the hex HMAC-SHA256 of the
    raw body keyed with the app secret."""
    digest = hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()
    return PREFIX + digest


def meta_signature_valid(app_secret: str, body: bytes, header: str | None) -> bool:
    """Whether `header` is Meta's signature of exactly these bytes (before any parsing)."""
    if not header or not header.startswith(PREFIX):
        return False
    # Meta sends lower-case hex; a proxy must not change it, but case is not part of the proof.
    given = header[len(PREFIX) :].strip().lower()
    return hmac.compare_digest(
        given.encode(), meta_signature(app_secret, body)[len(PREFIX) :].encode()
    )


def verify_token_matches(expected: str, given: str | None) -> bool:
    """Meta's subscription check: the ``hub.verify_token`` it sends is the one configured."""
    if given is None:
        return False
    return hmac.compare_digest(expected.encode(), given.encode())


def x_signature(consumer_secret: str, message: bytes) -> str:
    """``sha256=`` and the base64 HMAC-SHA256 of `message` keyed with the app's consumer secret:
    X's CRC response token (message: the ``crc_token``) and its event signature (the body)."""
    digest = hmac.new(consumer_secret.encode(), message, hashlib.sha256).digest()
    return PREFIX + base64.b64encode(digest).decode()


def x_crc_response(consumer_secret: str, crc_token: str) -> dict[str, str]:
    """The JSON X expects in answer to ``GET ?crc_token=...``."""
    return {"response_token": x_signature(consumer_secret, crc_token.encode())}


def x_signature_valid(consumer_secret: str, body: bytes, header: str | None) -> bool:
    """Whether `header` (``x-twitter-webhooks-signature``) is X's signature of these bytes."""
    if not header or not header.startswith(PREFIX):
        return False
    return hmac.compare_digest(header.strip().encode(), x_signature(consumer_secret, body).encode())
