"""`tantieme dispute ...` as a user sees it (embedded chain): raising with a bond and
evidence, listing, judging (rejected: the bond to the owner; upheld: the asset tagged,
shown as disputed, out of retrieval, its royalties to the rightful party), cancelling;
every refusal one line that says what to do, sending nothing."""

from __future__ import annotations

import pytest

from tantieme import disputes
from tantieme.assets import royalties
from tantieme.chain.accounts import dev_account
from tantieme.dao import Dao
from tantieme.dao.decode import calls, contracts
from tantieme.errors import AssetError, ChainError
from tantieme.interaction import consents_to_retrieval
from tantieme.node import Node

from .conftest import run, run_json

ONE = 10**18
BOND = ONE  # the local chain's dispute bond
CREATOR, RIGHTFUL = dev_account(1), dev_account(2)


@pytest.fixture
def setup(tmp_path, init_embedded):
    """This home's account (the module's owner) and a creator who registered work #1
    (consenting to retrieval) and #2; #1 has 0.5 TAI of royalties pending."""
    init_embedded()
    me = run_json("init")["address"]
    with Node.open() as node:
        node.faucet(CREATOR.address)
        creator = node.as_account(CREATOR)
        for name in ("a", "b"):
            work = tmp_path / f"{name}.md"
            work.write_text(f"# Roof Bees {name}\n\nFour hives fit on a roof.")
            from tantieme.assets import registry
            from tantieme.assets.terms import preset

            registry.register(creator, work, kind="work", terms=preset("open"), parents=(), title=name)
        royalties.pay(node, 1, ONE // 2)
    evidence = tmp_path / "original.txt"
    evidence.write_text("the original, published in 2019")
    return me, evidence


def balance(address: str | None = None) -> int:
    return int(run_json("balance", *([address] if address else []))["balance"])


def refused(*args: str, kind: str = "DisputeError") -> str:
    """Run a command that must fail: its one-line error (the JSON form names its kind)."""
    assert run_json(*args, ok=False)["kind"] == kind
    return " ".join(run(*args, ok=False).output.split())


def test_dispute__raise_list_reject_uphold(setup, json_rules):
    me, evidence = setup
    before, owner_before = balance(), balance(CREATOR.address)
    assert run_json("dispute", "list") == []

    # Refusals say what to do and send nothing.
    assert "there is no asset #9: `tantieme assets` lists them; nothing was sent" in refused(
        "dispute", "raise", "9", "--reason", "copied-content", "--evidence", str(evidence))
    assert "unknown reason 'plagiarism'" in refused(
        "dispute", "raise", "1", "--reason", "plagiarism", "--evidence", str(evidence), kind="InputError")
    assert "is neither a file nor a URI" in refused(
        "dispute", "raise", "1", "--reason", "copied-content", "--evidence", "nowhere", kind="InputError")
    assert "the dispute bond is 1 TAI, more than the 0.5 TAI you agreed to (--bond): nothing was sent" in refused(
        "dispute", "raise", "1", "--reason", "copied-content", "--evidence", str(evidence), "--bond", "0.5")
    assert balance() == before

    raised = run_json("dispute", "raise", "2", "--reason", "contradicting-terms", "--evidence",
                      "https://example.org/terms.html")
    json_rules(raised)
    assert {k: raised["dispute"][k] for k in ("id", "asset_id", "raiser", "bond", "reason", "status", "evidence_uri")} == {
        "id": 1, "asset_id": 2, "raiser": me, "bond": str(BOND), "reason": "contradicting-terms", "status": "open",
        "evidence_uri": "https://example.org/terms.html"}
    assert balance() == before - BOND
    assert "you have an open dispute on asset #2 already" in refused(
        "dispute", "raise", "2", "--reason", "copied-content", "--evidence", str(evidence))
    text = run("dispute", "raise", "1", "--reason", "copied-content", "--evidence", str(evidence)).output
    assert "dispute #2 raised on asset #1 (copied-content); bond 1 TAI" in text

    listed = run_json("dispute", "list", "--open")
    json_rules(listed)
    assert [(d["id"], d["status"]) for d in listed] == [(1, "open"), (2, "open")]

    # Only the arbiter or the owner judges.
    with Node.open() as node:
        with pytest.raises(disputes.DisputeError, match="only the dispute module's arbiter or owner judges"):
            disputes.resolve(node.as_account(RIGHTFUL), 1, uphold=False)

    rejected = run_json("dispute", "resolve", "1", "--reject")
    json_rules(rejected)
    assert (rejected["dispute"]["status"], rejected["paid_to_owner"]) == ("rejected", str(BOND))
    assert balance(CREATOR.address) == owner_before + BOND
    assert "dispute #1 is closed already: a dispute is judged once" in refused("dispute", "resolve", "1", "--uphold")

    rightful_before = balance(RIGHTFUL.address)
    upheld = run_json("dispute", "resolve", "2", "--uphold", "--to", RIGHTFUL.address)
    assert (upheld["dispute"]["status"], upheld["rightful_party"], upheld["redirected"]) == (
        "upheld", RIGHTFUL.address, str(ONE // 2))
    assert balance(RIGHTFUL.address) == rightful_before + ONE // 2
    assert balance() == before - BOND  # the bond of #2 came back; #1's went to the owner
    assert [d["id"] for d in run_json("dispute", "list", "--open")] == []

    shown = run_json("show", "1")
    assert shown["dispute"] == {"disputed": True, "reason": "copied-content", "rightful_party": RIGHTFUL.address}
    assert run_json("show", "2")["dispute"]["disputed"] is False
    assert "DISPUTED" in run("show", "1").output
    with Node.open() as node:
        consents = consents_to_retrieval(node)
        assert (consents(1), consents(2)) == (False, True)
    assert "asset #1 is tagged already" in refused(
        "dispute", "raise", "1", "--reason", "copied-content", "--evidence", str(evidence))


def test_dispute__cancel_keeps_a_fee_for_the_owner(setup):
    _, evidence = setup
    before, owner_before = balance(), balance(CREATOR.address)
    run("dispute", "raise", "1", "--reason", "copied-content", "--evidence", str(evidence))
    with Node.open() as node:
        with pytest.raises(disputes.DisputeError, match="only whoever raised dispute #1 can cancel it"):
            disputes.cancel(node.as_account(RIGHTFUL), 1)
    cancelled = run_json("dispute", "cancel", "1")
    assert (cancelled["dispute"]["status"], cancelled["paid_to_owner"]) == ("cancelled", str(BOND // 10))
    assert balance() == before - BOND // 10
    assert balance(CREATOR.address) == owner_before + BOND // 10
    assert "say --uphold or --reject" in run("dispute", "resolve", "1", ok=False).output


def test_claim__a_tagged_asset_is_left_out__its_later_royalties_redirected(setup):
    """A record settled after the judgement credits the tagged work: its owner's `claim` leaves
    it out (naming it is an error), the router refuses the owner, `dispute redirect` pays the
    rightful party."""
    run("dispute", "raise", "1", "--reason", "copied-content", "--evidence", str(setup[1]))
    run_json("dispute", "resolve", "1", "--uphold", "--to", RIGHTFUL.address)
    with Node.open() as node:
        royalties.pay(node, 1, ONE // 4)
        royalties.pay(node, 2, ONE // 8)
        creator = node.as_account(CREATOR)
        with pytest.raises(AssetError, match=r"asset 1 is tagged by an upheld dispute: its revenue goes to the "
                           r"rightful party \(`tantieme dispute redirect 1` sends it\), not to its owner"):
            royalties.claim(creator, [1, 2])
        owner_before = creator.balance()
        claimed = royalties.claim(creator)
        assert (claimed["assets"], claimed["tagged"], claimed["claimed"]) == ([2], [1], ONE // 8)
        assert creator.balance() == owner_before + ONE // 8
        router = node.router.functions
        node.conn.transact(router.distribute(1))
        assert router.claimable(1).call() == ONE // 4 and router.isTagged(1).call()
        with pytest.raises(ChainError, match="router: asset is tagged by a dispute"):
            creator.conn.transact(router.claim(1))
    rightful_before = balance(RIGHTFUL.address)
    assert run_json("dispute", "redirect", "1")["redirected"] == str(ONE // 4)
    assert balance(RIGHTFUL.address) == rightful_before + ONE // 4


def test_dispute_arbiter__a_proposal_once_the_dao_owns_the_module(setup, json_rules):
    me, _ = setup
    run("dao", "stake", "100")
    assert (f"the DAO does not own the dispute module yet ({me} does), so it could not appoint "
            f"{RIGHTFUL.address} to judge disputes (now nobody)") in refused(
        "dispute", "arbiter", RIGHTFUL.address, "-d", "Appoint an arbiter", kind="InputError")
    assert "is not an Ethereum address" in refused("dispute", "arbiter", "0x70", "-d", "x", kind="ConfigError")
    run("dao", "handover")
    proposed = run_json("dispute", "arbiter", RIGHTFUL.address, "-d", "Appoint an arbiter")
    json_rules(proposed)
    assert (proposed["number"], proposed["description"]) == (1, "Appoint an arbiter")
    with Node.open(readonly=True) as node:
        (decoded,) = calls(contracts(node), Dao(node).proposals()[0])
    assert (decoded.contract, decoded.function, decoded.args) == (
        "the dispute module", "setArbiter", (("arbiter_", RIGHTFUL.address),))


def test_dispute_clear__a_proposal_for_a_tagged_asset_only(setup, json_rules):
    assert "asset #1 is not tagged by an upheld dispute: there is no tag to clear" in refused(
        "dispute", "clear", "1", "-d", "Appeal")
    run("dispute", "raise", "1", "--reason", "copied-content", "--evidence", str(setup[1]))
    run("dispute", "resolve", "1", "--uphold")
    run("dao", "stake", "100")
    run("dao", "handover")
    proposed = run_json("dispute", "clear", "1", "-d", "Appeal upheld")
    json_rules(proposed)
    with Node.open(readonly=True) as node:
        (decoded,) = calls(contracts(node), Dao(node).proposals()[0])
    assert (decoded.contract, decoded.function, decoded.args) == ("the dispute module", "clearTag", (("asset_id", 1),))
