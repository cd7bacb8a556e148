"""Job alerts: the VAPID key, this device's subscription, a test alert, the service
worker's receipts, and for the dispatcher, whether each notice reached its person."""

from __future__ import annotations

from dataclasses import dataclass

from litestar import Controller, Request
from litestar.exceptions import NotFoundException
from litestar.params import JSONBody
from litestar.response import Template
from sqlmodel import Session, select

from server.actions import ActionError
from server.actions import push as push_actions
from server.db import utcnow
from server.i18n import gettext as _
from server.i18n import render
from server.models import PushSubscription, Role, SupportRequest
from server.push.message import receipt_ok
from server.queries import notifications as notes_q
from server.routes._http import DB, fragment, get, post
from server.routes.params import IdPath, JsonText, JsonUrl
from server.security import requires

RECEIPT = {"public": True, "exclude_from_csrf": True}  # the token in the payload proves it
BOARD_ROLES = (Role.dispatcher, Role.manager)  # as server.routes.board


@dataclass
class Keys:
    p256dh: JsonText
    auth: JsonText


@dataclass
class SubscribeIn:
    """What ``PushSubscription.toJSON()`` gives in the browser, and a label for the device.
    Bounded like every input (a NUL in the endpoint was a 500 on PostgreSQL, issue 11)."""

    endpoint: JsonUrl
    keys: Keys
    device_label: JsonText = ""


@dataclass
class UnsubscribeIn:
    endpoint: JsonUrl


@dataclass
class ReceiptIn:
    id: int  # any number: an unknown one is just not found (a receipt never fails loudly)
    receipt: JsonText
    action: JsonText = ""  # open | accept, for an acknowledgement


def devices(db: Session, staff_id: int) -> list[PushSubscription]:
    return list(db.exec(select(PushSubscription).where(PushSubscription.staff_id == staff_id)
                        .order_by(PushSubscription.created_at)).all())


class PushController(Controller):
    path = "/push"
    tags = ["push"]

    @get("/key", summary="The server's VAPID public key, for pushManager.subscribe()")
    def key(self, request: Request) -> dict:
        settings = request.app.state.settings
        return {"publicKey": settings.vapid_public_key, "enabled": settings.push_enabled}

    @post("/subscribe", summary="Turn on job alerts on this device")
    def subscribe(self, request: Request, db: DB, data: JSONBody[SubscribeIn]) -> Template:
        user = request.scope["user"]
        try:
            with db.begin_nested():
                push_actions.subscribe(db, user.id, data.endpoint, data.keys.p256dh,
                                       data.keys.auth, data.device_label, utcnow(),
                                       allow_insecure=request.app.state.settings
                                       .push_allow_insecure_endpoints)
        except ActionError as exc:
            return self._devices(request, db, error=render(exc.message), status_code=422)
        return self._devices(request, db)

    @post("/unsubscribe", summary="Turn off job alerts on this device")
    def unsubscribe(self, request: Request, db: DB, data: JSONBody[UnsubscribeIn]) -> Template:
        push_actions.unsubscribe(db, request.scope["user"].id, endpoint=data.endpoint)
        return self._devices(request, db)

    @post("/devices/{subscription_id:int}/remove", include_in_schema=False)
    def remove(self, request: Request, db: DB, subscription_id: IdPath) -> Template:
        if not _db_id(subscription_id):
            raise NotFoundException()
        push_actions.unsubscribe(db, request.scope["user"].id, subscription_id=subscription_id)
        return self._devices(request, db, message=_("Alerts are off on that device."))

    @post("/test", include_in_schema=False)
    def test(self, request: Request, db: DB) -> Template:
        count = push_actions.queue_test_alert(db, request.scope["user"].id, utcnow())
        if count:
            message = _("Test alert on its way to your devices with alerts on; it should arrive within a few seconds.")
        else:
            message = _("No device of yours has alerts on yet: turn them on first.")
        return fragment(request, "partials/flash.html", message=message,
                        kind="ok" if count else "error")

    @post("/shown", opt=RECEIPT, status_code=204, summary="The service worker showed a notification")
    def shown(self, request: Request, db: DB, data: JSONBody[ReceiptIn]) -> None:
        self._receipt(request, db, data, "shown")

    @post("/ack", opt=RECEIPT, status_code=204, summary="The person tapped a notification")
    def ack(self, request: Request, db: DB, data: JSONBody[ReceiptIn]) -> None:
        self._receipt(request, db, data, "acknowledged")

    @get("/requests/{request_id:int}/notifications", include_in_schema=False,
         guards=[requires(*BOARD_ROLES)])
    def request_notifications(self, request: Request, db: DB, request_id: IdPath) -> Template:
        if not _db_id(request_id) or db.get(SupportRequest, request_id) is None:
            raise NotFoundException()
        notices = notes_q.for_request(db, request_id)
        return fragment(request, "partials/notification_status.html", notices=notices,
                        people=notes_q.by_person(notices), notice_kinds=notes_q.NOTICE_KINDS,
                        request_id=request_id)

    def _receipt(self, request: Request, db: DB, data: ReceiptIn, kind: str) -> None:
        if not _db_id(data.id) or not receipt_ok(request.app.state.settings.secret_key, data.id, data.receipt):
            raise NotFoundException()  # says nothing about which notifications exist
        push_actions.record_receipt(db, data.id, kind, utcnow())

    def _devices(self, request: Request, db: DB, status_code: int = 200, **ctx) -> Template:
        return fragment(request, "partials/push_devices.html", status_code=status_code,
                        devices=devices(db, request.scope["user"].id), **ctx)



def _db_id(value: int) -> bool:
    """An id a database column can hold (a bigger one would fail in the driver, not 404)."""
    return 0 < value < 2**31


ROUTES = [PushController]
