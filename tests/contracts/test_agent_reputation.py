"""AgentReputation (`agent_reputation.vy`): ERC-8004 feedback from paying clients only.

Every feedback spends one record settled on the InteractionLedger that the
client paid for; `SPEC.md` "AgentReputation" lists the rules each test pins.
"""

from __future__ import annotations

import boa
import pytest
from eth_utils import keccak
from hypothesis import given
from hypothesis import strategies as st

from .agent_fixtures import (  # noqa: F401 (fixtures)
    FEE,
    REPUTATION,
    abi_signatures,
    deposit_paid,
    market,
    model_summary,
    new_record,
    node,
    raw_events,
    rival_node,
    settle_records,
    signer,
    x402_paid,
)
from .conftest import FUZZ, ZERO_ADDRESS, fresh_state
from .ledger_fixtures import commons_pool, ledger_deployer, payer_b  # noqa: F401 (fixtures)

NEW_FEEDBACK = "NewFeedback(uint256,address,uint64,int128,uint8,string,string,string,string,string,bytes32)"
NEW_FEEDBACK_DATA = ["uint64", "int128", "uint8", "string", "string", "string", "string", "bytes32"]
ENDPOINT = "http://127.0.0.1:8402/v1/ask"
FEEDBACK_URI = "ipfs://bafkreifeedback"
MAX_ABS = 10**38

# ERC-8004's functions and events, as the EIP writes them (its text, "Reputation Registry").
ERC8004_FUNCTIONS = (
    "getIdentityRegistry()",
    "giveFeedback(uint256,int128,uint8,string,string,string,string,bytes32)",
    "revokeFeedback(uint256,uint64)",
    "appendResponse(uint256,address,uint64,string,bytes32)",
    "getSummary(uint256,address[],string,string)",
    "readFeedback(uint256,address,uint64)",
    "readAllFeedback(uint256,address[],string,string,bool)",
    "getResponseCount(uint256,address,uint64,address[])",
    "getClients(uint256)",
    "getLastIndex(uint256,address)",
)
ERC8004_EVENTS = (
    NEW_FEEDBACK,
    "FeedbackRevoked(uint256,address,uint64)",
    "ResponseAppended(uint256,address,uint64,address,string,bytes32)",
)


def give(market, client: str, digest: bytes, value: int = 87, decimals: int = 0, tag1: str = "starred",
         tag2: str = "", agent: int | None = None) -> None:
    market.reputation.giveFeedback(
        market.agent if agent is None else agent, value, decimals, tag1, tag2, ENDPOINT, FEEDBACK_URI, digest,
        sender=client,
    )


def rate(market, client, paid, **feedback) -> None:
    """Prove the paid record, then give feedback on it."""
    paid.prove(market, client.address)
    give(market, client.address, paid.digest, **feedback)


# ------------------------------------------------------------ interface --


def test_erc8004_signatures__every_function_and_event(market):
    assert set(ERC8004_FUNCTIONS) <= abi_signatures(market.reputation, "function")
    assert set(ERC8004_EVENTS) <= abi_signatures(market.reputation, "event")


def test_deploy__wiring(market):
    reputation = market.reputation
    assert reputation.getIdentityRegistry() == market.identity.address
    assert reputation.ledger() == market.ledger.address
    assert reputation.token() == market.world.token.address


def test_deploy__zero_addresses__revert(market):
    with boa.reverts("reputation: identity registry is the zero address"):
        REPUTATION.deploy(ZERO_ADDRESS, market.ledger.address)
    with boa.reverts("reputation: ledger is the zero address"):
        REPUTATION.deploy(market.identity.address, ZERO_ADDRESS)


# ---------------------------------------------------------- the happy path --


def test_give_feedback__a_deposit_mode_client(market, payer):
    reputation = market.reputation
    [paid] = deposit_paid(market, payer)
    assert paid.prove(market, payer.address) == paid.digest
    assert raw_events(reputation, "PaymentProved(uint256,address,bytes32,uint256)", ["uint256"]) == [
        (market.agent, int(payer.address, 16), int.from_bytes(paid.digest, "big"), paid.batch_id)
    ]
    assert not reputation.isRated(paid.digest)
    give(market, payer.address, paid.digest, value=87, tag1="starred", tag2="answer")
    assert raw_events(reputation, NEW_FEEDBACK, NEW_FEEDBACK_DATA) == [(
        market.agent, int(payer.address, 16), int.from_bytes(keccak(b"starred"), "big"),
        1, 87, 0, "starred", "answer", ENDPOINT, FEEDBACK_URI, paid.digest,
    )]
    assert reputation.isRated(paid.digest)
    assert reputation.readFeedback(market.agent, payer.address, 1) == (87, 0, "starred", "answer", False)
    assert reputation.getClients(market.agent) == [payer.address]
    assert reputation.getLastIndex(market.agent, payer.address) == 1
    assert reputation.getSummary(market.agent, [payer.address], "", "") == (1, 87, 0)


