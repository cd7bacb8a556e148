"""Failed sign-ins slow down: free up to the limit, then doubling waits."""

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from server.domain.login import wait_seconds

NOW = datetime(2026, 11, 26, 15, 0, tzinfo=UTC)


def ago(*seconds):
    return [NOW - timedelta(seconds=s) for s in seconds]


def test_no_wait_below_the_limit():
    assert wait_seconds(ago(1, 2, 3, 4), NOW, max_failures=5, window_s=900) == 0


def test_fifth_failure_means_the_next_try_waits():
    assert wait_seconds(ago(0, 1, 2, 3, 4), NOW, 5, 900) == 2


def test_waits_double_and_count_from_the_latest_failure():
    assert wait_seconds(ago(0, 1, 2, 3, 4, 5), NOW, 5, 900) == 4
    assert wait_seconds(ago(3, 4, 5, 6, 7, 8), NOW, 5, 900) == 1


def test_failures_outside_the_window_are_forgotten():
    assert wait_seconds(ago(901, 902, 903, 904, 905, 906), NOW, 5, 900) == 0


def test_wait_is_capped_by_the_window():
    assert wait_seconds(ago(*range(40)), NOW, 5, 900) <= 900


@given(st.lists(st.integers(min_value=0, max_value=2000), max_size=30))
def test_wait_never_negative_and_zero_once_enough_time_passed(offsets):
    failures = ago(*offsets)
    assert wait_seconds(failures, NOW, 5, 900) >= 0
    assert wait_seconds(failures, NOW + timedelta(seconds=901 + 2000), 5, 900) == 0
