"""`tantieme dao` as members use it, with --json, on the embedded chain and anvil: a proposal
raises the machine tax and runs its whole course; every wrong step is one clear error that
sends nothing; an outside tool (`cast`) reads the same proposal state and votes."""

from __future__ import annotations

import time

import pytest

from tantieme.chain.accounts import DEV_PRIVATE_KEYS, dev_account
from tantieme.node import Node

from .conftest import run, run_json

ONE = 10**18
ADA, BRUNO, CAROL = (dev_account(n).address for n in (1, 2, 3))
SPLIT = ("set-split", "--commons-bps", "800", "--operator-bps", "1000")


@pytest.fixture(params=["embedded", "anvil"])
def chain(request) -> str | None:
    """An initialised home on each chain; the anvil URL, or None for the embedded chain."""
    if request.param == "embedded":
        request.getfixturevalue("init_embedded")()
        run_json("init")
        return None
    url = request.getfixturevalue("initialised_anvil")
    run_json("init", "--chain", "rpc", "--rpc-url", url)
    return url


def as_member(monkeypatch, account: str) -> None:
    index = next(n for n in range(10) if dev_account(n).address == account)
    monkeypatch.setenv("TANTIEME_PRIVATE_KEY", DEV_PRIVATE_KEYS[index])


def refused(*args: str) -> str:
    """Run a command that must fail: its one-line error (--json: an InputError), and no transaction
    (`--wait` may mine empty blocks first)."""
    with Node.open(readonly=True) as node:
        block = node.conn.w3.eth.block_number
    error = run_json(*args, ok=False)
    assert error["kind"] == "InputError", error
    with Node.open(readonly=True) as node:
        w3 = node.conn.w3
        sent = sum(len(w3.eth.get_block(n)["transactions"]) for n in range(block + 1, w3.eth.block_number + 1))
    assert sent == 0, "a refused command sent a transaction"
    return error["error"]


def split() -> tuple[int, int]:
    with Node.open(readonly=True) as node:
        return node.ledger.functions.commons_bps().call(), node.ledger.functions.operator_bps().call()


