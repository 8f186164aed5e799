"""WeCom's callback crypto (the WXBizMsgCrypt scheme), on the ``cryptography`` package.

- ``msg_signature = sha1("".join(sorted([token, timestamp, nonce, encrypt])))``;
- AES-256-CBC with ``key = b64decode(EncodingAESKey + "=")`` and ``IV = key[:16]``;
- plaintext ``random(16) ∥ uint32-BE len(msg) ∥ msg ∥ receive_id``, PKCS#7-padded to 32 bytes.

``receive_id`` is the corp id for a self-built app's XML callbacks and ``""`` for the
intelligent robot's JSON callbacks. The official samples check neither the age of a
callback nor nonce reuse, compare signatures with ``==`` and skip the padding check;
``WeComCrypto.open`` does all four. With a ``shared`` nonce store (the database, see
``storage/nonces.py``) ``open_once`` refuses a nonce used by any process, not only this
one. Every refusal is a ``WeComCryptoError`` subclass
with a message saying what was wrong; nothing here raises anything else on bad input.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import struct
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Protocol

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

BLOCK_SIZE = 32  # WeCom pads to 32 bytes, not to the AES block size
MAX_AGE_SECONDS = 300


class WeComCryptoError(ValueError):
    """A callback was refused; ``str(error)`` says why (safe to log, holds no key material)."""


class SignatureMismatch(WeComCryptoError):
    pass


class StaleTimestamp(WeComCryptoError):
    pass


class ReplayedNonce(WeComCryptoError):
    pass


class MalformedCiphertext(WeComCryptoError):
    pass


class BadPadding(WeComCryptoError):
    pass


class BadLength(WeComCryptoError):
    pass


class ReceiveIdMismatch(WeComCryptoError):
    pass


class BadKey(WeComCryptoError):
    pass


def decode_aes_key(encoding_aes_key: str) -> bytes:
    """The 32-byte AES key of a 43-character EncodingAESKey."""
    if len(encoding_aes_key) != 43:
        raise BadKey("EncodingAESKey must be 43 characters")
    try:
        key = base64.b64decode(encoding_aes_key + "=", validate=True)
    except (binascii.Error, ValueError) as exc:
        raise BadKey("EncodingAESKey is not base64") from exc
    if len(key) != 32:
        raise BadKey("EncodingAESKey does not decode to 32 bytes")
    return key


def sign(token: str, timestamp: str, nonce: str, encrypted: str) -> str:
    return hashlib.sha1("".join(sorted([token, str(timestamp), str(nonce), encrypted])).encode()).hexdigest()


class NonceStore(Protocol):
    """Where used nonces are remembered across processes (``storage.nonces.SharedNonces``)."""

    async def claim(self, nonce: str, now_epoch: float) -> bool:
        """True the first time ``nonce`` is used within its window, False for a replay."""
        ...


class NonceCache:
    """Nonces seen within the freshness window by this process; a second use inside it is a replay.

    WeCom promises a nonce is not repeated within two hours, so remembering each
    for the (shorter) freshness window refuses every replay the timestamp check lets
    through. Bounded: the oldest entries go first when it is full.
    """

    def __init__(self, window_seconds: float = MAX_AGE_SECONDS, max_entries: int = 100_000):
        self.window = window_seconds
        self.max_entries = max_entries
        self._seen: OrderedDict[str, float] = OrderedDict()

    def _expire(self, now: float) -> None:
        while self._seen:
            at = next(iter(self._seen.values()))
            if now - at <= self.window and len(self._seen) <= self.max_entries:
                break
            self._seen.popitem(last=False)

    def seen(self, nonce: str, now: float) -> bool:
        self._expire(now)
        return nonce in self._seen

    def remember(self, nonce: str, now: float) -> None:
        self._seen[nonce] = now
        self._seen.move_to_end(nonce)
        self._expire(now)


class WeComCrypto:
    """One callback endpoint's crypto: its Token, EncodingAESKey and receive id.

    ``now`` returns epoch seconds (injectable for tests); ``max_age`` bounds how far a
    callback's timestamp may be from now, either way.
    """

    def __init__(
        self,
        token: str,
        encoding_aes_key: str,
        receive_id: str = "",
        *,
        max_age: float = MAX_AGE_SECONDS,
        now: Callable[[], float] = time.time,
        nonces: NonceCache | None = None,
        shared: NonceStore | None = None,
    ):
        if not token:
            raise BadKey("the callback Token is empty")
        self.token = token
        self.key = decode_aes_key(encoding_aes_key)
        self.receive_id = receive_id
        self.max_age = max_age
        self.now = now
        self.nonces = nonces or NonceCache(max_age)
        self.shared = shared

    # -- signature and freshness ---------------------------------------------

    def signature(self, timestamp: str, nonce: str, encrypted: str) -> str:
        return sign(self.token, timestamp, nonce, encrypted)

    def check_signature(self, msg_signature: str, timestamp: str, nonce: str, encrypted: str) -> None:
        expected = self.signature(timestamp, nonce, encrypted)
        given = (msg_signature or "").strip().lower()
        if not hmac.compare_digest(expected.encode(), given.encode()):
            raise SignatureMismatch("msg_signature does not match the Token, timestamp, nonce and body")

    def check_fresh(self, timestamp: str, nonce: str) -> None:
        """Refuse a timestamp more than ``max_age`` away from now, and a nonce already used inside it."""
        try:
            ts = int(str(timestamp).strip())
        except ValueError as exc:
            raise StaleTimestamp(f"timestamp {str(timestamp)[:20]!r} is not a number of seconds") from exc
        now = self.now()
        if abs(now - ts) > self.max_age:
            raise StaleTimestamp(f"timestamp is {int(now - ts)} s away from now (the limit is {int(self.max_age)} s)")
        if not nonce:
            raise ReplayedNonce("the nonce is empty")
        if self.nonces.seen(nonce, now):
            raise ReplayedNonce("this nonce was already used: a replayed callback")

    def _remember(self, nonce: str) -> None:
        self.nonces.remember(nonce, self.now())

    # -- AES ---------------------------------------------------------------------

    def _cipher(self) -> Cipher[modes.CBC]:
        return Cipher(algorithms.AES(self.key), modes.CBC(self.key[:16]))

    def encrypt(self, plaintext: str, *, receive_id: str | None = None, random16: bytes | None = None) -> str:
        """Base64 ciphertext of ``plaintext`` (for replies, the fake platform and tests)."""
        rid = self.receive_id if receive_id is None else receive_id
        msg = plaintext.encode()
        body = (random16 or os.urandom(16)) + struct.pack(">I", len(msg)) + msg + rid.encode()
        pad = BLOCK_SIZE - len(body) % BLOCK_SIZE
        body += bytes([pad]) * pad
        encryptor = self._cipher().encryptor()
        return base64.b64encode(encryptor.update(body) + encryptor.finalize()).decode()

    def decrypt_raw(self, encrypted: str) -> tuple[str, str]:
        """``(message, receive_id)`` with padding and length checked, the receive id not yet compared."""
        try:
            raw = base64.b64decode((encrypted or "").strip(), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise MalformedCiphertext("the encrypted payload is not base64") from exc
        if len(raw) < BLOCK_SIZE or len(raw) % 16:
            raise MalformedCiphertext(f"the encrypted payload is {len(raw)} bytes, not a whole number of AES blocks")
        decryptor = self._cipher().decryptor()
        plain = decryptor.update(raw) + decryptor.finalize()
        pad = plain[-1]
        if not 1 <= pad <= BLOCK_SIZE or plain[-pad:] != bytes([pad]) * pad:
            raise BadPadding("bad PKCS#7 padding: wrong key or a tampered payload")
        plain = plain[:-pad]
        if len(plain) < 20:
            raise BadLength("the decrypted payload is too short to hold a length field")
        (length,) = struct.unpack(">I", plain[16:20])
        if length > len(plain) - 20:
            raise BadLength(f"the length field says {length} bytes but only {len(plain) - 20} follow")
        try:
            message = plain[20 : 20 + length].decode()
            receive_id = plain[20 + length :].decode()
        except UnicodeDecodeError as exc:
            raise MalformedCiphertext("the decrypted payload is not UTF-8") from exc
        return message, receive_id

    def decrypt(self, encrypted: str) -> str:
        message, receive_id = self.decrypt_raw(encrypted)
        if not hmac.compare_digest(receive_id.encode(), self.receive_id.encode()):
            raise ReceiveIdMismatch(f"the payload is for receive id {receive_id[:40]!r}, not this endpoint's")
        return message

    # -- whole callbacks -----------------------------------------------------------

    def open(self, msg_signature: str, timestamp: str, nonce: str, encrypted: str) -> str:
        """Check signature, age and nonce, then decrypt: the one call a callback handler makes."""
        self.check_signature(msg_signature, timestamp, nonce, encrypted)
        self.check_fresh(timestamp, nonce)
        message = self.decrypt(encrypted)
        self._remember(nonce)
        return message

    def verify_url(self, msg_signature: str, timestamp: str, nonce: str, echostr: str) -> str:
        """URL verification (GET): the plaintext to answer with."""
        return self.open(msg_signature, timestamp, nonce, echostr)

    async def open_once(self, msg_signature: str, timestamp: str, nonce: str, encrypted: str) -> str:
        """``open``, with the nonce claimed in the ``shared`` store when there is one: a callback replayed
        to another process of the bot is refused too. The claim comes last, so a refused callback
        leaves its nonce usable."""
        if self.shared is None:
            return self.open(msg_signature, timestamp, nonce, encrypted)
        self.check_signature(msg_signature, timestamp, nonce, encrypted)
        self.check_fresh(timestamp, nonce)
        message = self.decrypt(encrypted)
        if not await self.shared.claim(nonce, self.now()):
            raise ReplayedNonce("this nonce was already used: a replayed callback")
        self._remember(nonce)
        return message

    def seal(self, plaintext: str, nonce: str, timestamp: str | int | None = None) -> dict[str, Any]:
        """The intelligent robot's encrypted JSON reply envelope."""
        ts = str(int(self.now()) if timestamp is None else timestamp)
        encrypted = self.encrypt(plaintext)
        return {"encrypt": encrypted, "msgsignature": self.signature(ts, nonce, encrypted), "timestamp": int(ts), "nonce": nonce}
