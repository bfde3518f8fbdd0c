"""Bundles: export an answer, verify it from the bundle and the chain alone (embedded and anvil)."""

from __future__ import annotations

import base64
import copy
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tantieme import interaction
from tantieme.chain.accounts import dev_account
from tantieme.errors import LedgerError
from tantieme.ledger import settlement
from tantieme.ledger.bundle import BUNDLE_FORMAT, export
from tantieme.ledger.verify import verify
from tantieme.provenance import ensure_ca

PAYER = dev_account(5)
TANTIEME = Path(sys.executable).with_name("tantieme")


def settle(node):
    return settlement.settle(node, {PAYER.address: PAYER})


def checks(report) -> dict[str, bool]:
    return {c.name: c.ok for c in report.checks}


# -- the library --------------------------------------------------------------


def test_export_verify__pending_then_verified(node, make_answer):
    row = make_answer(node)
    pending = export(node, settlement.journal(), row.digest)
    assert pending["format"] == BUNDLE_FORMAT and pending["status"] == "pending"
    assert pending["batch"] is None and pending["proof"] is None
    report = verify(node.conn, pending)
    assert report.status == "pending" and report.exit_code == 3, report.checks
    assert set(checks(report)) == {
        "ledger", "prompt hash", "output hash", "record digest", "payer signature",
        "content credential", "content credential (JSON)", "answer document",
    }

    (done,) = settle(node)
    bundle = export(node, settlement.journal(), row.digest)
    assert bundle["status"] == "settled"
    assert bundle["anchor"] == {
        "chain_id": node.conn.chain_id, "ledger": node.deployment.ledger, "registry": node.deployment.registry,
        "batch_id": done.chain_batch_id, "tx_hash": done.tx, "root": done.root,
    }
    report = verify(node.conn, bundle)
    assert report.status == "verified" and report.exit_code == 0, report.checks
    assert {"batch signature", "merkle proof", "anchored", "proof on chain", "settlement transaction"} <= set(checks(report))
    assert sum(link.paid for link in report.provenance) + report.commons + report.operator == row.signed.record.fee


