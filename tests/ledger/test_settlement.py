"""Recording and settling interactions on a real chain (embedded and anvil), crashes included."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pytest

from tantieme.assets import registry
from tantieme.assets.royalties import credit, uncredited
from tantieme.assets.terms import preset
from tantieme.chain.accounts import dev_account
from tantieme.errors import LedgerError
from tantieme.ledger import settlement
from tantieme.ledger.netting import net

PAYER = dev_account(5)


@pytest.fixture
def market(node):
    """Two works and a model on `node`, and a funded payer."""
    works = [registry.register_hash(node, os.urandom(32), kind="work", terms=preset("open"), title=f"w{i}", media_type="text/plain").id for i in range(2)]
    model = registry.register_hash(node, os.urandom(32), kind="model", terms=preset("open"), title="m", media_type="application/octet-stream").id
    node.faucet(PAYER.address)
    return works, model


def _record(node, market, fee: int, i: int = 0):
    works, model = market
    return settlement.record(
        node, PAYER, model=model, question=f"q{i}", answer=f"a{i}", sources=works, weights=[0.5, 0.25],
        prompt_tokens=100, completion_tokens=10, fee=fee, details={},
    )


def _pending(node, assets):
    return {a: node.router.functions.pending(a).call() for a in assets}


def test_settle__batch_pays_each_recipient_once_and_conserves_tokens(node, market):
    works, model = market
    rows = [_record(node, market, fee=10**15 + i, i=i) for i in range(5)]
    payer_before = node.balance(PAYER.address)
    commons_before = node.balance(node.deployment.commons)
    operator_before = node.balance(node.address)
    pending_before = _pending(node, [*works, model])

    (done,) = settlement.settle(node, {PAYER.address: PAYER})

    expected = net([r.signed.record for r in rows], 500, 1000)
    assert done.records == 5
    assert done.total == expected.total == sum(10**15 + i for i in range(5))
    assert node.balance(PAYER.address) == payer_before - expected.total
    assert node.balance(node.deployment.commons) - commons_before == expected.split.commons
    assert node.balance(node.address) - operator_before == expected.split.operator
    assert done.owed == expected.owed()
    # The assets' part waits in the payer's pool until the assets credit it by proof.
    pool = node.ledger.functions.assetPool(PAYER.address, node.address).call()
    assert node.router.functions.pools(pool).call()[1] == expected.split.assets
    assert _pending(node, [*works, model]) == pending_before
    assert uncredited(node) == expected.owed()
    assert credit(node, [*works, model]) == expected.split.assets
    after = _pending(node, [*works, model])
    assert {a: after[a] - pending_before[a] for a in after} == {a: expected.owed().get(a, 0) for a in after}
    assert node.router.functions.pools(pool).call()[1] == 0
    assert uncredited(node) == {}
    assert settlement.settle(node, {PAYER.address: PAYER}) == []


def test_settle__many_batches__one_credit_each_asset(node, market):
    """The pool's tree holds cumulative amounts: one proof per asset covers every batch."""
    works, model = market
    owed: dict[int, int] = {}
    for i in range(3):
        _record(node, market, fee=10**15 + i, i=i)
        (done,) = settlement.settle(node, {PAYER.address: PAYER})
        for asset, amount in done.owed.items():
            owed[asset] = owed.get(asset, 0) + amount
    before = _pending(node, [*works, model])
    assert credit(node, [works[0]]) == owed[works[0]]
    assert credit(node, [*works, model]) == sum(owed.values()) - owed[works[0]]
    after = _pending(node, [*works, model])
    assert {a: after[a] - before[a] for a in after} == owed


def test_settle__split_changed_after_signing__signs_again_under_the_new_split(node, market):
    """A journaled batch signed under the old split is signed again by its payer
    under the current one (same records, root and nonce), and pays that."""
    works, model = market
    rows = [_record(node, market, fee=10**15 + i, i=i) for i in range(2)]
    book = settlement.journal()
    records = book.pending(PAYER.address, node.conn.chain_id, node.deployment.ledger, 100)
    row = settlement._sign_batch(node, PAYER, records, book)
    node.conn.transact(node.ledger.functions.setSplit(2_000, 300), gas=100_000)
    commons_before = node.balance(node.deployment.commons)

    (done,) = settlement.settle(node, {PAYER.address: PAYER})

    expected = net([r.signed.record for r in rows], 2_000, 300)
    signed = book.batch(row.id).signed.batch
    assert (signed.commons_bps, signed.operator_bps, signed.root.hex()) == (2_000, 300, row.signed.batch.root.hex())
    assert done.owed == expected.owed()
    assert node.balance(node.deployment.commons) - commons_before == expected.split.commons


def test_finish__split_changed_and_no_payer_key__clear_error(node, market):
    _record(node, market, fee=10**15)
    book = settlement.journal()
    records = book.pending(PAYER.address, node.conn.chain_id, node.deployment.ledger, 100)
    row = settlement._sign_batch(node, PAYER, records, book)
    node.conn.transact(node.ledger.functions.setSplit(2_000, 300), gas=100_000)
    with pytest.raises(LedgerError, match="split changed since batch .* only its payer"):
        settlement.finish(node, row, {}, book)


