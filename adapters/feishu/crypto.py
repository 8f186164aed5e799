"""The HTTP event subscription's checks: signature, age, decryption, verification token (pure).

With an Encrypt Key set in the console, Feishu POSTs ``{"encrypt": base64(iv ‖ AES-256-CBC(json))}``
(key = SHA-256 of the Encrypt Key, PKCS#7 padding) and signs it:
``X-Lark-Signature = hex(SHA-256(timestamp + nonce + encrypt_key + raw body))`` with the
``X-Lark-Request-Timestamp`` and ``X-Lark-Request-Nonce`` headers. The decrypted body carries the
Verification Token (``token``, or ``header.token`` in schema 2.0). The first ``url_verification``
after the URL is saved is not signed; it is still encrypted and carries the token.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from bot.errors import MalformedPayload

SIGNATURE = "X-Lark-Signature"
TIMESTAMP = "X-Lark-Request-Timestamp"
NONCE = "X-Lark-Request-Nonce"


class Refused(Exception):
    """A callback we must not trust: forged, stale, replayed or for another app (answered 401)."""


def signature(timestamp: str, nonce: str, encrypt_key: str, body: bytes) -> str:
    return hashlib.sha256((timestamp + nonce + encrypt_key).encode() + body).hexdigest()


def check_signature(headers: Any, body: bytes, encrypt_key: str, *, now: float, max_age: float) -> tuple[str, str]:
    """The callback's ``(timestamp, nonce)`` once its signature and age check out; else ``Refused``."""
    timestamp = str(headers.get(TIMESTAMP) or "")
    nonce = str(headers.get(NONCE) or "")
    given = str(headers.get(SIGNATURE) or "")
    if not (timestamp and nonce and given):
        raise Refused("unsigned callback")
    if not hmac.compare_digest(given, signature(timestamp, nonce, encrypt_key, body)):
        raise Refused("bad signature")
    try:
        sent = float(timestamp)
    except ValueError as exc:
        raise Refused("the timestamp is not a number") from exc
    if abs(now - sent) > max_age:
        raise Refused(f"stale callback ({now - sent:.0f} s old)")
    return timestamp, nonce


def _key(encrypt_key: str) -> bytes:
    return hashlib.sha256(encrypt_key.encode()).digest()


def decrypt(encrypted: str, encrypt_key: str) -> bytes:
    """The plaintext of an ``encrypt`` field; ``MalformedPayload`` when it is not one."""
    try:
        raw = base64.b64decode(encrypted, validate=True)
    except ValueError as exc:
        raise MalformedPayload("encrypt is not base64") from exc
    if len(raw) < 32 or len(raw) % 16:
        raise MalformedPayload("encrypt has the wrong length")
    decryptor = Cipher(algorithms.AES(_key(encrypt_key)), modes.CBC(raw[:16])).decryptor()
    padded = decryptor.update(raw[16:]) + decryptor.finalize()
    unpadder = padding.PKCS7(128).unpadder()
    try:
        return unpadder.update(padded) + unpadder.finalize()
    except ValueError as exc:
        raise MalformedPayload("encrypt does not decrypt with this key") from exc


def encrypt(plaintext: bytes, encrypt_key: str, iv: bytes) -> str:
    """The other direction (what Feishu does), for the checks in ``check-config`` and the tests' fake."""
    padder = padding.PKCS7(128).padder()
    padded = padder.update(plaintext) + padder.finalize()
    encryptor = Cipher(algorithms.AES(_key(encrypt_key)), modes.CBC(iv)).encryptor()
    return base64.b64encode(iv + encryptor.update(padded) + encryptor.finalize()).decode()


def open_body(raw: bytes, encrypt_key: str) -> dict[str, Any]:
    """A callback body → its JSON object, decrypted when it is encrypted."""
    try:
        outer = json.loads(raw)
    except ValueError as exc:
        raise MalformedPayload("the callback is not JSON") from exc
    if not isinstance(outer, dict):
        raise MalformedPayload("the callback is not a JSON object")
    if "encrypt" not in outer:
        return outer
    encrypted = outer["encrypt"]
    if not isinstance(encrypted, str):
        raise MalformedPayload("encrypt is not a string")
    try:
        inner = json.loads(decrypt(encrypted, encrypt_key))
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedPayload("the decrypted callback is not JSON") from exc
    if not isinstance(inner, dict):
        raise MalformedPayload("the decrypted callback is not a JSON object")
    return inner


def check_token(token: str | None, verification_token: str) -> None:
    if not token or not hmac.compare_digest(token, verification_token):
        raise Refused("wrong verification token")
