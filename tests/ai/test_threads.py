"""Threads: a short process encodes on the cores that stayed idle while it started."""

from __future__ import annotations

import pytest

from tantieme.ai import threads


@pytest.fixture
def two_cores(monkeypatch):
    """A 2-core machine whose /proc/stat reads (idle, total) ticks from `ticks` in turn."""
    ticks: list[tuple[int, int] | None] = []
    monkeypatch.setattr(threads, "_cores", lambda: 2)
    monkeypatch.setattr(threads, "_cpu_times", lambda: ticks.pop(0))
    return ticks


@pytest.mark.parametrize(
    ("idle_ticks", "idle_cores", "n"),
    [(100, 1.0, 2), (80, 0.8, 2), (60, 0.6, 1), (0, 0.0, 1), (200, 2.0, 2)],
)
def test_idle_cores__counts_idle_time_of_all_cores_and_adds_a_thread_per_idle_core(two_cores, idle_ticks, idle_cores, n):
    two_cores.extend([(1_000, 5_000), (1_000 + idle_ticks, 5_200), (1_000 + idle_ticks, 5_200)])
    idle = threads.IdleCores()
    assert idle() == pytest.approx(idle_cores)
    assert idle.threads() == n  # at most the cores this process may run on


@pytest.mark.parametrize("readings", [[None, (10, 20)], [(10, 20), None], [(10, 20), (10, 20)]])
def test_idle_cores__unreadable_or_no_time_passed__one_thread(two_cores, readings):
    two_cores.extend([readings[0], readings[1], readings[1]])
    idle = threads.IdleCores()
    assert idle() == 0.0
    assert idle.threads() == 1


def test_cpu_times__read_from_this_machine():
    times = threads._cpu_times()
    assert times is None or 0 <= times[0] <= times[1]
    assert threads._cores() >= 1
