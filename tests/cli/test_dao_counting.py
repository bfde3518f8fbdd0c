"""`tantieme dao counting` and quadratic proposals as members use them, on the embedded chain
and anvil: the table changes by a token-weighted proposal; a proposal calling a listed function
is counted quadratically, says so when made, and takes votes only from commons-pool members at
its snapshot, weighed by the root of their stake; `dao status --json` reports each vote's
weight; an outside tool (`cast`) reads the same counting."""

from __future__ import annotations

import math

from eth_utils import function_signature_to_4byte_selector

from tantieme.chain.accounts import dev_account
from tantieme.node import Node

from .conftest import run, run_json
from .test_dao_cmd import as_member, chain, refused  # noqa: F401 (fixture)

ONE = 10**18
ADA, BRUNO = (dev_account(n).address for n in (1, 2))


def test_dao_counting__quadratic_proposal_counts_members_by_the_root_of_their_stake(
    chain, cast, monkeypatch, tmp_path, json_rules
):
    # The home's account joins the commons pool by a work and invites Ada; Bruno stays outside.
    run("faucet", "10")
    work = tmp_path / "w.md"
    work.write_text("# Roof Bees\n\nFour hives.")
    run("register", str(work), "--terms", "open")
    run("commons", "join")
    run("commons", "invite", ADA)
    for member, amount in ((ADA, "100"), (BRUNO, "44")):
        run("faucet", amount, "--to", member)
    run("dao", "handover")
    for member, amount in ((ADA, "100"), (BRUNO, "44")):
        as_member(monkeypatch, member)
        run("dao", "stake", amount)

    as_member(monkeypatch, ADA)
    assert run_json("dao", "counting") == []
    made = run_json("dao", "counting", "set", "commons_pool", "setBond", "quadratic", "-d", "Members set the bond")
    json_rules(made)
    assert made["counting"] == "token"
    assert refused("dao", "counting", "set", "commons_pool", "nosuch", "quadratic", "-d", "x").startswith(
        "the commons_pool has no function 'nosuch'; it has ")
    assert refused("dao", "counting", "set", "commons_pool", "setBond", "loudest", "-d", "x") == (
        "'loudest' is not a way to count: choose token, reputation, quadratic")
    run("dao", "vote", "1", "for", "--wait")
    run("dao", "queue", "1", "--wait")
    run("dao", "execute", "1", "--wait")
    table = run_json("dao", "counting")
    with Node.open(readonly=True) as node:
        pool = node.deployment.commons_pool
    selector = "0x" + function_signature_to_4byte_selector("setBond(uint256)").hex()
    calldata = selector + (2 * ONE).to_bytes(32, "big").hex()
    assert table == [
        {"target": pool, "selector": selector, "function": "commons_pool.setBond", "counting": "quadratic"}]

    made = run_json("dao", "propose", "call", "--target", pool, "--calldata", calldata, "-d", "A bond of 2 TAI")
    assert (made["number"], made["counting"]) == (2, "quadratic")
    assert "counted by quadratic votes: For 0 · Against 0 · Abstain 0 √TAI" in run("dao", "status", "2").output
    as_member(monkeypatch, BRUNO)
    assert refused("dao", "vote", "2", "for", "--wait").startswith(
        f"proposal #2 is counted quadratically, one voice per commons-pool member, and {BRUNO} was no member at "
        f"its snapshot (block {made['snapshot']})")
    as_member(monkeypatch, ADA)
    voted = run_json("dao", "vote", "2", "for")
    status = run_json("dao", "status", "2")
    json_rules(status)
    root = math.isqrt(100 * ONE)
    assert (voted["for"], status["counting"], status["for"]) == (str(root), "quadratic", str(root))
    assert status["votes"] == [{"voter": ADA, "support": "for", "weight": str(root), "reason": ""}]
    members = 2  # the home's account and Ada, when the proposal was made
    assert status["quorum"] == str(math.isqrt(144 * ONE * members) * 4 // 100)
    assert "For 10 · Against 0 · Abstain 0 √TAI" in run("dao", "status", "2").output
    assert [p["counting"] for p in run_json("dao", "proposals")] == ["token", "quadratic"]

    if chain is not None:  # an outside tool reads the same counting
        governor = run_json("dao", "status")["governor"]
        assert cast("call", governor, "proposalCounting(uint256)(uint8)", status["id"], "--rpc-url", chain) == [2]
        assert cast("call", governor, "countingOf(address,bytes4)(uint8)", pool, selector, "--rpc-url", chain) == [2]
