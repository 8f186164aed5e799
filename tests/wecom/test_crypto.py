"""``adapters.wecom.crypto`` against WeCom's published vectors, round trips, and every refusal.

The vectors are from WeCom's own WXBizMsgCrypt samples (document 90968), as copied in
public repositories, e.g. ming820214/oa ``api/Sample.php`` (URL verification) and the
``DecryptMsg`` example that ships with every language's sample.
"""

from __future__ import annotations

import base64
import json
import struct
from urllib.parse import unquote

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.wecom.crypto import (
    BadKey,
    BadLength,
    BadPadding,
    MalformedCiphertext,
    ReceiveIdMismatch,
    ReplayedNonce,
    SignatureMismatch,
    StaleTimestamp,
    WeComCrypto,
    WeComCryptoError,
    decode_aes_key,
)

TOKEN = "QDG6eK"
CORP_ID = "wx5823bf96d3bd56c7"
AES_KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"

# URL verification: GET /cgi-bin/wxpush?msg_signature=5c45ff5e…&timestamp=1409659589&nonce=263014780&echostr=P9nAzCzy…
VERIFY_SIGNATURE = "5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3"
VERIFY_TIMESTAMP = "1409659589"
VERIFY_NONCE = "263014780"
VERIFY_ECHOSTR_URLENCODED = "P9nAzCzyDtyTWESHep1vC5X9xho%2FqYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp%2B4RPcs8TgAE7OaBO%2BFZXvnaqQ%3D%3D"
VERIFY_PLAINTEXT = "1616140317555161061"

# DecryptMsg: POST /cgi-bin/wxpush?msg_signature=477715d1…&timestamp=1409659813&nonce=1372623149
MESSAGE_SIGNATURE = "477715d11cdb4164915debcba66cb864d751f3e6"
MESSAGE_TIMESTAMP = "1409659813"
MESSAGE_NONCE = "1372623149"
MESSAGE_ENCRYPT = (
    "RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj911L3vg3W/sYYvuJTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06DOdnLxAUHzM6+kDZ+HMZfJYuR+LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2YoyyH2uyPIGHBZZIs2pDBS8R07+qN+E7Q=="
)


def crypto_at(now: float, receive_id: str = CORP_ID, **kwargs) -> WeComCrypto:
    return WeComCrypto(TOKEN, AES_KEY, receive_id, now=lambda: now, **kwargs)


def raw_encrypt(crypto: WeComCrypto, plaintext: bytes) -> str:
    """AES-CBC over bytes we choose (to build malformed payloads), no padding added."""
    encryptor = Cipher(algorithms.AES(crypto.key), modes.CBC(crypto.key[:16])).encryptor()
    return base64.b64encode(encryptor.update(plaintext) + encryptor.finalize()).decode()


def test_the_official_url_verification_vector() -> None:
    crypto = crypto_at(int(VERIFY_TIMESTAMP) + 10)
    echostr = unquote(VERIFY_ECHOSTR_URLENCODED)
    assert crypto.signature(VERIFY_TIMESTAMP, VERIFY_NONCE, echostr) == VERIFY_SIGNATURE
    assert crypto.verify_url(VERIFY_SIGNATURE, VERIFY_TIMESTAMP, VERIFY_NONCE, echostr) == VERIFY_PLAINTEXT


def test_the_official_message_vector() -> None:
    crypto = crypto_at(int(MESSAGE_TIMESTAMP))
    xml = crypto.open(MESSAGE_SIGNATURE, MESSAGE_TIMESTAMP, MESSAGE_NONCE, MESSAGE_ENCRYPT)
    assert "<FromUserName><![CDATA[mycreate]]></FromUserName>" in xml
    assert "<Content><![CDATA[hello]]></Content>" in xml
    assert "<MsgId>4561255354251345929</MsgId>" in xml


def test_the_official_vector_signature_is_case_insensitive_but_exact() -> None:
    crypto = crypto_at(int(VERIFY_TIMESTAMP))
    echostr = unquote(VERIFY_ECHOSTR_URLENCODED)
    assert crypto.verify_url(VERIFY_SIGNATURE.upper(), VERIFY_TIMESTAMP, VERIFY_NONCE, echostr) == VERIFY_PLAINTEXT
    with pytest.raises(SignatureMismatch, match="msg_signature does not match"):
        crypto_at(int(VERIFY_TIMESTAMP)).verify_url(VERIFY_SIGNATURE[:-1] + "0", VERIFY_TIMESTAMP, VERIFY_NONCE, echostr)


def test_round_trip_json_for_the_robot_and_xml_for_an_app() -> None:
    robot = crypto_at(1_700_000_000, receive_id="")
    body = json.dumps({"msgid": "CAIQ16HM", "text": {"content": "@机器人 帮助"}}, ensure_ascii=False)
    sealed = robot.seal(body, nonce="abc", timestamp=1_700_000_000)
    assert set(sealed) == {"encrypt", "msgsignature", "timestamp", "nonce"}
    assert robot.open(sealed["msgsignature"], "1700000000", "abc", sealed["encrypt"]) == body

    app = crypto_at(1_700_000_000)
    xml = "<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName><Content><![CDATA[你好]]></Content></xml>"
    encrypted = app.encrypt(xml)
    assert app.open(app.signature("1700000000", "n1", encrypted), "1700000000", "n1", encrypted) == xml


