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


def _payment_header(client, reader, body: dict, account=ASKER) -> tuple[str, dict]:
    """The official x402 client's payment of `body`'s quote by `account`, and its EIP-3009 authorization."""
    from x402 import x402ClientSync
    from x402.mechanisms.evm import EthAccountSigner
    from x402.mechanisms.evm.exact import register_exact_evm_client

    unpaid = client.post("/v1/chat/completions", json=body)
    assert unpaid.status_code == 402
    payer = register_exact_evm_client(x402ClientSync(), EthAccountSigner(account))
    payer.set_spend_controls({"allowed_assets": [{"network": f"eip155:{reader.conn.chain_id}", "asset": reader.deployment.token}]})
    payload = payer.create_payment_payload(decode_payment_required_header(unpaid.headers["PAYMENT-REQUIRED"]))
    return encode_payment_signature_header(payload), dict(payload.payload["authorization"])


def _paid_request(client, reader, body: dict | None = None):
    """`body` (a 16-token question) paid with the official x402 client: (response, authorization,
    the asker's balance before)."""
    body = body or chat(max_tokens=16)
    header, authorization = _payment_header(client, reader, body)
    before = reader.balance(ASKER.address)
    return client.post("/v1/chat/completions", json=body, headers={"PAYMENT-SIGNATURE": header}), authorization, before


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
    response, authorization, before = _paid_request(client, reader)
    assert response.status_code == 503, response.text
    error = response.json()["error"]
    assert error["code"] == "node_unfunded" and "you were not charged" in error["message"]
    assert records() == 0 and reader.balance(ASKER.address) == before
    nonce = bytes.fromhex(authorization["nonce"][2:])
    assert not reader.token.functions.authorizationState(ASKER.address, nonce).call()


class HeldSettlement:
    """The facilitator's signer on a chain whose miner holds the node's transactions back: each
    settlement is signed and its hash returned, but it reaches the chain only at `land()` (or at
    once on the `land_on_wait`-th wait for its receipt, from another thread); until then every wait
    for its receipt times out."""

    def __init__(self, conn, land_on_wait: int | None = None) -> None:
        from tantieme.payments.facilitator import ConnectionSigner

        self.inner = ConnectionSigner(conn)
        self.held: bytes | None = None
        self.waits = 0
        self.land_on_wait = land_on_wait

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def send_transaction(self, to: str, data: bytes) -> str:
        from web3 import Web3

        from tantieme.chain.transact import _build

        sender = self.inner._sender or self.inner._conn
        tx = _build(sender.w3, sender.account, {"to": Web3.to_checksum_address(to), "data": data}, 200_000)
        signed = sender.account.sign_transaction(tx)
        self.held = signed.raw_transaction
        return signed.hash.to_0x_hex()

    def write_contract(self, address, abi, function_name, *args, data_suffix=None) -> str:
        data = self.inner._contract(address, abi).encode_abi(function_name, args=list(args))
        return self.send_transaction(address, bytes.fromhex(data[2:] + (data_suffix or "").removeprefix("0x")))

    def wait_for_transaction_receipt(self, tx_hash: str):
        import threading

        from web3.exceptions import TimeExhausted

        self.waits += 1
        if self.held is not None and self.waits == self.land_on_wait:
            threading.Thread(target=self.land).start()
        if self.held is not None:
            raise TimeExhausted(f"transaction {tx_hash} is not in the chain after 120 seconds")
        return self.inner.wait_for_transaction_receipt(tx_hash)

    def land(self) -> None:
        with Node.open(account=dev_account(0)) as miner:
            miner.conn.w3.eth.send_raw_transaction(self.held)
        self.held = None


@pytest.fixture
def held(served_home, make_client, monkeypatch):
    """`paid`, with the node's settlements held back by the chain (`HeldSettlement`): make(land_on_wait)
    → (client, reader, the signer)."""
    from tantieme.payments import per_request

    with Node.open() as writer:
        writer.faucet(ASKER.address)
    reader = Node.open(readonly=True)

    def make(land_on_wait: int | None):
        chain = {}
        monkeypatch.setattr(per_request, "signer", lambda node: chain.setdefault("signer", HeldSettlement(node.conn, land_on_wait)))
        account = dev_account(0)
        gate = X402(Node.open(readonly=True, account=account), account)
        gate.gate.pending_wait_s = 3.0
        return make_client(gate), reader, chain["signer"]

    yield make
    reader.close()


