"""Running a contract's state machine for a guaranteed number of steps.

Hypothesis picks each run's length (up to `stateful_step_count`), so a fixed
number of examples does not guarantee a number of steps: run rounds of fresh
examples until the machine has taken `target` steps in all.
"""

from __future__ import annotations

from collections.abc import Callable

from hypothesis import HealthCheck, settings
from hypothesis.stateful import RuleBasedStateMachine, run_state_machine_as_test

ROUND = settings(
    max_examples=25,
    stateful_step_count=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.function_scoped_fixture],
)


def run_steps(machine: Callable[[], RuleBasedStateMachine], steps: list[int], target: int) -> None:
    """Run `machine` until `steps[0]` (which its invariant check counts up) reaches `target`."""
    steps[0] = 0
    while steps[0] < target:
        run_state_machine_as_test(machine, settings=ROUND)
