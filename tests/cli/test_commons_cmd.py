"""`tantieme commons ...` as a user sees it (embedded chain): joining by a work,
claiming the dividend, inviting with a bond, leaving; every refusal one line
that says what to do, sending nothing. On anvil, an outside tool (`cast`) reads
the pool as the CLI does and claims for a member."""

from __future__ import annotations

import re
import time
from dataclasses import replace

import pytest

from tantieme import commons, quickstart
from tantieme.addresses import ZERO_ADDRESS
from tantieme.assets import registry
from tantieme.assets.terms import preset
from tantieme.chain.accounts import DEV_PRIVATE_KEYS, dev_account
from tantieme.chain.deploy import LOCAL_COMMONS, deploy_commons_pool
from tantieme.node import Node
from tantieme.quickstart import SAMPLES_DIR, Catalog, creator_account
from tantieme.simulation.rules import Rules

from .conftest import run, run_json

ONE = 10**18
FRIEND = dev_account(6)


@pytest.fixture
def initialised(init_embedded):
    init_embedded()
    return run_json("init")


def balance() -> int:
    return int(run_json("balance")["balance"])


def refused(*args: str) -> str:
    """Run a command that must fail: its one-line error (the JSON form says it is the pool's refusal)."""
    assert run_json(*args, ok=False)["kind"] == "CommonsError"
    return " ".join(run(*args, ok=False).output.split())