def test_give_feedback__an_x402_client(market, payer):
    """The node journaled the record as its own payer, bound to the client's
    EIP-3009 authorization: the client proves it with the authorization nonce."""
    [paid] = x402_paid(market, payer)
    assert paid.signed.record.payer == market.node.address
    rate(market, payer, paid, value=9977, decimals=2, tag1="uptime")
    assert market.reputation.readFeedback(market.agent, payer.address, 1) == (9977, 2, "uptime", "", False)
    assert market.reputation.getClients(market.agent) == [payer.address]


def test_give_feedback__indexes_count_per_client(market, payer, payer_b):
    for paid in deposit_paid(market, payer, 3):
        rate(market, payer, paid)
    rate(market, payer_b, deposit_paid(market, payer_b)[0])
    assert market.reputation.getLastIndex(market.agent, payer.address) == 3
    assert market.reputation.getLastIndex(market.agent, payer_b.address) == 1
    assert market.reputation.getClients(market.agent) == [payer.address, payer_b.address]


def test_give_feedback__value_bounds_pass(market, payer):
    low, high = deposit_paid(market, payer, 2)
    rate(market, payer, low, value=-MAX_ABS, decimals=18)
    rate(market, payer, high, value=MAX_ABS, decimals=0)
    assert market.reputation.readFeedback(market.agent, payer.address, 1)[:2] == (-MAX_ABS, 18)
    assert market.reputation.readFeedback(market.agent, payer.address, 2)[:2] == (MAX_ABS, 0)


def test_give_feedback__the_agents_named_model(market, payer):
    """An agent that names its model in metadata takes only that model's records."""
    models = market.world.models
    market.identity.setMetadata(market.agent, "model", models[1].to_bytes(32, "big"), sender=market.node.address)
    [other] = deposit_paid(market, payer, model=models[0])
    with boa.reverts("reputation: record of another model"):
        other.prove(market, payer.address)
    [own] = deposit_paid(market, payer, model=models[1])
    rate(market, payer, own)
    market.identity.setMetadata(market.agent, "model", b"\x01", sender=market.node.address)
    [any_model] = deposit_paid(market, payer, model=models[1])
    with boa.reverts("reputation: record of another model"):
        any_model.prove(market, payer.address)


# -------------------------------------------------- no payment, no feedback --


def test_give_feedback__without_a_payment__reverts(market, payer):
    with boa.reverts("reputation: no paid interaction"):
        give(market, payer.address, keccak(b"a record never paid"))
    with boa.reverts("reputation: no paid interaction"):
        give(market, payer.address, bytes(32))
    assert market.reputation.getClients(market.agent) == []


def test_give_feedback__a_paid_record_not_proved__reverts(market, payer):
    [paid] = deposit_paid(market, payer)
    with boa.reverts("reputation: no paid interaction"):
        give(market, payer.address, paid.digest)


def test_prove_payment__forged_proof__reverts(market, payer):
    first, second = deposit_paid(market, payer, 2)
    forged = [keccak(b"forged sibling")]
    with boa.reverts("reputation: invalid proof"):
        market.reputation.provePayment(market.agent, first.batch_id, first.record, forged, bytes(32), sender=payer.address)
    with boa.reverts("reputation: invalid proof"):
        market.reputation.provePayment(market.agent, first.batch_id, first.record, second.proof, bytes(32), sender=payer.address)


def test_prove_payment__a_record_never_settled__reverts(market, payer):
    """A record signed but not in the batch (here: its fee raised) has no proof."""
    [paid] = deposit_paid(market, payer)
    record = list(paid.record)
    record[9] = FEE * 1_000
    with boa.reverts("reputation: invalid proof"):
        market.reputation.provePayment(market.agent, paid.batch_id, tuple(record), paid.proof, bytes(32), sender=payer.address)


