"""The sign-in throttle's rule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from server.domain.login import Limits, keys, over_limit, retry_after

NOW = datetime(2026, 2, 17, 22, 30, tzinfo=UTC)


def test_keys_are_the_address_and_the_address_with_the_username_never_the_username_alone():
    limits = Limits(per_pair=5, per_address=30)
    assert keys("203.0.113.9", "dispatcher", limits) == [
        ("addr:203.0.113.9", 30), ("pair:203.0.113.9|dispatcher", 5)]
    assert not any(k == "user:dispatcher" or k.endswith(":dispatcher") for k, _ in keys("a", "dispatcher", limits))


def test_keys_are_bounded_and_free_of_nul():
    (addr, _), (pair, _) = keys("10.0.0.1", "x\x00" * 500, Limits())
    assert "\x00" not in pair and len(pair) <= 200 and addr == "addr:10.0.0.1"


def test_an_attempt_is_refused_only_once_a_counter_holds_its_limit():
    assert not over_limit([29, 4], [30, 5])
    assert over_limit([29, 5], [30, 5])
    assert over_limit([30, 0], [30, 5])


def test_retry_after_waits_for_the_oldest_attempt_to_leave_the_window():
    assert retry_after([NOW - timedelta(seconds=300)], NOW, 900) == 600
    assert retry_after([NOW - timedelta(seconds=899.5)], NOW, 900) == 1
    assert retry_after([], NOW, 900) == 1
