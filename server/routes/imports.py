"""Import screen: upload a CSV/XLSX, read the dry run per row, apply; templates to download.

Customers, venues and orders are the agent's and dispatcher's; units the equipment
manager's.
"""

from __future__ import annotations

from typing import Annotated, Any
from zoneinfo import ZoneInfo

from litestar import Controller, Request
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.params import Body, PathParameter
from litestar.response import Response

from server.actions import ActionError
from server.actions import imports as actions
from server.db import utcnow
from server.domain import imports as files
from server.domain.text import N_
from server.i18n import gettext
from server.models import Role
from server.routes._http import DB, get, page, post
from server.routes.customers import refusal
from server.routes.params import Form, TokenPath
from server.security import requires

KIND_ROLES = {"customers": (Role.agent, Role.dispatcher), "venues": (Role.agent, Role.dispatcher),
              "orders": (Role.agent, Role.dispatcher), "units": (Role.equipment,)}
KIND_NAMES = {"customers": N_("Customers"), "venues": N_("Venues"),
              "orders": N_("Rental orders with their units"), "units": N_("Units")}
Upload = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.MULTI_PART)]
TemplatePath = Annotated[str, PathParameter(pattern=r"^[a-z]{1,16}\.(csv|xlsx)$")]
SHOWN_ROWS = 500  # the report lists every refusal, and the first rows of the rest


def _kinds(request: Request) -> list[str]:
    return [k for k, roles in KIND_ROLES.items() if request.user.has(*roles)]


def _allowed(request: Request, kind: str) -> str:
    if kind not in KIND_ROLES:
        raise NotFoundException()
    if kind not in _kinds(request):
        raise PermissionDeniedException("role")
    return kind


def _settings(request: Request) -> tuple[tuple[str, ...], ZoneInfo]:
    settings = request.app.state.settings
    return settings.roster.regions, ZoneInfo(settings.time_zone)


class ImportController(Controller):
    path = "/import"
    guards = [requires(Role.agent, Role.dispatcher, Role.equipment)]
    include_in_schema = False

    @get("/")
    def index(self, request: Request) -> Response:
        kinds = _kinds(request)
        kind = request.query_params.get("kind", "")
        return _page(request, kind=kind if kind in kinds else kinds[0])

    @post("/")
    def dry_run(self, request: Request, db: DB, data: Upload) -> Response:
        kind = _allowed(request, str(data.get("kind", "")))
        upload = data.get("file")
        if not isinstance(upload, UploadFile) or not upload.filename:
            return _page(request, 422, kind=kind, errors={"file": gettext(N_("Choose a file."))})
        content = upload.file.read(files.MAX_BYTES + 1)
        regions, zone = _settings(request)
        try:
            report = actions.dry_run(db, kind, upload.filename, content, regions, zone)
        except ActionError as exc:
            return _page(request, 422, kind=kind, errors=refusal(exc))
        kept = actions.keep_upload(db, request.user.id, kind, upload.filename, content, utcnow())
        return _page(request, kind=kind, report=report, upload_id=kept.id,
                     filename=upload.filename)

    @post("/{upload_id:str}/apply")
    def apply(self, request: Request, db: DB, upload_id: TokenPath, data: Form) -> Response:
        kind = _allowed(request, str(data.get("kind", "")))
        regions, zone = _settings(request)
        try:
            report = actions.apply(db, request.user.id, upload_id[:36], regions, zone, utcnow(),
                                   _rows(data.get("refused", "")))
        except ActionError as exc:
            db.rollback()
            return _page(request, 422, kind=kind, errors=refusal(exc))
        return _page(request, kind=kind, report=report, applied=True)

    @get("/template/{name:str}")
    def template(self, request: Request, name: TemplatePath) -> Response:
        kind, _, fmt = name.partition(".")
        _allowed(request, kind)
        if fmt not in ("csv", "xlsx"):
            raise NotFoundException()
        english = request.query_params.get("lang") == "en"
        media = ("text/csv; charset=utf-8" if fmt == "csv" else
                 "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        return Response(files.template(kind, fmt, chinese=not english), media_type=media,
                        headers={"Content-Disposition": f'attachment; filename="{kind}-template.{fmt}"'})


def _rows(raw: Any) -> set[int]:
    """The refused row numbers the dry run showed (a hidden field of its apply form)."""
    return {int(n) for n in str(raw).split(",")[:files.MAX_ROWS] if n.isdigit() and len(n) < 7}


def _page(request: Request, status_code: int = 200, **context: Any) -> Response:
    report = context.get("report")
    shown = []
    if report is not None:
        refused = [r for r in report.rows if r.outcome == "refused"]
        rest = [r for r in report.rows if r.outcome != "refused"][:SHOWN_ROWS]
        shown = sorted(refused + rest, key=lambda r: r.row)
    base = {"kinds": _kinds(request), "kind_names": KIND_NAMES, "columns": files.COLUMNS,
            "errors": {}, "report": None, "shown": shown, "applied": False}
    return page(request, "pages/import.html", status_code=status_code, **(base | context))


ROUTES = [ImportController]
