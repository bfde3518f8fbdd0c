"""CPU thread settings for the 2-core machines this project targets.

NumPy's OpenBLAS starts one thread per core and spin-waits between calls; on
2 cores shared with llama.cpp, that made a 10,000-row dense search
take 84 ms instead of 15 ms (measured). The index therefore limits BLAS to
one thread, once per process, through threadpoolctl, falling back to the
environment variables, which only act if NumPy is not loaded yet.

llama.cpp's threads wait for each other at every layer: one whose core another
process holds stalls them all (two threads on 2 cores, the other one busy: a
prompt took 5x as long as on one thread). A short process that has seen other
processes leave a core idle while it started (:class:`IdleCores`) encodes its
prompt on it too.
"""

from __future__ import annotations

import os

__all__ = ["IdleCores", "limit_blas_threads"]

_DONE: set[int] = set()


def limit_blas_threads(n: int = 1) -> None:
    """Cap BLAS libraries (OpenBLAS, MKL, BLIS) at ``n`` threads, process-wide."""
    if n in _DONE:
        return
    for var in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS"):
        os.environ.setdefault(var, str(n))
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl is a dependency
        pass
    else:
        threadpool_limits(limits=n, user_api="blas")
    _DONE.add(n)


class IdleCores:
    """How many cores other processes left idle, from when this was made until it is called.

    Read from Linux's ``/proc/stat`` (the busy time of all cores) less this process's own CPU
    time, so that work this process did meanwhile, on any of its threads, does not count as
    another's; 0.0 where it cannot be read.
    """

    def __init__(self) -> None:
        self._start = _cpu_times()

    def __call__(self) -> float:
        end = _cpu_times()
        if self._start is None or end is None:
            return 0.0
        wall = (end[1] - self._start[1]) / _cores()  # clock ticks, per core
        others = (end[1] - self._start[1]) - (end[0] - self._start[0]) - (end[2] - self._start[2])
        return max(0.0, _cores() - max(0.0, others) / wall) if wall > 0 else 0.0

    def threads(self) -> int:
        """Threads for a burst of work starting now: one per core the other processes left idle
        (80 % of the time at least), at least one, within the cores this process may run on."""
        return max(1, min(_cores(), int(self() + 0.2)))


def _cpu_times() -> tuple[int, int, float] | None:
    """Clock ticks since boot: all cores' idle time, all cores' time, and this process's CPU time."""
    try:
        with open("/proc/stat", "rb") as f:
            fields = [int(v) for v in f.readline().split()[1:9]]
        tick = os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, AttributeError):
        return None
    if len(fields) < 5:
        return None
    own = os.times()
    return fields[3] + fields[4], sum(fields), (own.user + own.system) * tick


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1
