"""The support manager's team screens: S8 qualifications, training (S13, S14), and the
eligibility computed from them, in plain words; every bad input refused, nothing half-saved."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlmodel import Session, select

from server.models import AuditEntry, Staff, TrainingRecord
from tests.api.roster_team import engineer, train
from tests.conftest import form_post, login, text_of

GOOD = {
    "birth_date": "1996-04-12",
    "degree": "bachelor",
    "experience_months": "30",
    "group": "onsite",
    "region": "suburban",
    "phone": "13900139000",
    "email": "li.ming@example.com",
}


@pytest.fixture(autouse=True)
def late_november_2026(clock):
    """The training dates below are in November 2026: the screens judge them from then."""
    clock.set(datetime(2026, 11, 26, 2, 0, tzinfo=UTC))  # 10:00 in Shanghai


def fresh(db):
    db.rollback()
    db.expire_all()


@pytest.fixture
def crew(db, people):
    return {
        "ok": engineer(db, "ok", "王合格", "remote", None),
        "newbie": engineer(db, "newbie", "曹新人", "remote", None, qualified=False),
        "failed": engineer(db, "failed", "韩补考", "onsite", "urban", qualified=False),
        "almost": engineer(db, "almost", "赵差点", "remote", None, qualified=False),
        "young": engineer(db, "young", "马年轻", "onsite", "urban", birth_date=date(2010, 1, 1)),
        "blank": engineer(db, "blank", "空白", "remote", None, qualified=False, birth_date=None,
                          degree=None, support_experience_months=None),  # fmt: skip
    }


@pytest.fixture
def trained(db, crew):
    train(db, crew["newbie"], hours=14, exam=None)
    train(db, crew["failed"], hours=20, exam=False)
    train(db, crew["almost"], hours=19.5, exam=True)
    return crew


def test_the_team_list_says_why_someone_may_not_be_rostered(client, trained):
    login(client, "manager")
    r = client.get("/team/")
    assert r.status_code == 200
    rows = {row.split("</tr>")[0] for row in r.text.split("<tr")}

    def row_of(name):
        return text_of(next(x for x in rows if name in x))

    assert "具备" in row_of("王合格")
    assert "岗前培训 14 小时，须满 20 小时" in row_of("曹新人")
    assert "实操考核未通过" in row_of("曹新人")  # no exam yet is not a pass
    assert "实操考核未通过" in row_of("韩补考")
    assert "岗前培训 19.5 小时，须满 20 小时" in row_of("赵差点")  # S13: 19.5 h is not 20 h
    assert "年龄" in row_of("马年轻") and "至少须 22 岁" in row_of("马年轻")
    blank = row_of("空白")
    assert "未登记出生日期" in blank
    assert "未登记学历" in blank
    assert "未登记支持经验" in blank


def test_training_added_makes_a_person_eligible_at_once(client, db, trained):
    almost = trained["almost"]
    login(client, "manager")
    page = client.get(f"/team/{almost.id}")
    assert "岗前培训 19.5 小时，须满 20 小时" in text_of(page.text)
    r = form_post(client, f"/team/{almost.id}/training",
                  {"kind": "onboarding", "held_on": "2026-11-02", "hours": "0.5",
                   "notes": "补课：应急换机流程"}, htmx=True)  # fmt: skip
    assert r.status_code == 200
    assert r.text.lstrip().startswith('<section id="training"')
    # the eligibility panel follows out of band
    assert '<section id="eligibility" class="panel eligibility elig-ok"' in r.text
    assert 'hx-swap-oob="true"' in r.text
    assert "合格：可以排班" in text_of(r.text)
    fresh(db)
    entry = db.exec(select(AuditEntry).where(AuditEntry.action == "training.added")).one()
    assert entry.details["staff_id"] == almost.id and entry.details["hours"] == 0.5

    # and the roster grid agrees (one rule for both screens)
    rec = db.exec(select(TrainingRecord).where(TrainingRecord.notes == "补课：应急换机流程")).one()
    r = form_post(client, f"/team/{almost.id}/training/{rec.id}/delete", htmx=True)
    assert r.status_code == 200
    assert "岗前培训 19.5 小时，须满 20 小时" in text_of(r.text)
    fresh(db)
    assert db.exec(select(AuditEntry).where(AuditEntry.action == "training.removed")).one()


def test_a_resit_exam_replaces_the_failed_one(client, db, trained):
    failed = trained["failed"]
    login(client, "manager")
    r = form_post(client, f"/team/{failed.id}/training",
                  {"kind": "exam", "held_on": "2026-11-10", "passed": "1"}, htmx=True)  # fmt: skip
    assert r.status_code == 200
    assert "合格：可以排班" in text_of(r.text)


def test_bad_training_input_is_explained_and_saves_nothing(client, db, trained):
    almost = trained["almost"]
    login(client, "manager")
    before = len(db.exec(select(TrainingRecord)).all())
    r = form_post(client, f"/team/{almost.id}/training",
                  {"kind": "exam", "held_on": "2099-01-01", "hours": "-3"}, htmx=True)  # fmt: skip
    assert r.status_code == 422
    text = text_of(r.text)
    assert "培训举行之后才能登记" in text
    assert "请填写 0 到 200 之间的小时数" in text
    assert "请选择考核是否通过" in text
    assert 'aria-invalid="true"' in r.text
    r = form_post(client, f"/team/{almost.id}/training",
                  {"kind": "onboarding", "held_on": "not a date"}, htmx=True)  # fmt: skip
    assert r.status_code == 422
    assert "请按 YYYY-MM-DD 格式填写日期" in text_of(r.text)
    assert "请填写本次岗前培训的小时数" in text_of(r.text)
    r = form_post(client, f"/team/{almost.id}/training", {"kind": "party", "held_on": "2026-11-01"},
                  htmx=True)  # fmt: skip
    assert r.status_code == 422 and "请选择培训类别" in text_of(r.text)
    fresh(db)
    assert len(db.exec(select(TrainingRecord)).all()) == before


def test_profile_edit_saves_s8_fields_group_and_contact(client, db, trained):
    blank = trained["blank"]
    login(client, "manager")
    r = form_post(client, f"/team/{blank.id}", GOOD, htmx=True)
    assert r.status_code == 200
    assert "已保存" in text_of(r.text)
    fresh(db)
    staff = db.get(Staff, blank.id)
    assert staff.birth_date == date(1996, 4, 12)
    assert (staff.degree, staff.support_experience_months) == ("bachelor", 30)
    assert (staff.group, staff.region) == ("onsite", "suburban")
    assert (staff.phone, staff.email) == ("13900139000", "li.ming@example.com")
    entry = db.exec(select(AuditEntry).where(AuditEntry.action == "staff.profile_updated")).one()
    assert entry.details["changes"]["region"] == [None, "suburban"]
    # S8 is met now; the S13 training is what is left, and the panel says so
    assert "未登记学历" not in text_of(r.text)
    assert "岗前培训 0 小时，须满 20 小时" in text_of(r.text)
    # a plain form post (no JavaScript) redirects back to the profile
    r = form_post(client, f"/team/{blank.id}", GOOD | {"group": "remote", "region": ""})
    assert r.status_code == 303 and r.headers["location"] == f"/team/{blank.id}"
    fresh(db)
    assert db.get(Staff, blank.id).region is None  # a remote engineer has no region


def test_bad_profile_input_is_explained_per_field_and_saves_nothing(client, db, trained):
    ok = trained["ok"]
    login(client, "manager")
    bad = {"birth_date": "2099-01-01", "degree": "phd-ish", "experience_months": "twelve",
           "group": "onsite", "region": "", "phone": "call me", "email": "nope"}  # fmt: skip
    r = form_post(client, f"/team/{ok.id}", bad, htmx=True)
    assert r.status_code == 422
    text = text_of(r.text)
    for expected in ["出生日期必须早于今天", "请从列表中选择学历", "请填写 0 到 600 之间的整月数",
                     "现场工程师须选择服务区域", "请填写数字电话号码", "请填写邮箱地址",
                     "未保存：请修改标出的字段"]:  # fmt: skip
        assert expected in text, expected
    assert r.text.count('aria-invalid="true"') == 6
    fresh(db)
    staff = db.get(Staff, ok.id)
    assert (staff.degree, staff.group, staff.birth_date) == ("bachelor", "remote", date(1994, 5, 1))
    assert db.exec(select(AuditEntry).where(AuditEntry.action == "staff.profile_updated")).first() is None


def test_unknown_people_and_records_are_404(client, trained):
    login(client, "manager")
    assert client.get("/team/99999").status_code == 404
    assert form_post(client, "/team/99999", GOOD).status_code == 404
    r = form_post(client, f"/team/{trained['ok'].id}/training/99999/delete", htmx=True)
    assert r.status_code == 422
    assert "此培训记录已不存在" in text_of(r.text)


@pytest.mark.parametrize("username", ["agent", "dispatcher", "remote", "onsite", "equipment", "admin"])
def test_only_the_support_manager_reaches_the_team(client, db, trained, username):
    login(client, username)
    assert client.get("/team/").status_code == 403
    r = form_post(client, f"/team/{trained['ok'].id}", GOOD)
    assert r.status_code == 403
    fresh(db)
    assert db.get(Staff, trained["ok"].id).region is None


def test_a_partial_profile_post_changes_only_what_was_sent(client, engine, crew):
    """Issue 11: an empty POST blanked birth date, degree, group, region and phone, and
    the engineer silently dropped out of dispatch."""
    person = crew["failed"]  # onsite, urban
    login(client, "manager")
    assert form_post(client, f"/team/{person.id}", GOOD).status_code == 303
    before = _fresh(engine, person.id)
    assert before["group"] == "onsite" and before["region"] == "suburban" and before["phone"]
    assert form_post(client, f"/team/{person.id}", {}).status_code == 303
    assert _fresh(engine, person.id) == before
    assert form_post(client, f"/team/{person.id}", {"phone": "13700137000"}).status_code == 303
    after = _fresh(engine, person.id)
    assert after == before | {"phone": "13700137000"}


def _fresh(engine, staff_id: int) -> dict:
    with Session(engine) as session:
        return session.get(Staff, staff_id).model_dump()