def test_prove_payment__in_another_batch__reverts(market, payer):
    [first] = deposit_paid(market, payer)
    [second] = deposit_paid(market, payer)
    with boa.reverts("reputation: invalid proof"):
        market.reputation.provePayment(market.agent, second.batch_id, first.record, first.proof, bytes(32), sender=payer.address)


def test_prove_payment__unknown_batch__reverts(market, payer):
    [paid] = deposit_paid(market, payer)
    for batch_id in (0, paid.batch_id + 1):
        with boa.reverts("reputation: unknown batch"):
            market.reputation.provePayment(market.agent, batch_id, paid.record, paid.proof, bytes(32), sender=payer.address)


def test_prove_payment__another_agents_record__reverts(market, payer):
    [paid] = deposit_paid(market, payer)
    with boa.reverts("reputation: record of another agent"):
        paid.prove(market, payer.address, agent=market.rival)


def test_prove_payment__after_the_agent_changed_wallet__reverts(market, payer):
    """Records count for the agent whose wallet served them: a transfer clears
    the wallet, so the agent's earlier records no longer prove anything."""
    [paid] = deposit_paid(market, payer)
    market.identity.transferFrom(market.node.address, signer(b"buyer").address, market.agent, sender=market.node.address)
    with boa.reverts("reputation: record of another agent"):
        paid.prove(market, payer.address)


def test_prove_payment__not_the_payer__reverts(market, payer, payer_b, stranger):
    [paid] = deposit_paid(market, payer)
    for sender in (payer_b.address, stranger):
        with boa.reverts("reputation: caller is not the payer"):
            paid.prove(market, sender)


def test_prove_payment__x402__wrong_payer_or_authorization__reverts(market, payer, payer_b):
    [paid] = x402_paid(market, payer)
    with boa.reverts("reputation: caller is not the payer"):
        paid.prove(market, payer_b.address)
    with boa.reverts("reputation: caller is not the payer"):
        market.reputation.provePayment(
            market.agent, paid.batch_id, paid.record, paid.proof, keccak(b"another authorization"), sender=payer.address
        )


def test_prove_payment__x402__authorization_never_used__reverts(market, payer):
    """A record bound to an authorization that never paid proves nothing."""
    [paid] = x402_paid(market, payer, pay=False)
    with boa.reverts("reputation: payment not made"):
        paid.prove(market, payer.address)


def test_prove_payment__the_node_itself__reverts(market, payer):
    """The node is the payer of its x402 records, but it may not rate itself."""
    [paid] = x402_paid(market, payer)
    with boa.reverts("reputation: self-feedback not allowed"):
        paid.prove(market, market.node.address)


def test_prove_payment__a_record_of_another_payer_in_the_batch__reverts(market, payer, payer_b):
    """A payer's tree holding a record that names another payer."""
    records = [
        new_record(payer.address, market.node.address, market.world.models[0]),
        new_record(payer_b.address, market.node.address, market.world.models[0]),
    ]
    _, foreign = settle_records(market, payer, records, signers=[payer_b])
    for sender in (payer.address, payer_b.address):
        with boa.reverts("reputation: record of another payer"):
            foreign.prove(market, sender)


def test_prove_payment__a_record_of_another_operator__reverts(market, payer, rival_node):
    records = [
        new_record(payer.address, market.node.address, market.world.models[0]),
        new_record(payer.address, rival_node.address, market.world.models[0]),
    ]
    _, foreign = settle_records(market, payer, records)
    with boa.reverts("reputation: record of another operator"):
        foreign.prove(market, payer.address)


def test_prove_payment__a_free_record__reverts(market, payer):
    free, _ = settle_records(market, payer, [
        new_record(payer.address, market.node.address, market.world.models[0], fee=0),
        new_record(payer.address, market.node.address, market.world.models[0]),
    ])
    with boa.reverts("reputation: unpaid record"):
        free.prove(market, payer.address)


@pytest.mark.parametrize("agent_id", [0, 3])
def test_unknown_agent__reverts(market, payer, agent_id):
    [paid] = deposit_paid(market, payer)
    with boa.reverts("reputation: unknown agent"):
        paid.prove(market, payer.address, agent=agent_id)
    with boa.reverts("reputation: unknown agent"):
        give(market, payer.address, paid.digest, agent=agent_id)


