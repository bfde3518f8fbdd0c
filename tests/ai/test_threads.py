"""Threads: a short process encodes on the cores other processes left idle while it started."""

from __future__ import annotations

import pytest

from tantieme.ai import threads


@pytest.fixture
def two_cores(monkeypatch):
    """A 2-core machine whose readings (idle ticks, all ticks, this process's ticks) come from `ticks` in turn."""
    ticks: list[tuple[int, int, float] | None] = []
    monkeypatch.setattr(threads, "_cores", lambda: 2)
    monkeypatch.setattr(threads, "_cpu_times", lambda: ticks.pop(0))
    return ticks


@pytest.mark.parametrize(
    ("idle", "own", "free", "n"),
    [
        (100, 100, 2.0, 2),  # nobody else ran: this process had one core, the other stayed idle
        (0, 200, 2.0, 2),  # this process kept both cores busy (its own threads): still nobody else's
        (80, 100, 1.8, 2),
        (70, 100, 1.7, 1),  # another process held a core 30 % of the time: one thread
        (0, 100, 1.0, 1),
        (0, 0, 0.0, 1),  # others held both cores
    ],
)
def test_idle_cores__what_other_processes_left_idle(two_cores, idle, own, free, n):
    two_cores.extend([(1_000, 5_000, 300.0), (1_000 + idle, 5_200, 300.0 + own), (1_000 + idle, 5_200, 300.0 + own)])
    idle_cores = threads.IdleCores()
    assert idle_cores() == pytest.approx(free)
    assert idle_cores.threads() == n  # at most the cores this process may run on


@pytest.mark.parametrize("readings", [[None, (10, 20, 0.0)], [(10, 20, 0.0), None], [(10, 20, 0.0), (10, 20, 0.0)]])
def test_idle_cores__unreadable_or_no_time_passed__one_thread(two_cores, readings):
    two_cores.extend([readings[0], readings[1], readings[1]])
    idle = threads.IdleCores()
    assert idle() == 0.0
    assert idle.threads() == 1


def test_cpu_times__read_from_this_machine():
    times = threads._cpu_times()
    assert times is None or (0 <= times[0] <= times[1] and times[2] > 0)
    assert threads._cores() >= 1
