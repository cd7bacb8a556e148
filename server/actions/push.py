"""Job alerts: a person's devices subscribe and unsubscribe; the service worker reports
that a notification was shown and acknowledged (delivered → shown → acknowledged)."""

from __future__ import annotations

import base64
import binascii
import ipaddress
from datetime import datetime
from urllib.parse import urlsplit

from sqlmodel import Session, col, select

from server.actions import ActionError, changes, notify
from server.domain.text import N_
from server.models import Notification, PushSubscription, Staff

MAX_DEVICES = 10  # per person; the oldest goes when an eleventh subscribes
LOOPBACK = ("127.0.0.1", "localhost", "::1")
INTERNAL_SUFFIXES = (".localhost", ".local", ".internal")


def endpoint_allowed(endpoint: str, allow_insecure: bool = False) -> bool:
    """Whether the server may POST to this push endpoint. Only https:// to a public host:
    a subscription must not make the server call localhost or the internal network (SSRF).
    ``allow_insecure`` (setting ``push_allow_insecure_endpoints``, for tests and benchmarks
    with a local receiver) lets any host through, and http:// to this machine. Host names are
    not resolved: literal IPs are checked, and internal-looking names are refused."""
    url = urlsplit(endpoint or "")
    try:
        host = (url.hostname or "").rstrip(".").lower()
    except ValueError:
        return False
    if not host or len(endpoint) > 1024:
        return False
    if allow_insecure:
        return url.scheme == "https" or (url.scheme == "http" and host in LOOPBACK)
    if url.scheme != "https":
        return False
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        labels = host.split(".")
        # a name with a real top-level domain; "localhost", "2130706433", "127.1" are not
        return (len(labels) > 1 and labels[-1].isalpha() and host != "localhost"
                and not host.endswith(INTERNAL_SUFFIXES))
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def _b64(value: str) -> bytes | None:
    try:
        return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError):
        return None


def subscribe(
    db: Session, staff_id: int, endpoint: str, p256dh: str, auth: str, device_label: str,
    now: datetime, *, allow_insecure: bool = False,
) -> PushSubscription:
    """Keep this device's subscription for this person. A phone that another person signed
    in on last belongs to them now: the endpoint is unique, so it moves."""
    endpoint, label = (endpoint or "").strip(), (device_label or "").strip()[:128]
    url = urlsplit(endpoint)
    if len(endpoint) > 1024 or not url.netloc or not (
        url.scheme == "https" or (url.scheme == "http" and allow_insecure)
    ):
        raise ActionError(N_("This browser gave an address FieldOps cannot send alerts to."),
                          "endpoint")
    if not endpoint_allowed(endpoint, allow_insecure):
        raise ActionError(N_("FieldOps does not send alerts to local or internal network "
                             "addresses."), "endpoint")
    key, secret = _b64(p256dh or ""), _b64(auth or "")
    if key is None or len(key) != 65 or key[0] != 4 or secret is None or len(secret) != 16:
        raise ActionError(N_("This browser gave alert keys FieldOps cannot use."), "keys")
    sub = db.exec(select(PushSubscription).where(PushSubscription.endpoint == endpoint)).first()
    if sub is None:
        sub = PushSubscription(staff_id=staff_id, endpoint=endpoint, p256dh=p256dh, auth=auth,
                               device_label=label, created_at=now)
        mine = db.exec(select(PushSubscription).where(PushSubscription.staff_id == staff_id)
                       .order_by(col(PushSubscription.created_at).desc())).all()
        for old in mine[MAX_DEVICES - 1:]:
            db.delete(old)
    else:
        sub.staff_id, sub.p256dh, sub.auth = staff_id, p256dh, auth
        sub.device_label = label or sub.device_label
    db.add(sub)
    db.flush()
    return sub


def unsubscribe(
    db: Session, staff_id: int, *, endpoint: str | None = None, subscription_id: int | None = None
) -> bool:
    """Only one's own devices; answers whether there was something to remove."""
    query = select(PushSubscription).where(PushSubscription.staff_id == staff_id)
    if subscription_id is not None:
        query = query.where(PushSubscription.id == subscription_id)
    elif endpoint:
        query = query.where(PushSubscription.endpoint == endpoint)
    else:
        return False
    sub = db.exec(query).first()
    if sub is None:
        return False
    db.delete(sub)
    db.flush()
    return True


def queue_test_alert(db: Session, staff_id: int, now: datetime) -> int:
    """A test alert to each of my devices, through the same outbox a job notice takes;
    answers how many devices it goes to."""
    from server.i18n import translations

    devices = len(db.exec(select(PushSubscription.id)
                          .where(PushSubscription.staff_id == staff_id)).all())
    if not devices:
        return 0
    staff = db.get(Staff, staff_id)
    say = translations(staff.locale if staff else "zh_CN").gettext
    notify.enqueue(db, staff_id=staff_id, kind="push.test", title=say(N_("FieldOps test alert")),
                   body=say(N_("Alerts work on this device.")),
                   dedupe_key=f"test:{staff_id}:{now.isoformat()}", channels=("webpush",), now=now)
    return devices


def record_receipt(db: Session, note_id: int, kind: str, now: datetime) -> Notification | None:
    """``shown`` or ``acknowledged``, from the service worker; a receipt implies the steps
    before it (a notification that was shown was delivered). Repeats change nothing."""
    note = db.get(Notification, note_id)
    if note is None or kind not in ("shown", "acknowledged"):
        return None
    changed = False
    steps = ("delivered_at", "shown_at") + (("acknowledged_at",) if kind == "acknowledged" else ())
    for step in steps:
        if getattr(note, step) is None:
            setattr(note, step, now)
            changed = True
    if note.status not in ("sent", "off"):  # shown, so it was delivered after all
        note.status, changed = "sent", True
    if changed:
        db.add(note)
        changes.changed(db, "notification", note.id, staff_ids=[note.staff_id],
                        request_id=note.request_id)
    return note