def test_receipt_late__settlement_mined_during_the_wait__answered_and_charged_the_fee(held):
    """The receipt of the settlement does not come in time (the SDK answers `settlement_pending`,
    twice: its retry too), but the transaction is mined meanwhile: the node finds it on chain and
    answers, with the settlement in `PAYMENT-RESPONSE`; the payer pays exactly the fee."""
    client, reader, chain = held(land_on_wait=2)
    response, _authorization, before = _paid_request(client, reader)
    assert response.status_code == 200, response.text
    settled = decode_payment_response_header(response.headers["PAYMENT-RESPONSE"])
    book = journal()
    (row,) = book.records()
    payment = book.payment(row.id)
    book.close()
    assert chain.waits == 2 and settled.success and settled.transaction == payment["settlement_tx"]
    assert reader.conn.w3.eth.get_transaction_receipt(settled.transaction)["status"] == 1
    assert reader.balance(ASKER.address) == before - row.signed.record.fee


def test_receipt_late__mined_after_the_503__answer_held_then_served_and_refunded(held):
    """Mined only after the node answered 503 `settlement_pending`: the 503 says where the answer
    is; it is withheld (409) while the payment is unconfirmed, then the node's next settlement finds
    the payment, refunds quote − fee, and the payer gets the answer it paid for."""
    client, reader, chain = held(land_on_wait=None)
    response, _authorization, before = _paid_request(client, reader)
    assert response.status_code == 503, response.text
    error = response.json()["error"]
    assert error["code"] == "settlement_pending" and int(response.headers["Retry-After"]) > 0
    links = error["links"]
    assert links == {"bundle": f"/records/{error['record']}", "answer": f"/answers/{error['record']}"}
    for link in (links["answer"], links["bundle"], links["answer"] + ".txt"):
        withheld = client.get(link)
        assert withheld.status_code == 409 and withheld.json()["error"]["code"] == "payment_unconfirmed", link
    assert reader.balance(ASKER.address) == before  # nothing mined yet
    chain.land()
    client.app.state.service.settle()  # its recovery finds the payment on chain
    answer = client.get(links["answer"] + ".txt")
    assert answer.status_code == 200 and "hives." in answer.text
    assert client.get(links["bundle"]).status_code == 200
    book = journal()
    row = book.record(error["record"])
    payment = book.payment(row.id)
    book.close()
    assert payment["settlement_tx"] and payment["refund_tx"]
    assert reader.balance(ASKER.address) == before - row.signed.record.fee


def test_receipt_late__never_mined__record_gone_nothing_charged(held):
    """The held settlement never lands (the payer uses its authorization's nonce elsewhere): the
    node's next settlement voids the record; the links answer 404 and the node took nothing."""
    client, reader, _chain = held(land_on_wait=None)
    operator = reader.balance(dev_account(0).address)
    response, authorization, _before = _paid_request(client, reader)
    assert response.status_code == 503 and response.json()["error"]["code"] == "settlement_pending"
    _nonce_used_elsewhere(reader, authorization)
    client.app.state.service.settle()
    assert client.get(response.json()["error"]["links"]["answer"]).status_code == 404
    assert records() == 0 and reader.balance(dev_account(0).address) == operator


@pytest.mark.parametrize("resolved", ["seen mined", "expired"])
def test_settlement_pending__still_holds_the_payers_balance__until_resolved(held, monkeypatch, resolved):
    """A settlement sent and not seen mined may still move its quote: until the node sees it mined
    (its next settlement's recovery) or its authorization expires, the quote still holds the
    payer's balance, so a second payment the balance covers only without it is refused (402)."""
    from tantieme.payments import per_request

    client, reader, chain = held(land_on_wait=None)
    body = chat(max_tokens=16)
    first, authorization = _payment_header(client, reader, body)
    quote = int(authorization["value"])
    with Node.open(account=ASKER) as asker:  # the asker keeps one and a half quotes
        asker.conn.transact(asker.token.functions.transfer(ELSEWHERE.address, asker.balance() - quote * 3 // 2), gas=100_000)
    pending = client.post("/v1/chat/completions", json=body, headers={"PAYMENT-SIGNATURE": first})
    assert pending.status_code == 503 and pending.json()["error"]["code"] == "settlement_pending", pending.text
    second, _ = _payment_header(client, reader, body)
    refused = client.post("/v1/chat/completions", json=body, headers={"PAYMENT-SIGNATURE": second})
    assert refused.status_code == 402 and refused.json()["error"]["code"] == "insufficient_balance_under_way", refused.text

    if resolved == "seen mined":
        chain.land()
        client.app.state.service.settle()  # its recovery sees the payment mined and refunds quote − fee
    else:  # the first authorization counts as expired: it can move nothing any more
        monkeypatch.setattr(per_request, "_EXPIRY_MARGIN_S", -per_request.MAX_TIMEOUT_S - 60)
    admitted = client.post("/v1/chat/completions", json=body, headers={"PAYMENT-SIGNATURE": second})
    assert admitted.status_code == 503 and admitted.json()["error"]["code"] == "settlement_pending", admitted.text  # answered
