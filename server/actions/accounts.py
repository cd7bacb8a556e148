"""The admin's changes to people: add, roles, disable, password reset; and my language."""

from __future__ import annotations

import re
from datetime import datetime

from sqlmodel import Session, delete, select

from server.actions import ActionError, FieldErrors
from server.actions.audit import record
from server.actions.signin import MIN_PASSWORD, end_sessions, password_errors
from server.domain import bounds
from server.domain.text import N_, Message
from server.i18n import SUPPORTED
from server.models import Role, Staff, StaffRole
from server.security import hash_password

USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{1,31}$")
NAME_LENGTH = 64  # Staff.display_name
PHONE_LENGTH = 32  # Staff.phone


def add_person(
    db: Session,
    actor_id: int,
    *,
    username: str,
    display_name: str,
    password: str,
    roles: list[str],
    phone: str = "",
    group: str | None = None,
    region: str | None = None,
    now: datetime,
) -> Staff:
    username = username.strip().lower()
    errors: dict[str, Message] = {}
    if not USERNAME_RE.match(username):
        errors["username"] = Message(
            N_("2-32 characters: lower-case letters, digits, dot, dash or underscore.")
        )
    elif db.exec(select(Staff.id).where(Staff.username == username)).first():
        errors["username"] = Message(N_("This username is taken."))
    if not display_name.strip():
        errors["display_name"] = Message(N_("Enter the person's name."))
    for key, text, size in (("display_name", display_name, NAME_LENGTH),
                            ("phone", phone, PHONE_LENGTH)):  # fmt: skip
        problem = bounds.text_problem(text.strip(), size)
        if problem is not None:  # a 100,000-character name was a 500 on PostgreSQL
            errors[key] = problem
    if len(password) < MIN_PASSWORD:
        errors["password"] = Message(N_("At least {n} characters."), {"n": MIN_PASSWORD})
    role_error = _check_roles(roles)
    if role_error:
        errors["roles"] = role_error
    if group not in (None, "", "remote", "onsite"):
        errors["group"] = Message(N_("Choose remote or onsite."))
    if group == "onsite" and region not in ("urban", "suburban"):
        errors["region"] = Message(N_("An onsite engineer needs a service region."))
    if errors:
        raise FieldErrors(errors)
    staff = Staff(
        username=username,
        display_name=display_name.strip(),
        password_hash=hash_password(password),
        phone=phone.strip(),
        group=group or None,
        region=region if group == "onsite" else None,
        created_at=now,
    )
    db.add(staff)
    db.flush()
    for role in sorted(set(roles)):
        db.add(StaffRole(staff_id=staff.id, role=role))
    record(db, "staff.added", actor_id, entity="staff", entity_id=staff.id, roles=sorted(roles), at=now)
    return staff


def set_roles(db: Session, actor_id: int, staff_id: int, roles: list[str]) -> Staff:
    staff = db.get(Staff, staff_id)
    if staff is None:
        raise ActionError(N_("No such person."))
    error = _check_roles(roles)
    if error:
        raise ActionError(error, "roles")
    if staff_id == actor_id and Role.admin not in roles:
        raise ActionError(N_("You cannot take the admin role from yourself."), "roles")
    db.exec(delete(StaffRole).where(StaffRole.staff_id == staff_id))
    for role in sorted(set(roles)):
        db.add(StaffRole(staff_id=staff_id, role=role))
    record(db, "staff.roles_set", actor_id, entity="staff", entity_id=staff_id, roles=sorted(roles))
    return staff


def set_active(db: Session, actor_id: int, staff_id: int, active: bool) -> Staff:
    staff = db.get(Staff, staff_id)
    if staff is None:
        raise ActionError(N_("No such person."))
    if staff_id == actor_id and not active:
        raise ActionError(N_("You cannot disable your own account."))
    staff.active = active
    db.add(staff)
    ended = 0 if active else end_sessions(db, staff_id)  # signed out at once, everywhere
    record(db, "staff.active_set", actor_id, entity="staff", entity_id=staff_id, active=active,
           sessions_ended=ended)
    return staff


def reset_password(db: Session, actor_id: int, staff_id: int, new: str, repeat: str, now: datetime) -> Staff:
    """The admin sets a new password for someone who forgot theirs, and tells them; every
    session of that person ends (whoever knew the old password is out)."""
    staff = db.get(Staff, staff_id)
    if staff is None:
        raise ActionError(N_("No such person."))
    errors = password_errors(new, repeat)
    if errors:
        raise FieldErrors(errors)
    staff.password_hash = hash_password(new)
    db.add(staff)
    ended = end_sessions(db, staff_id)
    record(db, "staff.password_reset", actor_id, entity="staff", entity_id=staff_id,
           sessions_ended=ended, at=now)
    return staff


def set_locale(db: Session, staff_id: int, locale: str) -> None:
    if locale not in SUPPORTED:
        raise ActionError(N_("Unknown language."))
    staff = db.get(Staff, staff_id)
    staff.locale = locale
    db.add(staff)


def _check_roles(roles: list[str]) -> Message | None:
    valid = {r.value for r in Role}
    if not roles:
        return Message(N_("Choose at least one role."))
    unknown = [r for r in roles if r not in valid]
    if unknown:
        return Message(N_("Unknown role: {role}"), {"role": unknown[0]})
    return None


WECOM_USERID_RE = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")


def set_wecom_userid(db: Session, actor_id: int, staff_id: int, userid: str,
                     now: datetime) -> Staff:
    """Issue 17: WeCom application messages reach a person by the user id (帐号) WeCom
    gives them; empty removes it."""
    staff = db.get(Staff, staff_id)
    if staff is None:
        raise ActionError(N_("No such person."))
    userid = (userid or "").strip()
    if userid and not WECOM_USERID_RE.match(userid):
        raise ActionError(N_("A WeCom user id has letters, digits and . _ @ - only."),
                          "wecom_userid")
    if staff.wecom_userid != userid:
        record(db, "staff.wecom_userid", actor_id, entity="staff", entity_id=staff.id, at=now,
               before=staff.wecom_userid, after=userid)
        staff.wecom_userid = userid
        db.add(staff)
    return staff
