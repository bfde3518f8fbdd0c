"""A payer's full line is refused before its payment is verified (x402) or its payer authenticated
(deposit mode): the payer is read from the payment's header unchecked, which may only refuse. A
header forged to name someone else's address is turned away (402/401) or refused early (429),
and never takes a place in that payer's line."""

from __future__ import annotations

import json
import threading

import pytest
from x402.http import decode_payment_signature_header, encode_payment_signature_header

from tantieme.api import X402, DepositGate
from tantieme.chain.accounts import dev_account
from tantieme.node import Node
from tantieme.payments.payer_auth import HEADER, sign
from tantieme.payments.per_request import named_payer

from .conftest import chat, until_queued
from .test_x402_charge import ASKER, _payment_header

VICTIM, ATTACKER = dev_account(5), dev_account(7)
BODY = chat(max_tokens=16)


@pytest.fixture
def line(served_home, make_client, held_model, verified):
    """make(deposit=False) → (client, reader, verified): a service paid over x402 (with deposit
    mode in front of it), one question waiting per payer, the model held (`held_model`); ASKER
    and VICTIM funded; `verified` lists the payer named by each payment the node verified."""
    with Node.open() as writer:
        writer.faucet(ASKER.address)
        writer.faucet(VICTIM.address)
    reader = Node.open(readonly=True)

    def make(deposit: bool = False):
        account = dev_account(0)
        node = Node.open(readonly=True, account=account)
        gate = X402(node, account)
        client = make_client(DepositGate(node, account, gate) if deposit else gate, per_payer=1)
        return client, reader, verified

    yield make
    reader.close()


def _post(client, header: str):
    return client.post("/v1/chat/completions", json=BODY, headers={"PAYMENT-SIGNATURE": header})


def _asking(client, header: str, into: list) -> threading.Thread:
    """`header`'s request sent from a thread of its own; its response appended to `into`."""
    thread = threading.Thread(target=lambda: into.append(_post(client, header)))
    thread.start()
    return thread


def _forged(client, reader, victim: str) -> str:
    """ATTACKER's payment with its authorization's payer replaced by `victim` (so not `victim`'s signature)."""
    header, _ = _payment_header(client, reader, BODY, account=ATTACKER)
    payload = decode_payment_signature_header(header)
    payload.payload["authorization"]["from"] = victim
    return encode_payment_signature_header(payload)


def _line_full(client, reader, held_model, payer=ASKER) -> tuple[list, list[threading.Thread]]:
    """`payer`'s first question with the model (held), its second waiting: its line is full."""
    service = client.app.state.service
    answers: list = []
    threads = [_asking(client, _payment_header(client, reader, BODY, account=payer)[0], answers)]
    assert held_model.entered.acquire(timeout=30)
    threads.append(_asking(client, _payment_header(client, reader, BODY, account=payer)[0], answers))
    until_queued(service, 1)
    return answers, threads


def test_full_line__refused_before_the_payment_is_verified__which_stays_good(line, held_model):
    client, reader, verified = line()
    later, _ = _payment_header(client, reader, BODY)
    before = reader.balance(ASKER.address)
    answers, threads = _line_full(client, reader, held_model)

    refused = _post(client, later)
    assert refused.status_code == 429, refused.text
    error = refused.json()["error"]
    assert (error["type"], error["code"]) == ("rate_limit_error", "payer_queue_full")
    assert ASKER.address in error["message"] and int(refused.headers["Retry-After"]) >= 1
    assert verified == [ASKER.address] * 2  # the refused request's payment was not verified

    held_model.let(3)
    for thread in threads:
        thread.join(30)
    again = _post(client, later)  # its authorization was never taken: it pays once there is room
    assert [a.status_code for a in answers] + [again.status_code] == [200] * 3, again.text
    assert verified == [ASKER.address] * 3
    fees = sum(int(a.json()["tantieme"]["fee"]) for a in [*answers, again])
    assert reader.balance(ASKER.address) == before - fees


