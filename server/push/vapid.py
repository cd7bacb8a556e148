"""VAPID keys (RFC 8292): made on first start, kept in the data folder; the subject."""

from __future__ import annotations

import base64
import logging
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


PLACEHOLDER_DOMAINS = ("fieldops.example", "example.com", "example.net", "example.org")
RESERVED_TLDS = ("example", "invalid", "localhost", "test", "local")
log = logging.getLogger("fieldops.push")


def subject_problem(subject: str) -> str | None:
    """Why push services would refuse this VAPID subject (RFC 8292 §2.1: a ``mailto:`` or
    ``https:`` contact of the operator), or None. The shipped default
    ``mailto:ops@fieldops.example`` is a placeholder: Apple answers 403 BadJwtToken."""
    text = (subject or "").strip()
    lower = text.lower()
    if lower.startswith("mailto:") and "@" in lower:
        domain = lower.rsplit("@", 1)[1].strip()
    elif lower.startswith("https://"):
        domain = lower[8:].split("/", 1)[0].split(":", 1)[0]
    else:
        return (f"FIELDOPS_VAPID_SUBJECT={text!r} is not a mailto: or https: contact; "
                "set it to a real address of whoever runs FieldOps")
    if (not domain or "." not in domain or domain.endswith(PLACEHOLDER_DOMAINS)
            or domain.rsplit(".", 1)[-1] in RESERVED_TLDS):
        return (f"FIELDOPS_VAPID_SUBJECT={text!r} is a placeholder; set it to a real contact "
                "of whoever runs FieldOps (push services such as Apple's refuse it)")
    return None


def warn_about_subject(subject: str, push_enabled: bool) -> str | None:
    """At start-up: say in the log that no web push will be sent, and why."""
    problem = subject_problem(subject) if push_enabled else None
    if problem:
        log.warning("Web Push is not sent: %s", problem)
    return problem
