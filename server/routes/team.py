"""The support manager's team screens: who may be rostered and why not (S8, S13, S14)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request
from litestar.exceptions import NotFoundException
from litestar.response import Redirect, Response, Template

from server.actions import ActionError, FieldErrors
from server.actions import team as actions
from server.domain.bounds import SHORT_TEXT
from server.domain.qualification import DEGREES
from server.domain.text import N_
from server.i18n import render
from server.models import Role
from server.queries import team as q
from server.queries.calendar import load_calendar
from server.queries.roster import describe
from server.routes._http import DB, fragment, get, is_htmx, page, post
from server.routes.nav import Screen, register
from server.routes.params import Form, IdPath, form_text
from server.routes.roster import local_today, now_of, rules_of
from server.security import requires

PROFILE_FIELDS = ("birth_date", "degree", "experience_months", "group", "region", "phone",
                  "email")  # fmt: skip
DEGREE_LABELS = {
    "none": N_("No degree"),
    "high_school": N_("high_school"),
    "associate": N_("associate"),
    "bachelor": N_("bachelor"),
    "master": N_("master"),
    "doctorate": N_("doctorate"),
}
TRAINING_LABELS = {
    "onboarding": N_("Onboarding training"),
    "exam": N_("Practical exam"),
    "monthly": N_("Monthly session"),
    "drill": N_("Quarterly drill"),
}

register(Screen("/team", N_("Team and training"), N_("Qualifications, training, eligibility"),
                ("manager",)))  # fmt: skip


def _context(request: Request, db: DB, staff_id: int, **extra: Any) -> dict[str, Any]:
    member = q.member(db, staff_id, local_today(request), rules_of(request))
    if member is None:
        raise NotFoundException()
    return {
        "member": member,
        "records": q.training_records(db, staff_id),
        "degrees": DEGREES,
        "degree_labels": DEGREE_LABELS,
        "training_labels": TRAINING_LABELS,
        "training_kinds": q.TRAINING_KINDS,
        "regions": rules_of(request).regions,
        "rules": rules_of(request),
        "say": describe,
        "today": local_today(request),
        "now": now_of(request),
        "errors": {},
        "form": {},
        "tform": {},
        "terrors": {},
    } | extra


class TeamController(Controller):
    path = "/team"
    guards = [requires(Role.manager)]
    include_in_schema = False

    @get("/")
    def index(self, request: Request, db: DB) -> Template:
        today = local_today(request)
        members = q.team(db, today, rules_of(request))
        return page(request, "pages/team.html", members=members, say=describe,
                    degree_labels=DEGREE_LABELS, rules=rules_of(request), today=today,
                    eligible=sum(1 for m in members if m.eligible))  # fmt: skip

    @get("/{staff_id:int}")
    def person(self, request: Request, db: DB, staff_id: IdPath) -> Template:
        return page(request, "pages/team_person.html", **_context(request, db, staff_id))

    @post("/{staff_id:int}")
    def save_profile(
        self, request: Request, db: DB, staff_id: IdPath, data: Form
    ) -> Response:
        user = request.scope["user"]
        try:
            actions.update_profile(
                db, user.id, staff_id,
                # only the fields sent change (a partial update; issue 11)
                **{name: form_text(data, name, SHORT_TEXT) if name in data else None
                   for name in PROFILE_FIELDS},
                today=local_today(request),
                regions=rules_of(request).regions,
            )  # fmt: skip
        except FieldErrors as exc:
            db.rollback()
            errors = {k: render(v) for k, v in exc.errors.items()}
            ctx = _context(request, db, staff_id, errors=errors, form=data)
            return page(request, "pages/team_person.html", fragment="partials/staff_profile.html",
                        status_code=422, **ctx)  # fmt: skip
        except ActionError as exc:
            raise NotFoundException(render(exc.message)) from None
        if not is_htmx(request):
            return Redirect(f"/team/{staff_id}", status_code=303)
        db.flush()
        return fragment(request, "partials/staff_profile.html", saved=True,
                        **_context(request, db, staff_id))  # fmt: skip

    @post("/{staff_id:int}/office-hours")
    def office_hours(self, request: Request, db: DB, staff_id: IdPath, data: Form) -> Response:
        """D17: counts in office hours, or away for the rest of today's office hours."""
        settings = request.app.state.settings
        away = None
        if data.get("away") == "1":
            now = now_of(request)
            away = load_calendar(db, settings.time_zone).office_hours_at(now, settings.office) \
                or now
        try:
            actions.set_office_hours(db, request.scope["user"].id, staff_id,
                                     counts=data.get("counts") == "1", away_until=away)
        except ActionError as exc:
            raise NotFoundException(render(exc.message)) from None
        db.flush()
        if not is_htmx(request):
            return Redirect(f"/team/{staff_id}", status_code=303)
        return fragment(request, "partials/office_hours_form.html", saved=True,
                        **_context(request, db, staff_id))

    @post("/{staff_id:int}/training")
    def add_training(
        self, request: Request, db: DB, staff_id: IdPath, data: Form
    ) -> Response:
        user = request.scope["user"]
        try:
            actions.add_training(
                db, user.id, staff_id,
                kind=str(data.get("kind", "")),
                held_on=str(data.get("held_on", "")),
                hours=str(data.get("hours", "")),
                passed=str(data.get("passed", "")),
                notes=str(data.get("notes", "")),
                today=local_today(request),
            )  # fmt: skip
        except FieldErrors as exc:
            db.rollback()
            errors = {k: render(v) for k, v in exc.errors.items()}
            ctx = _context(request, db, staff_id, terrors=errors, tform=data)
            return page(request, "pages/team_person.html", fragment="partials/training.html",
                        status_code=422, **ctx)  # fmt: skip
        except ActionError as exc:
            raise NotFoundException(render(exc.message)) from None
        if not is_htmx(request):
            return Redirect(f"/team/{staff_id}#training", status_code=303)
        db.flush()
        return fragment(request, "partials/training.html", added=True,
                        **_context(request, db, staff_id))  # fmt: skip

    @post("/{staff_id:int}/training/{record_id:int}/delete")
    def remove_training(
        self, request: Request, db: DB, staff_id: IdPath, record_id: IdPath
    ) -> Response:
        user = request.scope["user"]
        error = None
        try:
            actions.remove_training(db, user.id, staff_id, record_id)
        except ActionError as exc:
            error = render(exc.message)
        if not is_htmx(request):
            return Redirect(f"/team/{staff_id}#training", status_code=303)
        db.flush()
        return fragment(request, "partials/training.html", status_code=422 if error else 200,
                        remove_error=error, **_context(request, db, staff_id))  # fmt: skip


ROUTES = [TeamController]
