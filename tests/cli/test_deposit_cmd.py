"""`tantieme deposit` and `withdraw` as a user sees them (embedded chain)."""

from __future__ import annotations

import time

import pytest

from tantieme.chain.accounts import dev_account

from .conftest import run, run_json

ONE = 10**18
OTHER = dev_account(6).address


@pytest.fixture
def initialised(init_embedded):
    init_embedded()
    return run_json("init")


def test_deposit_status_withdraw__round_trip(initialised, json_rules, monkeypatch):
    node = initialised["address"]
    balance = int(run_json("balance")["balance"])
    done = run_json("deposit", "2.5")
    json_rules(done)
    assert (done["deposited"], done["deposit"], done["operator"]) == (str(25 * ONE // 10), str(25 * ONE // 10), node)
    assert done["tx"].startswith("0x")
    assert int(run_json("balance")["balance"]) == balance - 25 * ONE // 10

    assert "deposit 2.5 TAI with" in run("deposit", "--status").output
    requested = run_json("withdraw", "--request", "1")
    json_rules(requested)
    assert requested["requested"] == str(ONE)
    assert requested["ready_at"] >= int(time.time()) + 2 * 86_400 - 5
    status = run_json("deposit", "--status")
    json_rules(status)
    assert (status["deposit"], status["withdrawing"], status["unsettled"], status["available"]) == (
        str(25 * ONE // 10), str(ONE), "0", str(15 * ONE // 10)
    )

    early = run("withdraw", ok=False)
    assert "is ready in 4" in early.output and "run `tantieme withdraw` then" in early.output
    assert run_json("withdraw", ok=False)["kind"] == "PaymentError"

    later = time.time() + 2 * 86_400 + 60
    monkeypatch.setattr(time, "time", lambda: later)
    run("transfer", OTHER, "0.001")  # a block at the new time
    withdrawn = run_json("withdraw")
    json_rules(withdrawn)
    assert withdrawn["withdrawn"] == str(ONE)
    assert run_json("deposit", "--status")["deposit"] == str(15 * ONE // 10)
    assert "no withdrawal requested" in run("withdraw", ok=False).output


def test_deposit__for_another_operator(initialised):
    run("deposit", "1", "--operator", OTHER)
    assert run_json("deposit", "--status", "--operator", OTHER)["deposit"] == str(ONE)
    assert run_json("deposit", "--status")["deposit"] == "0"


@pytest.mark.parametrize(
    "args, message",
    [
        (("deposit",), "give an AMOUNT to deposit, or --status"),
        (("deposit", "1", "--status"), "give an AMOUNT to deposit, or --status"),
        (("deposit", "0"), "greater than zero"),
        (("deposit", "10000000"), "less than the 10000000 TAI to deposit"),
        (("deposit", "1", "--operator", "0x12"), "0x12"),
        (("withdraw", "--request", "1"), "request between 0 and that"),
        (("withdraw",), "no withdrawal requested"),
        (("deposit", "1", "--node", "http://127.0.0.1:9", "--operator", OTHER), "leave out --operator"),
        (("deposit", "1", "--node", "ftp://127.0.0.1:9"), "is not a node URL"),
        (("deposit", "1", "--node", "http://127.0.0.1:9"), "cannot reach the node at http://127.0.0.1:9"),
        (("ask", "--node", "http://127.0.0.1:9", "--deposit", "Bees?"), "cannot reach the node at http://127.0.0.1:9"),
        (("ask", "--deposit", "Bees?"), "--deposit is for asking a remote node"),
    ],
)
def test_deposit_withdraw__bad_input__one_clear_line(initialised, args, message):
    result = run(*args, ok=False)
    assert message in result.output
    assert "Traceback" not in result.output


def test_settle__settles_the_deposit_vouchers_too(initialised):
    """A remote payer's signed voucher settles with `tantieme settle`, from its deposit."""
    from tantieme.ledger.journal import journal
    from tantieme.node import Node
    from tantieme.payments import deposit

    account = dev_account(5)
    with Node.open() as node:
        node.faucet(account.address)
        payer = node.as_account(account)
        deposit.deposit(payer, ONE, node.address)
        desk = deposit.Desk(node, journal())
        record = desk.invoice(
            account.address, question="q", answer="a", details={}, model=1, sources=[2], weights=[0.5],
            prompt_tokens=10, completion_tokens=5, fee=10**15,
        )
        terms = desk.terms(account.address)
        desk.accept(deposit.pay(payer, account, terms, record, kept=(), question="q", answer="a", max_fee=10**15))

    (done,) = run_json("settle")
    assert (done["payer"], done["records"], done["total"]) == (account.address, 1, str(10**15))
    assert run_json("settle") == []