def test_settle__journal_older_than_the_chain__refused_and_nothing_paid(node, market, tantieme_home):
    """After restoring an older journal its pending records may already be paid: settle refuses
    (and doctor says why) instead of charging the payer again."""
    import shutil
    import sqlite3

    from tantieme.maintenance import doctor

    _record(node, market, fee=10**15, i=0)
    journal_db, older = tantieme_home / "ledger.db", tantieme_home.parent / "older.db"
    source, copy = sqlite3.connect(journal_db), sqlite3.connect(older)
    source.backup(copy)
    source.close(), copy.close()
    settlement.settle(node, {PAYER.address: PAYER})
    for leftover in tantieme_home.glob("ledger.db*"):
        leftover.unlink()
    shutil.copy(older, journal_db)
    _record(node, market, fee=10**15, i=1)
    balance = node.balance(PAYER.address)

    with pytest.raises(LedgerError, match="anchored 1 batch of .* journal knows 0: the journal is older than the chain"):
        settlement.settle(node, {PAYER.address: PAYER})

    assert node.balance(PAYER.address) == balance
    assert settlement.journal().unsettled_batches() == []
    (finding,) = [f for f in doctor.run().findings if f.name == "journal"]
    assert not finding.ok and f"{PAYER.address}: 1 batches anchored, 0 journaled" in finding.detail
    assert "restore the newest backup" in finding.fix


def test_finish__already_anchored_batch__marks_settled_without_paying_again(node, market):
    _record(node, market, fee=10**15)
    (done,) = settlement.settle(node, {PAYER.address: PAYER})
    book = settlement.journal()
    row = book.batch(done.batch)
    balance = node.balance(PAYER.address)
    again = settlement.finish(node, row, {PAYER.address: PAYER}, book)
    assert again.chain_batch_id == done.chain_batch_id
    assert node.balance(PAYER.address) == balance


def test_replayed_batch__is_rejected_by_the_ledger(node, market):
    _record(node, market, fee=10**15)
    (done,) = settlement.settle(node, {PAYER.address: PAYER})
    signed = settlement.journal().batch(done.batch).signed
    args = (settlement._batch_struct(signed.batch), PAYER.address, *settlement._vrs(signed.signature), "replay")
    from tantieme.errors import ChainError

    with pytest.raises(ChainError, match="^ledger: "):
        node.conn.transact(node.ledger.functions.settle(*args), gas=600_000)


def test_record__signer_is_not_the_payer__clear_error(node, market):
    works, model = market
    from tantieme.ledger.records import InteractionRecord

    rec = InteractionRecord(
        payer=PAYER.address, operator=node.address, model=model, prompt_hash=b"\x01" * 32, output_hash=b"\x02" * 32,
        sources=(), weights=(), prompt_tokens=1, completion_tokens=1, fee=1, nonce=1, timestamp=1,
    )
    with pytest.raises(LedgerError, match="must sign this record"):
        rec.sign(dev_account(6), settlement.domain(node))


_CRASHING_SETTLE = textwrap.dedent(
    """
    import os, signal, sys
    from tantieme.chain.accounts import dev_account
    from tantieme.ledger import settlement
    from tantieme.node import Node

    where = sys.argv[1]
    payer = dev_account(5)
    node = Node.open()
    real = node.conn.transact

    def dying(call, gas=None):
        if where == "before-send":
            os.kill(os.getpid(), signal.SIGKILL)
        receipt = real(call, gas)
        os.kill(os.getpid(), signal.SIGKILL)

    node.conn.transact = dying
    settlement.settle(node, {payer.address: payer})
    """
)


@pytest.mark.parametrize("where", ["before-send", "after-mined"])
def test_settle__killed_mid_settlement__restart_completes_once(tmp_path, init_embedded, where):
    from tantieme.node import Node

    init_embedded()
    with Node.open() as node:
        market = ([registry.register_hash(node, os.urandom(32), kind="work", terms=preset("open"), title="w", media_type="text/plain").id], registry.register_hash(node, os.urandom(32), kind="model", terms=preset("open"), title="m", media_type="x/y").id)
        node.faucet(PAYER.address)
        rows = [settlement.record(node, PAYER, model=market[1], question=f"q{i}", answer="a", sources=market[0], weights=[0.5], prompt_tokens=1, completion_tokens=1, fee=10**15, details={}) for i in range(3)]
        before = node.balance(PAYER.address)

    script = tmp_path / "crash.py"
    script.write_text(_CRASHING_SETTLE)
    proc = subprocess.run([sys.executable, str(script), where], env=os.environ, capture_output=True, timeout=120)
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()

    book = settlement.journal()
    assert [r.id for r in book.records()] == sorted((r.id for r in rows), reverse=True)
    assert len(book.unsettled_batches()) == 1
    with Node.open() as node:
        (done,) = settlement.settle(node, {PAYER.address: PAYER})
        assert done.records == 3
        assert node.balance(PAYER.address) == before - 3 * 10**15
        assert node.ledger.functions.batchCount().call() == 1
        assert settlement.settle(node, {PAYER.address: PAYER}) == []
        assert credit(node, [*market[0], market[1]]) == done.total - done.commons - done.operator
        assert sum(node.router.functions.pending(a).call() for a in [*market[0], market[1]]) == sum(done.owed.values())
    assert all(r.batch_id == done.batch for r in book.records())


def test_finish__expired_batch_signature__is_signed_again_and_settles(node, market):
    import time as time_mod

    _record(node, market, fee=10**15)
    book = settlement.journal()
    records = book.pending(PAYER.address, node.conn.chain_id, node.deployment.ledger, 100)
    row = settlement._sign_batch(node, PAYER, records, book)
    stale = settlement._with_deadline(row.signed.batch)
    data = stale.to_dict()
    data["deadline"] = int(time_mod.time()) - 1
    expired = type(stale).from_dict(data).sign(PAYER, settlement.domain(node))
    book.resign(row.id, expired)
    (done,) = settlement.settle(node, {PAYER.address: PAYER})
    assert done.batch == row.id
    assert book.batch(row.id).signed.batch.deadline > time_mod.time()