def test_verify__split_changed_after_settlement__reports_what_the_batch_paid(node, make_answer):
    """Provenance follows the split the payer signed, not the ledger's current one."""
    row = make_answer(node)
    settle(node)
    bundle = export(node, settlement.journal(), row.digest)
    paid = verify(node.conn, bundle)
    node.conn.transact(node.ledger.functions.setSplit(2_000, 300), gas=100_000)
    later = verify(node.conn, bundle)
    assert later.status == "verified", later.checks
    assert (later.commons, later.operator) == (paid.commons, paid.operator)
    assert (later.commons, later.operator) == (row.signed.record.fee * 500 // 10_000, row.signed.record.fee * 1_000 // 10_000)
    assert [(link.asset, link.paid) for link in later.provenance] == [(link.asset, link.paid) for link in paid.provenance]


def test_bundle__is_plain_json_with_big_integers_as_strings(node, make_answer):
    row = make_answer(node, fee=10**17)  # above 2**53
    settle(node)
    bundle = json.loads(json.dumps(export(node, settlement.journal(), row.digest)))
    message = bundle["record"]["typed_data"]["message"]
    assert message["nonce"] == str(row.signed.record.nonce) and isinstance(message["model"], int)
    assert bundle["batch"]["typed_data"]["message"]["total"] == str(10**17)
    assert bundle["batch"]["typed_data"]["message"]["count"] == 1
    assert base64.b64decode(bundle["answer"]["text_credential"])
    assert bundle["ca"]["root_certificate"].startswith("-----BEGIN CERTIFICATE-----")
    assert "answering node's own certificate authority" in bundle["ca"]["note"]
    assert verify(node.conn, bundle).status == "verified"


def _set(path: tuple, value):
    def change(bundle):
        target = bundle
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value(target[path[-1]]) if callable(value) else value
    return change


def _flip_hex(text: str) -> str:
    return text[:-1] + ("0" if text[-1] != "0" else "1")


TAMPERING = {
    "fee": (_set(("record", "typed_data", "message", "fee"), lambda f: str(int(f) * 2)), {"record digest", "payer signature", "merkle proof", "proof on chain"}),
    "signature": (_set(("record", "signature"), lambda s: "0x" + "11" * 32 + s[66:]), {"payer signature"}),
    "question": (_set(("question",), "How many hives fit on a balcony?"), {"prompt hash", "answer document"}),
    "answer": (_set(("answer", "text"), "Forty hives."), {"output hash", "content credential", "answer document"}),
    "credential": (_set(("answer", "document_credential"), lambda c: base64.b64encode(base64.b64decode(c)[:-40]).decode()), {"content credential (JSON)"}),
    "proof": (_set(("proof",), lambda p: [_flip_hex(p[0])] + p[1:]), {"merkle proof", "proof on chain"}),
    "batch id": (_set(("anchor", "batch_id"), 2), {"anchored", "proof on chain", "settlement transaction"}),
    "batch": (_set(("batch", "typed_data", "message", "count"), 5), {"batch signature", "anchored"}),
    "no batch": (_set(("batch",), None), {"batch signature"}),
    "malformed batch": (_set(("batch", "typed_data", "message", "root"), "0x1234"), {"batch signature"}),
    "ledger": (_set(("record", "typed_data", "domain", "verifyingContract"), dev_account(7).address),
               {"ledger", "record digest", "payer signature", "batch signature", "content credential", "content credential (JSON)"}),
}


@pytest.mark.parametrize("what", sorted(TAMPERING))
def test_verify__tampered_bundle__fails_with_the_reason(tantieme_home, make_answer, init_embedded, what):
    from tantieme.node import Node

    init_embedded()
    with Node.open() as node:
        row = make_answer(node)
        make_answer(node, question="How hot is the oven?", answer="250 degrees.")
        settle(node)
        bundle = export(node, settlement.journal(), row.digest)
        assert verify(node.conn, bundle).status == "verified"
        change, failing = TAMPERING[what]
        tampered = copy.deepcopy(bundle)
        change(tampered)
        report = verify(node.conn, tampered)
    assert report.status == "failed" and report.exit_code == 1
    assert {name for name, ok in checks(report).items() if not ok} == failing


def test_verify__another_ca__credentials_not_trusted(node, make_answer, tmp_path):
    row = make_answer(node)
    other = ensure_ca(tmp_path / "other-ca", "someone else").root_cert_pem
    report = verify(node.conn, export(node, settlement.journal(), row.digest), trust_anchor_pem=other)
    failed = {c.name: c.detail for c in report.checks if not c.ok}
    assert set(failed) == {"content credential", "content credential (JSON)"}
    assert failed["content credential"].startswith("C2PA Valid")


def test_verify__bundle_of_another_chain__clear_error(node, make_answer):
    bundle = export(node, settlement.journal(), make_answer(node).digest)
    bundle["record"]["typed_data"]["domain"]["chainId"] = 1
    with pytest.raises(LedgerError, match="anchored on chain 1 but this node is on chain"):
        verify(node.conn, bundle)


# -- two homes, one chain: the command line in other processes ---------------


def tantieme(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TANTIEME_HOME": str(home)}
    return subprocess.run([str(TANTIEME), *args], env=env, capture_output=True, text=True, timeout=300)


@pytest.mark.timeout(600)
def test_two_homes__embedded__verify_from_the_bundle_and_the_chain_alone(tantieme_home, make_answer, init_embedded, tmp_path):
    """Home A answers and holds its chain open; home B has no journal and reads A's chain."""
    from tantieme.node import Node

    init_embedded()
    with Node.open() as node:
        _two_homes_embedded(node, make_answer, tantieme_home, tmp_path)


def _two_homes_embedded(node, make_answer, tantieme_home, tmp_path):
    row = make_answer(node)
    elsewhere = tmp_path / "verifier"
    bundle_file = tmp_path / "pending.json"
    (tmp_path / "pending.json").write_text(json.dumps(export(node, settlement.journal(), row.digest)))

    pending = tantieme(elsewhere, "verify", str(bundle_file), "--chain-dir", str(tantieme_home / "chain"))
    assert pending.returncode == 3, pending.stdout + pending.stderr
    assert "pending: recorded and signed by its payer, not settled yet" in pending.stdout

    settle(node)
    bundle_file = tmp_path / "bundle.json"
    bundle_file.write_text(json.dumps(export(node, settlement.journal(), row.digest)))
    done = tantieme(elsewhere, "verify", str(bundle_file), "--chain-dir", str(tantieme_home / "chain"), "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout)
    assert report["status"] == "verified" and all(c["ok"] for c in report["checks"])
    assert not (elsewhere / "ledger.db").exists()  # no journal of its own

    which = tantieme(elsewhere, "verify", str(bundle_file), "--json")
    assert which.returncode == 1 and "which chain? the answer is anchored on chain" in json.loads(which.stdout)["error"]

    answer = interaction.answer_file(row)  # the answer file alone, in a home without its record
    assert tantieme(elsewhere, "init").returncode == 0
    own_chain = tantieme(elsewhere, "verify", str(bundle_file), "--json")  # its own, other embedded chain
    assert own_chain.returncode == 1
    failed = {c["name"]: c["detail"] for c in json.loads(own_chain.stdout)["checks"] if not c["ok"]}
    assert "read the answering node's with --chain-dir DIR" in failed["anchored"]
    alone = tantieme(elsewhere, "verify", str(answer), "--json")
    assert alone.returncode == 1
    assert "which this node's journal does not hold: verify the answer's bundle instead" in json.loads(alone.stdout)["error"]


@pytest.mark.timeout(600)
def test_two_homes__anvil__verifier_with_its_own_node(anvil, tantieme_home, make_answer, tmp_path):
    answerer, verifier = tantieme_home, tmp_path / "verifier"
    assert tantieme(answerer, "init", "--chain", "rpc", "--rpc-url", anvil).returncode == 0
    from tantieme.node import Node

    with Node.open() as node:
        row = make_answer(node)
    exported = tantieme(answerer, "export", row.digest[:12], "-o", str(tmp_path / "pending.json"), "--json")
    assert json.loads(exported.stdout)["status"] == "pending"
    with Node.open() as node:
        settle(node)
    exported = tantieme(answerer, "export", str(row.id), "-o", str(tmp_path / "bundle.json"), "--json")
    assert exported.returncode == 0, exported.stderr

    # The verifier sets up its own node on the same chain: its own contracts, no journal of A's.
    assert tantieme(verifier, "init", "--chain", "rpc", "--rpc-url", anvil).returncode == 0
    assert tantieme(verifier, "verify", str(tmp_path / "pending.json")).returncode == 3
    done = tantieme(verifier, "verify", str(tmp_path / "bundle.json"), "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads(done.stdout)["status"] == "verified"
    bare = tantieme(tmp_path / "bare", "verify", str(tmp_path / "bundle.json"), "--rpc-url", anvil)
    assert bare.returncode == 0 and "verified" in bare.stdout
