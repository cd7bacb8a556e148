"""VAPID keys (RFC 8292): made on first start, kept in the data folder."""

from __future__ import annotations

import base64
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from py_vapid import Vapid


def load_or_create_keys(data_dir: Path) -> tuple[str, str]:
    """Return (private key PEM path, public key as the URL-safe base64 the browser wants)."""
    pem = data_dir / "vapid_private.pem"
    if pem.exists():
        vapid = Vapid.from_file(str(pem))
    else:
        vapid = Vapid()
        vapid.generate_keys()
        vapid.save_key(str(pem))
        pem.chmod(0o600)
    raw = vapid.public_key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return str(pem), base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
