"""S8a checklists: every device type has steps for every common fault, in a sensible order."""

from __future__ import annotations

import pytest

from server.domain.checklists import (
    CHECKLISTS,
    DEVICE_TYPES,
    FAULTS,
    checklist,
    checklists_for,
    likely_fault,
)
from server.domain.intake import DEVICE_TYPES as INTAKE_DEVICE_TYPES


def test_every_device_type_of_the_form_has_a_list_for_every_fault():
    assert set(DEVICE_TYPES) == set(INTAKE_DEVICE_TYPES)
    for device in DEVICE_TYPES:
        for fault in FAULTS:
            assert (device, fault) in CHECKLISTS
            assert len(checklist(device, fault).steps) >= 3


@pytest.mark.parametrize("key", sorted(CHECKLISTS))
def test_step_ids_are_unique_and_hands_at_the_venue_come_last(key):
    steps = CHECKLISTS[key]
    ids = [s.id for s in steps]
    assert len(ids) == len(set(ids))
    onsite = [i for i, s in enumerate(steps) if s.onsite]
    assert all(i == len(steps) - 1 for i in onsite), "an onsite step is the last resort"
    assert all(s.text.strip() and "%" not in s.text for s in steps)  # templates format msgids


def test_a_dead_unit_always_ends_in_a_swap_via_onsite():
    for device in DEVICE_TYPES:
        assert checklist(device, "no_power").steps[-1].onsite


def test_unknown_device_types_get_the_general_list_and_unknown_faults_are_an_error():
    assert checklist("projector", "no_signal").device_type == "other"
    with pytest.raises(ValueError):
        checklist("camera", "smoke")


@pytest.mark.parametrize(
    ("symptom", "fault"),
    [
        ("推流失败，直播中断", "push_failed"),
        ("直播平台提示推流鉴权失败", "push_failed"),
        ("编码器无法开机", "no_power"),
        ("电池仓接触不良，频繁断电", "no_power"),
        ("摄像机 SDI 输出无信号", "no_signal"),
        ("导播台多路输入画面黑屏", "no_signal"),
        ("Stream push keeps failing", "push_failed"),
        ("摄像机画面偏色，白平衡异常", None),
        ("", None),
        (None, None),
    ],
)
def test_the_symptom_points_at_a_fault(symptom, fault):
    assert likely_fault(symptom) == fault


def test_the_symptoms_checklist_comes_first_and_all_three_are_offered():
    lists = checklists_for("encoder", "编码器无法开机")
    assert [c.fault for c in lists] == ["no_power", "no_signal", "push_failed"]
    lists = checklists_for("mixer", "推流失败")
    assert [c.fault for c in lists] == ["push_failed", "no_power", "no_signal"]
    assert [c.fault for c in checklists_for("audio", "声音忽大忽小")] == list(FAULTS)


def test_the_audio_checklists_speak_of_sound_not_picture():
    from server.domain.checklists import checklists_for

    for c in checklists_for("audio"):
        words = " ".join(step.text for step in c.steps).lower() + " " + c.title.lower()
        assert "video" not in words and "picture" not in words, c.fault
    lost = next(c for c in checklists_for("audio") if c.fault == "no_signal")
    assert lost.title == "No sound" and "sound" in " ".join(s.text for s in lost.steps)