def test_forged_payments_naming_a_victim__take_none_of_its_places(line, held_model):
    client, reader, verified = line()
    service = client.app.state.service
    forged = [_forged(client, reader, VICTIM.address) for _ in range(4)]
    genuine, _ = _payment_header(client, reader, BODY, account=VICTIM)
    before = reader.balance(VICTIM.address)
    busy: list = []
    threads = [_asking(client, _payment_header(client, reader, BODY)[0], busy)]  # another payer's question
    assert held_model.entered.acquire(timeout=30)

    for header in forged[:3]:  # the victim's line is empty: each goes on to its verification, which fails
        refused = _post(client, header)
        assert refused.status_code == 402 and refused.json()["error"]["type"] == "payment_required", refused.text
    assert service.queued == 0  # none took a place

    answers: list = []
    threads.append(_asking(client, genuine, answers))
    until_queued(service, 1)  # the victim's own question waits: its line is full
    refused = _post(client, forged[3])  # refused early, as the victim's own would be: refusing only
    assert refused.status_code == 429 and refused.json()["error"]["code"] == "payer_queue_full"
    assert service.queued == 1

    held_model.let(2)
    for thread in threads:
        thread.join(30)
    assert [a.status_code for a in busy + answers] == [200, 200]
    paid = answers[0].json()["tantieme"]
    assert paid["payer"] == VICTIM.address
    assert reader.balance(VICTIM.address) == before - int(paid["fee"])
    assert verified == [ASKER.address] + [VICTIM.address] * 4  # the three forged, the genuine; not the fourth


def test_deposit_mode__full_line_refused_before_the_payer_is_authenticated(line, held_model, monkeypatch):
    client, reader, _verified = line(deposit=True)
    service = client.app.state.service
    gate = service.gate
    authenticated: list[str] = []
    authenticate = gate.auth.verify

    def counting(value, *args):
        authenticated.append(value.split(":")[0])
        return authenticate(value, *args)

    monkeypatch.setattr(gate.auth, "verify", counting)
    raw = json.dumps(BODY).encode()

    def deposit_request(header: str):
        return client.post("/v1/chat/completions", content=raw, headers={HEADER: header, "Content-Type": "application/json"})

    def signed(account, named: str | None = None) -> str:
        header = sign(account, "POST", "/v1/chat/completions", raw, service.node.address, service.node.conn.chain_id)
        return header if named is None else named + header[header.index(":"):]

    answers, threads = _line_full(client, reader, held_model)  # over x402; the line is the payer's, however it pays
    for header in (signed(ASKER), signed(ATTACKER, named=ASKER.address)):
        refused = deposit_request(header)
        assert refused.status_code == 429 and refused.json()["error"]["code"] == "payer_queue_full", refused.text
    assert authenticated == []

    forged = deposit_request(signed(ATTACKER, named=VICTIM.address))  # the victim's line has room: authenticated, refused
    assert forged.status_code == 401 and forged.json()["error"]["code"] == "invalid_payer_signature", forged.text
    assert authenticated == [VICTIM.address] and service.queued == 1
    held_model.let(2)
    for thread in threads:
        thread.join(30)
    assert [a.status_code for a in answers] == [200, 200]


@pytest.mark.parametrize("header", [None, "", "not base64!", "bm90IGpzb24=", "W10=", "e30=", "eyJwYXlsb2FkIjogMX0="],
                         ids=["none", "empty", "not base64", "not JSON", "a list", "no payload", "payload not an object"])
def test_named_payer__a_header_that_names_nobody__none(header):
    assert named_payer(header) is None


def test_named_payer__of_a_deposit_header__its_first_part_if_an_address():
    from tantieme.payments import payer_auth

    assert payer_auth.named_payer(f"{VICTIM.address.lower()}:1:0x00") == VICTIM.address
    assert payer_auth.named_payer("nobody:1:0x00") is None
