"""The platform's side of WeChat / WeCom callback encryption, written from the spec
("消息加解密说明") with ``cryptography`` alone, not wechatpy, so a mistake in how FieldOps
uses wechatpy cannot hide behind the same mistake here.

AES-256-CBC, key = base64(EncodingAESKey + "="), IV = the key's first 16 bytes, plaintext =
16 random bytes + 4-byte big-endian length + message + AppID/CorpID, PKCS#7 to 32 bytes;
msg_signature = sha1 of the sorted (token, timestamp, nonce, Encrypt) joined.
"""

from __future__ import annotations

import base64
import hashlib
import os
import struct
import xml.etree.ElementTree as ET

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"  # 43 characters, as the platform makes


def _key(aes_key: str) -> bytes:
    return base64.b64decode(aes_key + "=")


def encrypt(aes_key: str, message: str, receiver_id: str) -> str:
    key = _key(aes_key)
    raw = message.encode()
    plain = os.urandom(16) + struct.pack(">I", len(raw)) + raw + receiver_id.encode()
    pad = 32 - len(plain) % 32
    plain += bytes([pad]) * pad
    enc = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(enc.update(plain) + enc.finalize()).decode()


def decrypt(aes_key: str, ciphertext: str, receiver_id: str) -> str:
    key = _key(aes_key)
    dec = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
    plain = dec.update(base64.b64decode(ciphertext)) + dec.finalize()
    plain = plain[: -plain[-1]]
    (length,) = struct.unpack(">I", plain[16:20])
    message, tail = plain[20:20 + length], plain[20 + length:]
    assert tail.decode() == receiver_id, f"encrypted for {tail!r}, not {receiver_id!r}"
    return message.decode()


def signature(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def callback(token: str, aes_key: str, receiver_id: str, inner_xml: str,
             timestamp: str = "1764480000", nonce: str = "n0nce") -> tuple[dict, bytes]:
    """(query params, body) of one encrypted callback POST, as the platform sends it."""
    encrypted = encrypt(aes_key, inner_xml, receiver_id)
    body = (f"<xml><ToUserName><![CDATA[{receiver_id}]]></ToUserName>"
            f"<Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>").encode()
    params = {"msg_signature": signature(token, timestamp, nonce, encrypted),
              "timestamp": timestamp, "nonce": nonce, "encrypt_type": "aes",
              "signature": signature(token, timestamp, nonce)}
    return params, body


def open_reply(token: str, aes_key: str, receiver_id: str, reply_xml: str) -> dict[str, str]:
    """Check an encrypted passive reply's signature and decrypt it: its inner fields."""
    outer = ET.fromstring(reply_xml)
    encrypted = outer.findtext("Encrypt")
    sig = outer.findtext("MsgSignature")
    assert sig == signature(token, outer.findtext("TimeStamp"), outer.findtext("Nonce"),
                            encrypted), "the reply's MsgSignature does not match"
    inner = ET.fromstring(decrypt(aes_key, encrypted, receiver_id))
    return {child.tag: child.text or "" for child in inner}
