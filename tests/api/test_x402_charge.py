"""The served app paid over x402: the payment settles before the answer is sent. A payer who
spends its balance or its authorization while its question is answered gets a 402 and no
answer; the node is not charged a split for it (no record stays), and a paid answer carries
the settlement in x402's `PAYMENT-RESPONSE` header."""

from __future__ import annotations

import pytest
from x402.http import decode_payment_required_header, decode_payment_response_header, encode_payment_signature_header

from tantieme.api import X402
from tantieme.chain.accounts import dev_account
from tantieme.ledger.settlement import journal
from tantieme.node import Node

from .conftest import chat, records

ASKER, ELSEWHERE = dev_account(6), dev_account(7)


@pytest.fixture
def paid(served_home, make_client):
    """A service paid over x402 (in-process facilitator, embedded chain), a funded asker, and
    a reader of the chain."""
    with Node.open() as writer:
        writer.faucet(ASKER.address)
    reader = Node.open(readonly=True)
    account = dev_account(0)
    client = make_client(X402(Node.open(readonly=True, account=account), account))
    yield client, reader
    reader.close()


def _payment_header(client, reader, body: dict) -> tuple[str, dict]:
    """The official x402 client's payment of `body`'s quote, and its EIP-3009 authorization."""
    from x402 import x402ClientSync
    from x402.mechanisms.evm import EthAccountSigner
    from x402.mechanisms.evm.exact import register_exact_evm_client

    unpaid = client.post("/v1/chat/completions", json=body)
    assert unpaid.status_code == 402
    payer = register_exact_evm_client(x402ClientSync(), EthAccountSigner(ASKER))
    payer.set_spend_controls({"allowed_assets": [{"network": f"eip155:{reader.conn.chain_id}", "asset": reader.deployment.token}]})
    payload = payer.create_payment_payload(decode_payment_required_header(unpaid.headers["PAYMENT-REQUIRED"]))
    return encode_payment_signature_header(payload), dict(payload.payload["authorization"])


def _nonce_used_elsewhere(reader: Node, authorization: dict) -> None:
    """ASKER signs an EIP-3009 transfer of its whole balance to ELSEWHERE that reuses
    `authorization`'s nonce, and ELSEWHERE receives it: the node's authorization can no longer be used."""
    from tantieme.chain.permit import sign_receive_authorization

    nonce = bytes.fromhex(authorization["nonce"][2:])
    value = reader.balance(ASKER.address)
    v, r, s = sign_receive_authorization(ASKER, reader.token.functions.eip712Domain().call(), ELSEWHERE.address,
                                         value, 0, 2**48, nonce)
    with Node.open(account=ELSEWHERE) as payee:
        payee.conn.transact(payee.token.functions.receiveWithAuthorization(
            ASKER.address, ELSEWHERE.address, value, 0, 2**48, nonce, v, r, s,
        ), gas=150_000)


def _drain(reader: Node, _authorization: dict) -> None:
    """ASKER sends its whole balance to ELSEWHERE."""
    with Node.open(account=ASKER) as asker:
        asker.conn.transact(asker.token.functions.transfer(ELSEWHERE.address, asker.balance(ASKER.address)), gas=100_000)


@pytest.mark.parametrize("spend", [_drain, _nonce_used_elsewhere], ids=["balance drained", "nonce used elsewhere"])
def test_payer_spends_while_answered__402_no_answer_no_record(paid, stub_model, monkeypatch, spend):
    client, reader = paid
    body = chat(max_tokens=16)
    header, authorization = _payment_header(client, reader, body)
    answer = stub_model.generate

    def spending(self, messages, max_tokens=256, stop=()):  # between verification and delivery
        spend(reader, authorization)
        return answer(self, messages, max_tokens, stop)

    monkeypatch.setattr(stub_model, "generate", spending)
    operator = reader.balance()
    response = client.post("/v1/chat/completions", json=body, headers={"PAYMENT-SIGNATURE": header})
    assert response.status_code == 402, response.text
    error = response.json()["error"]
    assert error["message"].startswith("the payment did not settle, so the answer is withheld")
    assert "four" not in response.text.lower() and "choices" not in response.json()
    assert records() == 0  # no record: the operator pays no split for it
    book = journal()
    assert book.unfinished_payments() == []
    book.close()
    assert reader.balance() == operator and reader.balance(ASKER.address) == 0


@pytest.mark.parametrize("stream", [False, True])
def test_paid_answer__settled_before_it_is_sent__payment_response_header(paid, stream):
    client, reader = paid
    body = chat(max_tokens=16, stream=stream)
    header, authorization = _payment_header(client, reader, body)
    before = reader.balance(ASKER.address)
    response = client.post("/v1/chat/completions", json=body, headers={"PAYMENT-SIGNATURE": header})
    assert response.status_code == 200, response.text
    assert "hives." in response.text
    settled = decode_payment_response_header(response.headers["PAYMENT-RESPONSE"])
    book = journal()
    (row,) = book.records()
    payment = book.payment(row.id)
    book.close()
    assert settled.success and settled.payer == ASKER.address and settled.transaction == payment["settlement_tx"]
    receipt = reader.conn.w3.eth.get_transaction_receipt(settled.transaction)
    assert receipt["status"] == 1
    assert reader.balance(ASKER.address) == before - row.signed.record.fee  # refunded once sent (TestClient waits)
    assert payment["authorization"]["nonce"] == authorization["nonce"]


def test_credential_fails__503_nothing_settled_no_record(paid, monkeypatch):
    """The answer's content credential cannot be written: the request fails before its record is
    journaled and before the payment settles; the authorization stays unused."""
    from tantieme import interaction
    from tantieme.errors import ProvenanceError

    client, reader = paid
    body = chat(max_tokens=16)
    header, authorization = _payment_header(client, reader, body)

    def broken(*_args, **_kwargs):
        raise ProvenanceError("the node's signing key is unreadable")

    monkeypatch.setattr(interaction, "sign_answer", broken)
    before = reader.balance(ASKER.address)
    response = client.post("/v1/chat/completions", json=body, headers={"PAYMENT-SIGNATURE": header})
    assert response.status_code == 503 and "signing key is unreadable" in response.json()["error"]["message"]
    assert records() == 0 and reader.balance(ASKER.address) == before
    assert not reader.token.functions.authorizationState(ASKER.address, authorization["nonce"]).call()
    assert not interaction.answers_dir().exists() or list(interaction.answers_dir().iterdir()) == []


def test_operator_cannot_carry_the_split__503_asker_not_charged(paid):
    """Over x402 the operator's account signs the record and carries its split until the batch
    settles: when it holds too little, the node says so (503, its problem, not the asker's) and
    the asker's authorization stays unused."""
    client, reader = paid
    with Node.open(account=dev_account(0)) as operator:  # the operator's account is emptied
        operator.conn.transact(operator.token.functions.transfer(ELSEWHERE.address, operator.balance()), gas=100_000)
    body = chat(max_tokens=16)
    header, authorization = _payment_header(client, reader, body)
    before = reader.balance(ASKER.address)
    response = client.post("/v1/chat/completions", json=body, headers={"PAYMENT-SIGNATURE": header})
    assert response.status_code == 503, response.text
    error = response.json()["error"]
    assert error["code"] == "node_unfunded" and "you were not charged" in error["message"]
    assert records() == 0 and reader.balance(ASKER.address) == before
    nonce = bytes.fromhex(authorization["nonce"][2:])
    assert not reader.token.functions.authorizationState(ASKER.address, nonce).call()
