"""Running a contract's state machine for a guaranteed number of steps.

Hypothesis picks each run's length (up to `stateful_step_count`), so a fixed
number of examples does not guarantee a number of steps: run rounds of fresh
examples until the machine has taken `target` steps in all.

Keeping a machine's steps cheap (every contract call runs on py-evm, about
a millisecond for the cheapest view):

- One anchored deployment per run: deploy once per session or module, open
  `boa.env.anchor()` in the machine's `__init__` and close it in
  `teardown`, instead of deploying per example.
- After every step, read only what the step may have touched: rules add
  what they change to "dirty" sets (accounts, assets, pools, proposals)
  that the invariant reads and clears, and the global totals (a contract's
  balance, its totals) only when the step moved tokens or entries; the
  model's own equations (conservation in the model) hold after every step.
  `teardown` marks everything dirty and runs the same check, so what a
  step could not have touched is still proven unmoved at the end of each
  run.
- What every run starts from (the anchored state: balances, domains, pool
  ids) is the same in every run: read it once, not in each `__init__`.
- Expected reverts are cheap because conftest's `_no_storage_dumps` keeps
  titanoboa from writing the contract's storage into each revert message.
"""

from __future__ import annotations

from collections.abc import Callable

import boa
from hypothesis import HealthCheck, settings
from hypothesis.stateful import RuleBasedStateMachine, run_state_machine_as_test

ROUND = settings(
    max_examples=25,
    stateful_step_count=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.function_scoped_fixture],
)


def expect(reason: str | None, call: Callable[[], object]) -> bool:
    """Make `call`: with a `reason` it must revert with exactly that (False), else succeed (True)."""
    if reason:
        with boa.reverts(reason):
            call()
        return False
    call()
    return True


def run_steps(machine: Callable[[], RuleBasedStateMachine], steps: list[int], target: int) -> None:
    """Run `machine` until `steps[0]` (which its invariant check counts up) reaches `target`."""
    steps[0] = 0
    while steps[0] < target:
        run_state_machine_as_test(machine, settings=ROUND)
