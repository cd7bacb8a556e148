"""D8c: the phone's clock measured at each push and its device times corrected."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from server.domain.device_clock import NO_OFFSET, measure, sane_instant

NOW = datetime(2026, 11, 30, 21, 0, tzinfo=UTC)
M = timedelta(minutes=1)


def test_a_slow_phone_is_corrected_forward_and_flagged_past_the_threshold():
    offset = measure(NOW - 14 * M, NOW, flag_seconds=300)
    assert offset.flagged
    assert offset.correct(NOW - 30 * M) == NOW - 16 * M


def test_a_fast_phone_is_corrected_back():
    offset = measure(NOW + 14 * M, NOW, flag_seconds=300)
    assert offset.flagged and offset.correct(NOW - 2 * M) == NOW - 16 * M


def test_a_small_offset_is_corrected_silently_and_network_noise_ignored():
    two = measure(NOW - 2 * M, NOW, flag_seconds=300)
    assert not two.flagged and two.correct(NOW - 10 * M) == NOW - 8 * M
    assert measure(NOW - timedelta(seconds=3), NOW, 300) == NO_OFFSET
    assert measure(None, NOW, 300) == NO_OFFSET
    assert NO_OFFSET.correct(None) is None


def test_absurd_instants_are_no_device_time():
    assert sane_instant(datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone(-timedelta(hours=14)))) is None
    assert sane_instant(datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=14)))) is None
    assert sane_instant(datetime(2026, 11, 30, 12, 0)) is None  # naive
    shanghai = timezone(timedelta(hours=8))
    assert sane_instant(datetime(2026, 11, 30, 20, 0, tzinfo=shanghai)) == datetime(
        2026, 11, 30, 12, 0, tzinfo=UTC)


@given(st.datetimes(timezones=st.timezones()), st.datetimes(timezones=st.timezones()))
def test_measuring_and_correcting_never_raises(sent, device):
    offset = measure(sent, NOW, 300)
    corrected = offset.correct(sane_instant(device))
    assert corrected is None or corrected.tzinfo is not None
