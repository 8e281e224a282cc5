"""The platforms' proofs, as pure functions: Meta's X-Hub-Signature-256 and verify token, X's
CRC response token and event signature (values computed independently with openssl)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import subprocess

import pytest

from ingest.webhooks.signatures import (
    meta_signature,
    meta_signature_valid,
    verify_token_matches,
    x_crc_response,
    x_signature,
    x_signature_valid,
)

BODY = b'{"object":"page","entry":[]}'


def openssl_hmac(key: str, message: bytes) -> bytes:
    """HMAC-SHA256 by another implementation than Python's hmac module."""
    out = subprocess.run(
        ["openssl", "dgst", "-sha256", "-hmac", key, "-binary"],
        input=message,
        capture_output=True,
        check=True,
    ).stdout
    return out


def test_meta_signature_is_the_hex_hmac_of_the_raw_body_with_the_app_secret():
    assert meta_signature("s3cret", BODY) == "sha256=" + openssl_hmac("s3cret", BODY).hex()


def test_meta_signature_is_accepted_only_for_the_same_bytes_and_secret():
    header = meta_signature("s3cret", BODY)
    assert meta_signature_valid("s3cret", BODY, header)
    assert meta_signature_valid("s3cret", BODY, header.upper().replace("SHA256=", "sha256="))
    assert not meta_signature_valid("s3cret", BODY + b" ", header)  # re-serialised body
    assert not meta_signature_valid("other", BODY, header)


@pytest.mark.parametrize(
    "header",
    [None, "", "sha256=", "sha1=" + hashlib.sha1(BODY).hexdigest(), "deadbeef", "sha256=zz"],
)
def test_a_missing_or_malformed_meta_signature_is_refused(header):
    assert not meta_signature_valid("s3cret", BODY, header)


def test_the_verify_token_must_match_exactly():
    assert verify_token_matches("tok-1", "tok-1")
    assert not verify_token_matches("tok-1", "tok-2")
    assert not verify_token_matches("tok-1", "tok-1 ")
    assert not verify_token_matches("tok-1", None)


def test_the_crc_response_token_is_base64_hmac_of_the_crc_token_with_the_consumer_secret():
    # The example of X's own CRC guide: consumer secret and token as published there.
    secret = "z3ZX4v7mAAUGykl3EcmkqbartmuW8VFOOzCloLx9Q45P0hLrFu"
    token = "9b4507b3-9040-4669-9ca3-6b94edb50553"
    expected = base64.b64encode(openssl_hmac(secret, token.encode())).decode()
    assert x_crc_response(secret, token) == {"response_token": f"sha256={expected}"}


def test_x_event_signature_is_accepted_only_for_the_same_bytes_and_secret():
    header = x_signature("c0nsumer", BODY)
    digest = hmac.new(b"c0nsumer", BODY, hashlib.sha256).digest()
    assert header == "sha256=" + base64.b64encode(digest).decode()
    assert x_signature_valid("c0nsumer", BODY, header)
    assert not x_signature_valid("c0nsumer", BODY[:-1], header)
    assert not x_signature_valid("other", BODY, header)
    assert not x_signature_valid("c0nsumer", BODY, None)
    assert not x_signature_valid("c0nsumer", BODY, header.removeprefix("sha256="))