def test_self_feedback__owner_and_managers__revert(market, payer, payer_b):
    """ERC-8004: the agent's owner and approved accounts may not rate it,
    even if they paid."""
    [paid] = deposit_paid(market, payer)
    market.identity.setApprovalForAll(payer.address, True, sender=market.node.address)
    with boa.reverts("reputation: self-feedback not allowed"):
        paid.prove(market, payer.address)
    market.identity.setApprovalForAll(payer.address, False, sender=market.node.address)
    paid.prove(market, payer.address)
    market.identity.approve(payer.address, market.agent, sender=market.node.address)
    with boa.reverts("reputation: self-feedback not allowed"):
        give(market, payer.address, paid.digest)


# ------------------------------------------------------ once per record --


def test_one_feedback_per_record(market, payer):
    [paid] = deposit_paid(market, payer)
    paid.prove(market, payer.address)
    with boa.reverts("reputation: payment already proved"):
        paid.prove(market, payer.address)
    give(market, payer.address, paid.digest)
    with boa.reverts("reputation: interaction already rated"):
        give(market, payer.address, paid.digest)
    with boa.reverts("reputation: payment already proved"):
        paid.prove(market, payer.address)
    market.reputation.revokeFeedback(market.agent, 1, sender=payer.address)
    with boa.reverts("reputation: interaction already rated"):
        give(market, payer.address, paid.digest)
    assert market.reputation.getLastIndex(market.agent, payer.address) == 1


def test_give_feedback__on_another_clients_proof__reverts(market, payer, payer_b):
    [paid] = deposit_paid(market, payer)
    paid.prove(market, payer.address)
    with boa.reverts("reputation: no paid interaction"):
        give(market, payer_b.address, paid.digest)
    with boa.reverts("reputation: no paid interaction"):
        give(market, payer.address, paid.digest, agent=market.rival)
    give(market, payer.address, paid.digest)


# ----------------------------------------------------------- bad values --


@pytest.mark.parametrize(
    "value, decimals, reason",
    [
        (1, 19, "reputation: too many decimals"),
        (MAX_ABS + 1, 0, "reputation: value too large"),
        (-MAX_ABS - 1, 0, "reputation: value too large"),
    ],
)
def test_give_feedback__bad_value__reverts(market, payer, value, decimals, reason):
    [paid] = deposit_paid(market, payer)
    paid.prove(market, payer.address)
    with boa.reverts(reason):
        give(market, payer.address, paid.digest, value=value, decimals=decimals)
    assert not market.reputation.isRated(paid.digest)


# --------------------------------------------------------------- revoke --


def test_revoke_feedback(market, payer):
    for paid in deposit_paid(market, payer, 2):
        rate(market, payer, paid, value=50)
    market.reputation.revokeFeedback(market.agent, 1, sender=payer.address)
    assert raw_events(market.reputation, "FeedbackRevoked(uint256,address,uint64)", []) == [
        (market.agent, int(payer.address, 16), 1)
    ]
    assert market.reputation.readFeedback(market.agent, payer.address, 1) == (50, 0, "starred", "", True)
    assert market.reputation.getSummary(market.agent, [payer.address], "", "") == (1, 50, 0)
    with boa.reverts("reputation: feedback already revoked"):
        market.reputation.revokeFeedback(market.agent, 1, sender=payer.address)


@pytest.mark.parametrize("index, reason", [(0, "reputation: feedback index is zero"),
                                           (2, "reputation: feedback index out of bounds")])
def test_revoke_and_read__bad_index__reverts(market, payer, payer_b, index, reason):
    rate(market, payer, deposit_paid(market, payer)[0])
    with boa.reverts(reason):
        market.reputation.revokeFeedback(market.agent, index, sender=payer.address)
    with boa.reverts(reason):
        market.reputation.readFeedback(market.agent, payer.address, index)
    with boa.reverts(reason):
        market.reputation.appendResponse(market.agent, payer.address, index, "ipfs://r", bytes(32), sender=payer_b.address)


def test_revoke_feedback__another_clients__reverts(market, payer, payer_b):
    rate(market, payer, deposit_paid(market, payer)[0])
    with boa.reverts("reputation: feedback index out of bounds"):
        market.reputation.revokeFeedback(market.agent, 1, sender=payer_b.address)