def test_commons__join_claim_invite_leave(initialised, tmp_path, json_rules):
    me = initialised["address"]
    status = run_json("commons", "status")
    json_rules(status)
    assert (status["member"], status["receives_the_tax"], status["members"], status["funds"]) == (False, True, 0, "0")

    before = balance()
    assert "not a member: ask a member to invite you (`tantieme commons invite`) or register a work" in refused(
        "commons", "claim")
    assert "owns no registered work that could admit it" in refused("commons", "join")
    assert "only members invite" in refused("commons", "invite", FRIEND.address)
    work = tmp_path / "w.md"
    work.write_text("# Roof Bees\n\nFour hives.")
    run("register", str(work), "--terms", "open")
    joined = run_json("commons", "join")
    json_rules(joined)
    assert (joined["member"], joined["work"], joined["inviter"]) == (me, 1, None)
    assert "nothing to claim: the pool holds no dividend funds yet" in refused("commons", "claim")

    pool = status["pool"]
    run("transfer", pool, "3")  # the machine tax, as the ledger pays it
    claimed = run_json("commons", "claim")
    json_rules(claimed)
    assert (claimed["amount"], claimed["days"], claimed["day"]) == (str(3 * ONE * 9 // 10 // 30), 1, 1)
    assert balance() == before - 3 * ONE + int(claimed["amount"])
    again = refused("commons", "claim")
    next_day = run_json("commons", "status")["next_claim_at"]
    assert f"already claimed today; next claim at {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime(next_day))}" in again
    assert balance() == before - 3 * ONE + int(claimed["amount"])  # refusals send nothing

    assert "you cannot invite yourself" in refused("commons", "invite", me)
    invited = run_json("commons", "invite", FRIEND.address)
    json_rules(invited)
    assert (invited["member"], invited["inviter"], invited["bond"]) == (FRIEND.address, me, str(ONE))
    assert f"{FRIEND.address} is a member already" in refused("commons", "invite", FRIEND.address)
    friend = run_json("commons", "status", FRIEND.address)
    assert (friend["member"], friend["inviter"], friend["bonded"]) == (True, me, str(ONE))
    assert balance() == before - 4 * ONE + int(claimed["amount"])

    with Node.open() as node:  # the friend leaves: the bond comes back to whoever bonded it
        commons.leave(node.as_account(FRIEND))
    assert balance() == before - 3 * ONE + int(claimed["amount"])
    left = run_json("commons", "leave")
    assert (left["member"], left["work"]) == (me, 1)
    assert run_json("commons", "status")["members"] == 0
    assert "not a member" in refused("commons", "leave")
    assert run_json("commons", "join")["work"] == 1  # the work admits again


def test_commons__join_by_someone_elses_work__refused(initialised, tmp_path):
    work = tmp_path / "w.md"
    work.write_text("# Roof Bees\n\nFour hives.")
    run("register", str(work), "--terms", "open")
    with Node.open() as node:
        friend = node.as_account(FRIEND)
        with pytest.raises(commons.CommonsError, match="work #1 is not .*'s: join with a work you own"):
            commons.join(friend, 1)
        with pytest.raises(commons.CommonsError, match="there is no asset #9"):
            commons.join(friend, 9)
        assert not commons.status(friend).member


def test_commons__read_and_claimed_by_cast__as_the_cli_says(anvil, cast, tmp_path):
    """An outside tool (Foundry's `cast`) reads the pool as `commons status --json` does, and a
    member claims with it (`cast send`, the member's key): the CLI then reads the claim."""
    rpc = ("--rpc-url", anvil)
    member = run_json("init", "--chain", "rpc", "--rpc-url", anvil)["address"]  # dev account 0's key
    work = tmp_path / "w.md"
    work.write_text("# Roof Bees\n\nFour hives.")
    run("register", str(work), "--terms", "open")
    run("commons", "join")
    pool = run_json("commons", "status")["pool"]
    run("transfer", pool, "3")

    status = run_json("commons", "status", member)
    assert status["claimable"] == str(3 * ONE * 9 // 10 // 30)
    read = {
        "daily_amount": "todayAmount()(uint256)", "funds": "funds()(uint256)", "members": "memberCount()(uint256)",
        "day": "currentDay()(uint256)", "bonds_held": "bondsHeld()(uint256)", "total_claimed": "totalClaimed()(uint256)",
    }
    assert {key: int(cast("call", pool, sig, *rpc)[0]) for key, sig in read.items()} == {
        key: int(status[key]) for key in read}
    assert cast("call", pool, "claimable(address)(uint256)", member, *rpc) == [int(status["claimable"])]
    assert cast("call", pool, "members(address)((bool,uint256,uint256,address,uint256))", member, *rpc) == [
        [status["member"], status["last_claimed"], status["work"], ZERO_ADDRESS, int(status["bonded"])]]

    before = balance()
    receipt = cast("send", pool, "claim()", "--private-key", DEV_PRIVATE_KEYS[0], *rpc)
    assert receipt["status"] == "0x1"
    assert balance() - before == int(status["claimable"])
    claimed = run_json("commons", "status", member)
    assert (claimed["claimable"], claimed["last_claimed"], claimed["total_claimed"]) == (
        "0", status["day"], status["claimable"])
    refused = cast("send", pool, "claim()", "--private-key", DEV_PRIVATE_KEYS[0], *rpc, ok=False)
    assert re.search(r"execution reverted: (.+?), data:", refused)[1] == "commons_pool: already claimed today"


def test_commons__a_dao_sets_a_new_pool__status_report_and_quickstart_read_it(initialised):
    """After a `set-commons` proposal to another commons pool runs, the deployment's record still
    names the first pool, but `commons status`, `report`, the simulation's rules and the
    quickstart's dividend step follow the ledger to the new one."""
    catalog = Catalog.load()
    ada = creator_account(catalog, "ada")
    with Node.open() as node:
        old = node.deployment.commons_pool
        new = deploy_commons_pool(  # a pool with a 10-day cycle, 7 days back
            node.conn, node.deployment.token, node.deployment.registry, replace(LOCAL_COMMONS, cycle_days=10, back_claim_cap=7))
        node.faucet(ada.address)
        registry.register(node.as_account(ada), SAMPLES_DIR / "ada-rooftop-bees.md", terms=preset("open"))
    run("dao", "stake", "100")
    run("dao", "handover")
    run("dao", "propose", "set-commons", new, "-d", "A pool with new rules")
    run("dao", "vote", "1", "for", "--wait")
    run("dao", "queue", "1", "--wait")
    assert run_json("dao", "execute", "1", "--wait")["state"] == "executed"
    with Node.open(readonly=True) as node:
        assert (node.deployment.commons_pool, node.ledger.functions.commons().call()) == (old, new)

    run("transfer", new, "3")  # the machine tax, as the ledger now pays it
    status = run_json("commons", "status")
    assert (status["pool"], status["receives_the_tax"], status["funds"]) == (new, True, str(3 * ONE))
    reported = run_json("report")["commons_pool"]
    assert (reported["pool"], reported["receives_the_tax"], reported["balance"]) == (new, True, str(3 * ONE))
    paid = quickstart.commons_dividend(say=lambda _line: None)  # the quickstart's last step, in this home
    assert (paid.pool, paid.member, paid.balance, paid.claimed) == (new, ada.address, 3 * ONE, 3 * ONE * 9 // 10 // 10)
    assert Rules.current()[0].cycle_days == 10