def test_dao__a_proposal_raises_the_machine_tax_and_hostile_steps_move_nothing(chain, monkeypatch, json_rules, cast):
    for member, amount in ((ADA, "100"), (BRUNO, "40"), (CAROL, "10")):
        run("faucet", amount, "--to", member)
    handed = run_json("dao", "handover")
    json_rules(handed)
    assert [(c["contract"], c["dao"], c["tx"] is not None) for c in handed["contracts"]] == [
        ("AI token", True, True), ("interaction ledger", True, True), ("commons pool", True, True),
        ("dispute module", True, True)]
    assert [c["tx"] for c in run_json("dao", "handover")["contracts"]] == [None] * 4  # twice: nothing to do

    as_member(monkeypatch, CAROL)
    assert refused("dao", "propose", *SPLIT, "-d", "Raise the machine tax") == (
        f"proposing takes 1 TAI of votes at the previous block; {CAROL} has 0: stake (`tantieme dao stake AMOUNT`) "
        "or have votes delegated to it first")
    as_member(monkeypatch, BRUNO)
    run("dao", "stake", "40")
    bruno = run_json("dao", "delegate", ADA)
    assert (bruno["staked"], bruno["votes"], bruno["delegate"]) == (str(40 * ONE), "0", ADA)
    as_member(monkeypatch, ADA)
    ada = run_json("dao", "stake", "100")
    json_rules(ada)
    assert (ada["staked"], ada["votes"], ada["balance"]) == (str(100 * ONE), str(140 * ONE), "0")

    made = run_json("dao", "propose", *SPLIT, "-d", "Raise the machine tax to 8 %")
    json_rules(made)
    assert (made["number"], made["state"], made["for"]) == (1, "pending", "0")
    assert refused("dao", "vote", "1", "for") == (
        f"voting on proposal #1 opens at block {made['snapshot'] + 1}; the chain is at block {made['block']} "
        "(`--wait` mines the blocks on this local chain)")
    voted = run_json("dao", "vote", "1", "for", "--wait")
    assert (voted["state"], voted["for"], voted["against"], voted["quorum"]) == (
        "active", str(140 * ONE), "0", str(140 * ONE * 4 // 100))
    assert refused("dao", "vote", "1", "against") == f"{ADA} already voted on proposal #1: one vote per account"
    for member in (BRUNO, CAROL):  # delegated away before the snapshot; never staked
        as_member(monkeypatch, member)
        assert refused("dao", "vote", "1", "for").startswith(
            f"{member} had no voting power at the snapshot of proposal #1 (block {made['snapshot']})")
    assert refused("dao", "execute", "1").startswith("proposal #1 is active: voting ends after block")

    queued = run_json("dao", "queue", "1", "--wait")
    assert queued["state"] == "queued" and queued["eta"] > 0
    with Node.open(readonly=True) as node:
        queued_at = node.conn.w3.eth.get_block("latest")["timestamp"]
    with monkeypatch.context() as frozen:  # the clock stands still: the timelock's 2 s are ahead
        frozen.setattr(time, "time", lambda: queued_at)
        assert refused("dao", "execute", "1").startswith("the timelock holds proposal #1 until ")
    as_member(monkeypatch, CAROL)  # anyone may execute
    executed = run_json("dao", "execute", "1", "--wait")
    assert executed["state"] == "executed"
    assert split() == (800, 1000)
    assert refused("dao", "execute", "1") == "proposal #1 was executed already"

    # A defeated proposal can be neither queued nor executed.
    as_member(monkeypatch, ADA)
    run("dao", "propose", "set-split", "--commons-bps", "300", "--operator-bps", "1000", "-d", "Lower the tax")
    run("dao", "vote", "2", "against", "--wait")
    assert refused("dao", "queue", "2", "--wait").startswith("proposal #2 was defeated (For 0, Against 140")
    assert refused("dao", "execute", "2").startswith("proposal #2 was defeated")
    assert split() == (800, 1000)
    listed = run_json("dao", "proposals")
    json_rules(listed)
    assert [(p["number"], p["state"]) for p in listed] == [(1, "executed"), (2, "defeated")]

    if chain is not None:  # an outside tool reads what the CLI made
        status = run_json("dao", "status", "1")
        governor = run_json("dao", "status")["governor"]
        assert cast("call", governor, "state(uint256)(uint8)", status["id"], "--rpc-url", chain) == [7]
        votes = cast("call", governor, "proposalVotes(uint256)(uint256,uint256,uint256)", status["id"], "--rpc-url", chain)
        assert [str(v) for v in votes] == [status["against"], status["for"], status["abstain"]]


def test_dao__propose_checks_its_arguments_before_anything(chain, monkeypatch):
    run("faucet", "5", "--to", ADA)
    as_member(monkeypatch, ADA)
    run("dao", "stake", "5")
    assert refused("dao", "propose", *SPLIT, "-d", "Too early") == (
        "the DAO does not own the interaction ledger yet (0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266 does), so it "
        "could not set the split: commons 8 %, operator 10 % (now 5 % and 10 %): `tantieme dao handover` gives it "
        "the deployment's parameters")
    assert refused("dao", "propose", "set-split", "--commons-bps", "9500", "--operator-bps", "1000", "-d", "x") == (
        "commons 9,500 + operator 1,000 basis points exceed 10,000 (all of a batch)")
    assert refused("dao", "propose", *SPLIT, "-d", "  ") == (
        "a proposal needs a description: say what it changes and why (--description)")
    assert refused("dao", "unstake", "6") == f"{ADA} has 5 TAI staked, less than 6 TAI"
    assert refused("dao", "withdraw") == "nothing to withdraw: `tantieme dao unstake AMOUNT` first"
    assert refused("dao", "vote", "1", "for") == "there is no proposal 1: `tantieme dao proposals` lists them (0 so far)"
    assert run_json("dao", "propose", "call", "--target", ADA, "--calldata", "0x12", "-d", "x", ok=False)["kind"] == "UsageError"