# ------------------------------------------------------------- responses --


def test_append_response__anyone_counts(market, payer, payer_b, stranger):
    reputation, agent = market.reputation, market.agent
    first, second = deposit_paid(market, payer, 2)
    rate(market, payer, first)
    rate(market, payer, second)
    rate(market, payer_b, deposit_paid(market, payer_b)[0])
    reputation.appendResponse(agent, payer.address, 1, "ipfs://refund", keccak(b"refund"), sender=market.node.address)
    assert raw_events(reputation, "ResponseAppended(uint256,address,uint64,address,string,bytes32)",
                      ["uint64", "string", "bytes32"]) == [
        (agent, int(payer.address, 16), int(market.node.address, 16), 1, "ipfs://refund", keccak(b"refund"))
    ]
    reputation.appendResponse(agent, payer.address, 1, "ipfs://spam", bytes(32), sender=stranger)
    reputation.appendResponse(agent, payer.address, 1, "ipfs://spam", bytes(32), sender=stranger)
    reputation.appendResponse(agent, payer.address, 2, "ipfs://ok", bytes(32), sender=stranger)
    reputation.appendResponse(agent, payer_b.address, 1, "ipfs://ok", bytes(32), sender=market.node.address)
    count = reputation.getResponseCount
    assert count(agent, payer.address, 1, []) == 3
    assert count(agent, payer.address, 1, [stranger]) == 2
    assert count(agent, payer.address, 1, [stranger, market.node.address]) == 3
    assert count(agent, payer.address, 0, []) == 4
    assert count(agent, payer.address, 0, [market.node.address]) == 1
    assert count(agent, ZERO_ADDRESS, 0, []) == 5
    assert count(agent, ZERO_ADDRESS, 0, [market.node.address]) == 2
    assert count(market.rival, ZERO_ADDRESS, 0, []) == 0


def test_append_response__empty_uri__reverts(market, payer):
    rate(market, payer, deposit_paid(market, payer)[0])
    with boa.reverts("reputation: empty response URI"):
        market.reputation.appendResponse(market.agent, payer.address, 1, "", bytes(32), sender=market.node.address)


# ------------------------------------------------------------------ reads --


def test_read_all_feedback__filters(market, payer, payer_b):
    reputation, agent = market.reputation, market.agent
    a1, a2 = deposit_paid(market, payer, 2)
    [b1] = deposit_paid(market, payer_b)
    rate(market, payer, a1, value=10, tag1="starred", tag2="day")
    rate(market, payer, a2, value=20, tag1="uptime", tag2="day")
    rate(market, payer_b, b1, value=30, decimals=1, tag1="starred", tag2="week")
    reputation.revokeFeedback(agent, 2, sender=payer.address)
    everything = reputation.readAllFeedback(agent, [], "", "", True)
    assert [list(column) for column in everything] == [
        [payer.address, payer.address, payer_b.address], [1, 2, 1], [10, 20, 30], [0, 0, 1],
        ["starred", "uptime", "starred"], ["day", "day", "week"], [False, True, False],
    ]
    assert [list(c) for c in reputation.readAllFeedback(agent, [], "", "", False)][1] == [1, 1]
    assert [list(c) for c in reputation.readAllFeedback(agent, [payer_b.address], "", "", True)][2] == [30]
    assert [list(c) for c in reputation.readAllFeedback(agent, [], "starred", "day", True)][2] == [10]
    assert [list(c) for c in reputation.readAllFeedback(agent, [], "", "week", True)][2] == [30]
    assert [list(c) for c in reputation.readAllFeedback(market.rival, [], "", "", True)] == [[]] * 7


def test_get_summary__needs_clients(market):
    with boa.reverts("reputation: clientAddresses required"):
        market.reputation.getSummary(market.agent, [], "", "")


def test_get_summary__at_the_most_common_decimals(market, payer, payer_b):
    """(87 + 9.5 + 90) / 3 at 18 decimals, shown at 0 decimals (two of three)."""
    a1, a2 = deposit_paid(market, payer, 2)
    rate(market, payer, a1, value=87)
    rate(market, payer, a2, value=95, decimals=1)
    rate(market, payer_b, deposit_paid(market, payer_b)[0], value=90)
    assert market.reputation.getSummary(market.agent, [payer.address, payer_b.address], "", "") == (3, 62, 0)
    assert market.reputation.getSummary(market.agent, [payer.address], "", "") == (2, 48, 0)
    assert market.reputation.getSummary(market.agent, [payer_b.address], "starred", "") == (1, 90, 0)
    assert market.reputation.getSummary(market.agent, [payer_b.address], "uptime", "") == (0, 0, 0)


