"""What a push message carries: ids, a title, the priority, where a tap goes, a receipt token.

Kept small (a push service takes at most 4 KB, and a phone on a bad line should not
wait for more): the notification opens the job page, which the phone has cached.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

from server.domain.text import N_

BODY_LIMIT = 120
ACCEPTABLE = ("job.assigned", "job.offered")  # notices a tap on "accept" can answer


def receipt_token(secret: str, note_id: int) -> str:
    """Lets the service worker report 'shown' and 'acknowledged' for this one notification
    without a session or a CSRF token (neither is at hand in a push event)."""
    mac = hmac.new(secret.encode(), f"receipt:{note_id}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac[:16]).rstrip(b"=").decode()


def receipt_ok(secret: str, note_id: int, token: str) -> bool:
    # bytes: compare_digest refuses non-ASCII text, and a receipt comes from outside
    return hmac.compare_digest(receipt_token(secret, note_id).encode(), (token or "").encode())


def job_url(kind: str | None, job_id: int) -> str:
    """Where the engineer works on a job: the remote screen, or the field pages."""
    return f"/remote/jobs/{job_id}" if kind == "remote" else f"/field/jobs/{job_id}"


def payload(
    note_id: int,
    stored: dict[str, Any],
    *,
    secret: str,
    priority: str | None,
    job_kind: str | None,
    for_dispatcher: bool = False,
    locale: str = "zh_CN",
) -> dict[str, Any]:
    """The service worker shows it as is: texts are in the recipient's language."""
    from server.i18n import translations

    say = translations(locale).gettext
    kind = stored.get("kind", "")
    job_id, request_id = stored.get("job_id"), stored.get("request_id")
    if for_dispatcher and request_id:
        url = f"/board/requests/{request_id}"
    elif job_id and kind not in ("job.reassigned", "job.cancelled"):
        url = job_url(job_kind, job_id)
    elif kind.startswith("contact."):
        url = "/inbox"
    elif kind == "swap.handed_over":  # a refused swap the dispatcher handed over (D13)
        url = "/equipment/queue"
    else:
        url = "/"
    body = stored.get("body") or ""
    accept = bool(job_id) and kind in ACCEPTABLE and not for_dispatcher
    labels = {"open": say(N_("Open"))}
    if accept:
        labels.update(accept=say(N_("Accept job")), accepted=say(N_("Accepted (synced as soon as the phone is online).")))
    return {
        "id": note_id,
        "kind": kind,
        "title": stored.get("title", ""),
        "body": body if len(body) <= BODY_LIMIT else body[: BODY_LIMIT - 1] + "…",
        "priority": priority,
        "request_id": request_id,
        "job_id": job_id,
        "url": url,
        "tag": f"job-{job_id}" if job_id else f"note-{note_id}",
        "accept": accept,
        "labels": labels,
        "receipt": receipt_token(secret, note_id),
        **({"to": stored["to"]} if stored.get("to") else {}),
    }
