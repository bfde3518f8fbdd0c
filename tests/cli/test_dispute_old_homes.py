"""Disputes on an older home (embedded chain), whose royalty router predates the dispute hook
or `untag`: `init` never builds a module that could not clear a tag, warns what the home's
module cannot do and how to get it, and judging or clearing there is refused in one line that
says so, sending nothing, instead of a generic revert or a tag that can never be lifted."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import vyper

from tantieme import disputes
from tantieme.addresses import ZERO_ADDRESS
from tantieme.chain.accounts import dev_account
from tantieme.chain.deploy import LOCAL_DISPUTES, add_disputes, contract, deploy_disputes, router_marks
from tantieme.node import Node

from chain.records import record_without  # tests/chain/records.py
from .conftest import run, run_json

RIGHTFUL = dev_account(2)
OLD_ROUTER = Path(__file__).resolve().parents[1] / "contracts" / "mocks" / "router_before_untag.vy"
EVIDENCE = "https://example.org/original.html"
NO_HOOK = "this home's royalty router predates the dispute hook"
NO_UNTAG = "this home's dispute module calls `untag` on a royalty router whose code predates it"
NEW_HOME = "contracts deployed anew can (`tantieme init` in a new TANTIEME_HOME, works registered there)"


@pytest.fixture
def home(init_embedded, make_file):
    """An initialised home holding work #1 (consenting to retrieval), with 0.5 TAI pending."""
    from tantieme.assets import registry, royalties
    from tantieme.assets.terms import preset

    init_embedded()
    with Node.open() as node:
        registry.register(node, make_file("# Bees\n\nFour hives fit on a roof."), terms=preset("open"), title="Bees")
        royalties.pay(node, 1, 10**18 // 2)


def old_router(node: Node) -> str:
    """A router as older homes have it (the hook, no `untag`), over this home's registry."""
    compiled = vyper.compile_code(OLD_ROUTER.read_text(), output_formats=["abi", "bytecode"])
    factory = node.conn.w3.eth.contract(abi=compiled["abi"], bytecode=compiled["bytecode"])
    return node.conn.transact(factory.constructor(node.deployment.registry))["contractAddress"]


def with_module(router: str) -> None:
    """This home's record naming a dispute module built for `router` (zero: without the hook)."""
    with Node.open() as node:
        d = node.deployment
        module = deploy_disputes(node.conn, d.token, d.registry, router, LOCAL_DISPUTES)
        record_without(node, "disputes", disputes=module)


def refused(*args: str) -> str:
    assert run_json(*args, ok=False)["kind"] == "DisputeError"
    return " ".join(run(*args, ok=False).output.split())


def test_upgrade__a_router_without_untag__gets_a_module_that_can_clear(home):
    with Node.open() as node:
        assert router_marks(node.conn, node.deployment.router)
        router = old_router(node)
        assert not router_marks(node.conn, router)
        older = replace(node.deployment, router=router, disputes=None)
        module = contract(node.conn, "dispute_module", add_disputes(node.conn, older, LOCAL_DISPUTES).disputes)
        # The hook is left unused rather than a tag made unclearable: judgements tag and clear.
        assert module.functions.router().call() == ZERO_ADDRESS
    assert run_json("init")["disputes"] is None  # this home's own module does everything


def test_zero_router_home__init_warns__redirecting_refused_in_one_line(home):
    with_module(ZERO_ADDRESS)
    initialised = run_json("init")
    assert initialised["disputes"].startswith(NO_HOOK) and initialised["disputes"].endswith(NEW_HOME)
    assert f"warning disputes: {NO_HOOK}" in " ".join(run("init").output.split())
    run("dispute", "raise", "1", "--reason", "copied-content", "--evidence", EVIDENCE)
    assert f"--to cannot be honoured: {NO_HOOK}" in refused(
        "dispute", "resolve", "1", "--uphold", "--to", RIGHTFUL.address)
    upheld = run_json("dispute", "resolve", "1", "--uphold")
    assert (upheld["dispute"]["status"], upheld["redirected"], upheld["note"]) == ("upheld", "0", initialised["disputes"])
    assert run_json("show", "1")["retrieval"] == {"included": False, "reason": "tagged copied content (dispute 1)"}
    assert f"asset #1's royalties cannot be redirected: {NO_HOOK}" in refused("dispute", "redirect", "1")
    with Node.open() as node:  # the tag can be cleared: the module calls no router
        node.conn.transact(disputes.module(node).functions.clearTag(1))
    assert run_json("show", "1")["retrieval"]["included"] is True


def test_module_for_a_router_without_untag__judging_and_clearing_refused(home):
    with Node.open() as node:
        router = old_router(node)
    with_module(router)
    assert run_json("init")["disputes"].startswith(NO_UNTAG)
    run("dispute", "raise", "1", "--reason", "copied-content", "--evidence", EVIDENCE)
    assert f"upholding dispute #1 would tag asset #1 for good: {NO_UNTAG}" in refused(
        "dispute", "resolve", "1", "--uphold")
    assert run_json("dispute", "list", "--open")[0]["status"] == "open"  # nothing was sent
    with Node.open() as node:  # judged anyway, straight on the contract
        node.conn.transact(disputes.module(node).functions.uphold(1, RIGHTFUL.address))
    run("dao", "stake", "100")
    run("dao", "handover")
    assert f"asset #1's tag cannot be cleared: {NO_UNTAG}" in refused("dispute", "clear", "1", "-d", "Appeal")