# ------------------------------------------------------------------ Sybils --


def test_sybils__a_thousand_accounts_without_payments_move_nothing(market, payer, payer_b):
    """1,000 accounts that never paid the agent try every way in: feedback on
    made-up hashes, on an honest client's proven record, proving that record
    as theirs. The summary, the clients and every read stay as they were."""
    reputation, agent = market.reputation, market.agent
    honest = deposit_paid(market, payer, 3)
    for paid, value in zip(honest, (90, 80, 70)):
        rate(market, payer, paid, value=value)
    [pending] = deposit_paid(market, payer_b)
    pending.prove(market, payer_b.address)
    sybils = [boa.env.generate_address(f"sybil {i}") for i in range(1_000)]
    clients = [payer.address, payer_b.address, *sybils[:1_022]]
    before = (reputation.getSummary(agent, clients, "", ""), reputation.getClients(agent),
              reputation.readAllFeedback(agent, [], "", "", True))
    assert before[0] == (3, 80, 0)
    for i, sybil in enumerate(sybils):
        with boa.reverts("reputation: no paid interaction"):
            give(market, sybil, keccak(b"sybil review %d" % i), value=-MAX_ABS)
        with boa.reverts("reputation: no paid interaction"):
            give(market, sybil, pending.digest, value=-MAX_ABS)
        if i % 10 == 0:
            with boa.reverts("reputation: caller is not the payer"):
                honest[0].prove(market, sybil)
    after = (reputation.getSummary(agent, clients, "", ""), reputation.getClients(agent),
             reputation.readAllFeedback(agent, [], "", "", True))
    assert after == before
    assert all(reputation.getLastIndex(agent, sybil) == 0 for sybil in sybils[::50])


# --------------------------------------------------------------- property --


@pytest.fixture(scope="module")
def proven(market, payer, payer_b):
    """Ten proven, unrated records for each of `payer` and `payer_b`."""
    paid = {}
    for client in (payer, payer_b):
        paid[client.address] = deposit_paid(market, client, 10)
        for record in paid[client.address]:
            record.prove(market, client.address)
    return paid


FEEDBACK = st.tuples(
    st.sampled_from([0, 1]),  # which client
    st.integers(-MAX_ABS, MAX_ABS) | st.integers(-1_000, 1_000),
    st.integers(0, 18),
    st.sampled_from(["", "starred", "uptime"]),
    st.sampled_from(["", "day"]),
    st.booleans(),  # revoked afterwards
)


@FUZZ
@given(feedback=st.lists(FEEDBACK, max_size=16))
def test_get_summary__matches_the_model(market, payer, payer_b, proven, feedback):
    addresses = [payer.address, payer_b.address]
    with fresh_state():
        rows, used = [], {a: 0 for a in addresses}
        for who, value, decimals, tag1, tag2, revoked in feedback:
            client = addresses[who]
            if used[client] == 10:
                continue
            paid = proven[client][used[client]]
            used[client] += 1
            give(market, client, paid.digest, value=value, decimals=decimals, tag1=tag1, tag2=tag2)
            if revoked:
                market.reputation.revokeFeedback(market.agent, used[client], sender=client)
            rows.append((client, value, decimals, tag1, tag2, revoked))
        for clients in (addresses, addresses[:1], addresses[1:], addresses[::-1] + addresses[:1]):
            for tag1, tag2 in (("", ""), ("starred", ""), ("", "day"), ("uptime", "day")):
                assert market.reputation.getSummary(market.agent, clients, tag1, tag2) == model_summary(
                    rows, clients, tag1, tag2
                )
        assert list(market.reputation.getClients(market.agent)) == [
            a for a in dict.fromkeys(row[0] for row in rows)
        ]


def test_record_proofs_are_the_ledgers(market, payer):
    """The proofs the registry takes are the ledger's `verifyRecord` proofs."""
    [paid] = deposit_paid(market, payer)
    assert market.ledger.verifyRecord(paid.batch_id, paid.digest, paid.record[2], paid.record[9], paid.proof)