@settings(max_examples=60, deadline=None)
@given(message=st.text(max_size=400), receive_id=st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", max_size=24))
def test_round_trip_property(message: str, receive_id: str) -> None:
    crypto = crypto_at(1_700_000_000, receive_id=receive_id)
    encrypted = crypto.encrypt(message)
    assert len(base64.b64decode(encrypted)) % 32 == 0
    assert crypto.decrypt(encrypted) == message


# ---------------------------------------------------------------- refusals


def test_tampered_ciphertext_is_refused() -> None:
    crypto = crypto_at(1_700_000_000, receive_id="")
    encrypted = crypto.encrypt(json.dumps({"msgid": "1", "text": {"content": "帮助"}}))
    raw = bytearray(base64.b64decode(encrypted))
    raw[-1] ^= 0x01  # flips the padding of the last block
    tampered = base64.b64encode(bytes(raw)).decode()
    with pytest.raises(WeComCryptoError) as refused:
        crypto.decrypt(tampered)
    assert isinstance(refused.value, BadPadding | BadLength | ReceiveIdMismatch | MalformedCiphertext)
    # a tampered body also fails the signature it came with
    signature = crypto.signature("1700000000", "n", encrypted)
    with pytest.raises(SignatureMismatch):
        crypto.open(signature, "1700000000", "n", tampered)


@pytest.mark.parametrize("garbage", ["", "not base64 !!", base64.b64encode(b"short").decode(), base64.b64encode(b"x" * 33).decode()])
def test_malformed_ciphertext_is_refused(garbage: str) -> None:
    with pytest.raises(MalformedCiphertext):
        crypto_at(0).decrypt(garbage)


@pytest.mark.parametrize("pad", [0, 33, 255])
def test_bad_padding_is_refused(pad: int) -> None:
    crypto = crypto_at(0)
    body = b"R" * 16 + struct.pack(">I", 5) + b"hello" + CORP_ID.encode()
    body += bytes([pad]) * (32 - len(body) % 32)
    with pytest.raises(BadPadding, match="padding"):
        crypto.decrypt(raw_encrypt(crypto, body))


def test_inconsistent_padding_bytes_are_refused() -> None:
    crypto = crypto_at(0)
    body = b"R" * 16 + struct.pack(">I", 5) + b"hello" + CORP_ID.encode()
    missing = 32 - len(body) % 32
    body += bytes([1]) * (missing - 1) + bytes([missing])  # claims `missing` pad bytes that do not all say so
    with pytest.raises(BadPadding):
        crypto.decrypt(raw_encrypt(crypto, body))


def test_wrong_receive_id_is_refused() -> None:
    someone_else = crypto_at(0, receive_id="wwanothercorp")
    with pytest.raises(ReceiveIdMismatch, match="wwanothercorp"):
        crypto_at(0).decrypt(someone_else.encrypt("<xml/>"))
    # the robot's receive id is "": a corp-addressed payload is not for it
    with pytest.raises(ReceiveIdMismatch):
        crypto_at(0, receive_id="").decrypt(crypto_at(0).encrypt("{}"))


def test_oversize_length_field_is_refused() -> None:
    crypto = crypto_at(0)
    body = b"R" * 16 + struct.pack(">I", 10_000) + b"hello" + CORP_ID.encode()
    pad = 32 - len(body) % 32
    body += bytes([pad]) * pad
    with pytest.raises(BadLength, match="length field says 10000"):
        crypto.decrypt(raw_encrypt(crypto, body))


def test_payload_too_short_for_a_length_field_is_refused() -> None:
    crypto = crypto_at(0)
    body = b"R" * 10 + bytes([22]) * 22
    with pytest.raises(BadLength):
        crypto.decrypt(raw_encrypt(crypto, body))


@pytest.mark.parametrize("age", [301, -301, 86_400])
def test_stale_timestamp_is_refused(age: int) -> None:
    now = 1_700_000_000
    crypto = crypto_at(now)
    encrypted = crypto.encrypt("<xml/>")
    ts = str(now - age)
    with pytest.raises(StaleTimestamp, match="limit is 300 s"):
        crypto.open(crypto.signature(ts, "n", encrypted), ts, "n", encrypted)


def test_non_numeric_timestamp_is_refused() -> None:
    crypto = crypto_at(0)
    encrypted = crypto.encrypt("<xml/>")
    with pytest.raises(StaleTimestamp, match="not a number"):
        crypto.open(crypto.signature("soon", "n", encrypted), "soon", "n", encrypted)


def test_replayed_nonce_is_refused() -> None:
    now = 1_700_000_000
    crypto = crypto_at(now)
    encrypted = crypto.encrypt("<xml>once</xml>")
    signature = crypto.signature(str(now), "nonce-1", encrypted)
    assert crypto.open(signature, str(now), "nonce-1", encrypted) == "<xml>once</xml>"
    with pytest.raises(ReplayedNonce, match="already used"):
        crypto.open(signature, str(now), "nonce-1", encrypted)


def test_a_nonce_is_forgotten_after_the_window() -> None:
    clock = [1_700_000_000.0]
    crypto = WeComCrypto(TOKEN, AES_KEY, CORP_ID, now=lambda: clock[0])
    crypto.nonces.remember("n", clock[0])
    clock[0] += 301
    assert not crypto.nonces.seen("n", clock[0])


def test_a_refused_callback_leaves_its_nonce_usable() -> None:
    now = 1_700_000_000
    crypto = crypto_at(now)
    encrypted = crypto.encrypt("<xml/>")
    with pytest.raises(SignatureMismatch):
        crypto.open("0" * 40, str(now), "n2", encrypted)
    assert crypto.open(crypto.signature(str(now), "n2", encrypted), str(now), "n2", encrypted) == "<xml/>"


def test_bad_keys_are_refused_clearly() -> None:
    with pytest.raises(BadKey, match="43 characters"):
        decode_aes_key("short")
    with pytest.raises(BadKey, match="not base64"):
        decode_aes_key("!" * 43)
    with pytest.raises(BadKey, match="Token"):
        WeComCrypto("", AES_KEY)
