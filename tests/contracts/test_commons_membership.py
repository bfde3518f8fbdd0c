"""CommonsPool `memberAt`: membership at the end of a past block, as the
governor's quadratic voting reads it at a proposal's snapshot."""

from __future__ import annotations

import boa
from hypothesis import given, settings
from hypothesis import strategies as st

from .commons_fixtures import commons  # noqa: F401 (fixture)
from .conftest import ZERO_ADDRESS, fresh_state
from .dao_fixtures import mine


def block() -> int:
    return boa.env.evm.patch.block_number


def test_member_at__joined_left_rejoined(commons):
    c, person = commons, commons.people[0]
    before = block()
    mine()
    c.pool.join(c.works[0], sender=person)
    joined = block()
    mine(3)
    c.pool.leave(sender=person)
    left = block()
    mine(3)
    c.pool.join(c.works[0], sender=person)
    rejoined = block()
    mine()
    assert not c.pool.memberAt(person, before)
    assert not c.pool.memberAt(person, joined - 1)
    assert c.pool.memberAt(person, joined)
    assert c.pool.memberAt(person, left - 1)
    assert not c.pool.memberAt(person, left)
    assert not c.pool.memberAt(person, rejoined - 1)
    assert c.pool.memberAt(person, rejoined)
    with boa.reverts("commons_pool: future lookup"):
        c.pool.memberAt(person, block())


def test_member_at__removed__never_counts(commons):
    c, person = commons, commons.people[1]
    c.pool.join(c.works[1], sender=person)
    joined = block()
    mine(2)
    assert c.pool.memberAt(person, joined)
    c.pool.remove(person, sender=c.owner)
    mine()
    assert not c.pool.memberAt(person, joined)
    assert not c.pool.memberAt(person, block() - 1)


def test_member_at__word_layout_keeps_the_work_and_claims(commons):
    c, person = commons, commons.people[2]
    c.pool.join(c.works[2], sender=person)
    member = c.pool.members(person)
    assert (member.active, member.work) == (True, c.works[2])
    c.pool.leave(sender=person)
    assert c.pool.workMember(c.works[2]) == ZERO_ADDRESS


@settings(max_examples=40, deadline=None)
@given(gaps=st.lists(st.integers(min_value=1, max_value=3), min_size=1, max_size=8))
def test_member_at__never_says_member_when_it_was_not(commons, gaps):
    """Joins and leaves in turn, a few blocks apart: `memberAt` is true only
    for blocks at whose end the account was a member, and for every block
    of its current and its last ended membership."""
    with fresh_state():
        c, person = commons, commons.people[3]
        start, member, toggles = block(), False, {}
        for gap in gaps:
            if member:
                c.pool.leave(sender=person)
            else:
                c.pool.join(c.works[3], sender=person)
            member = not member
            toggles[block()] = member
            mine(gap)
        expected, member = {}, False
        for number in range(start, block()):
            member = toggles.get(number, member)
            expected[number] = member
        runs: list[list[int]] = []
        for number, is_member in expected.items():
            if is_member and runs and runs[-1][1] == number - 1:
                runs[-1][1] = number
            elif is_member:
                runs.append([number, number])
        remembered = runs[-2:] if member else runs[-1:]  # the current one and the last ended
        for number, is_member in expected.items():
            known = any(first <= number <= last for first, last in remembered)
            assert c.pool.memberAt(person, number) == (is_member and known), number
