"""AgentTreasury `rate` (`agent_treasury.vy`): the agent rates, as the treasury, what the
treasury paid for, through the one reputation registry fixed at deployment.

The registry's rules stay its own (`SPEC.md` "AgentReputation"): the client is the x402
payer (the treasury), a paid, anchored record, one feedback per payment.
"""

from __future__ import annotations

import boa
import pytest
from eth_utils import keccak

from tantieme.payments.per_request import record_nonce

from .agent_fixtures import (  # noqa: F401 (fixtures)
    FEE,
    market,
    new_record,
    node,
    rival_node,
    settle_records,
)
from .conftest import ZERO_ADDRESS
from .ledger_fixtures import commons_pool, ledger_deployer, payer_b  # noqa: F401 (fixtures)
from .treasury_fixtures import (  # noqa: F401 (fixtures)
    TREASURY,
    agent_key,
    deploy_treasury,
    key_of,
    payment,
    treasury_owner,
)


@pytest.fixture
def rating(market, deployer, treasury_owner, agent_key):
    """A treasury rating at the market's registry, allowed to pay the market's node."""
    return deploy_treasury(
        market.world.token, deployer, treasury_owner, agent_key, reputation=market.reputation.address,
        payees=(market.node.address, market.node.address),
    )


def treasury_paid(market, treasury):
    """A record the treasury paid over x402 (its EIP-3009 transfer to the node, collected),
    settled by the node: the node journals it as its own payer, the nonce bound to the
    treasury's authorization."""
    p = payment(market.node.address, FEE)
    treasury.pay(p, market.node.address)
    record = new_record(market.node.address, market.node.address, market.world.models[0],
                        nonce=record_nonce(treasury.contract.address, p.nonce))
    (paid,) = settle_records(market, market.node, [record], authorizations=[p.nonce])
    return paid


def prove_call(market, paid, agent: int | None = None) -> bytes:
    return market.reputation.provePayment.prepare_calldata(
        market.agent if agent is None else agent, paid.batch_id, paid.record, paid.proof, paid.authorization
    )


def feedback_call(market, digest: bytes, value: int = 90) -> bytes:
    return market.reputation.giveFeedback.prepare_calldata(market.agent, value, 0, "starred", "", "", "", digest)


def test_rate__the_agent_proves_and_rates_as_the_treasury(market, rating):
    paid = treasury_paid(market, rating)
    client = rating.contract.address
    assert rating.contract.reputation() == market.reputation.address
    assert rating.contract.rate(prove_call(market, paid), sender=rating.agent.address) == paid.digest
    rating.contract.rate(feedback_call(market, paid.digest), sender=rating.agent.address)
    assert market.reputation.isRated(paid.digest)
    assert market.reputation.readFeedback(market.agent, client, 1) == (90, 0, "starred", "", False)
    assert market.reputation.getClients(market.agent) == [client]
    rating.contract.rate(market.reputation.revokeFeedback.prepare_calldata(market.agent, 1), sender=rating.agent.address)
    assert market.reputation.readFeedback(market.agent, client, 1)[4]


def test_rate__one_feedback_per_payment(market, rating):
    paid = treasury_paid(market, rating)
    rating.contract.rate(prove_call(market, paid), sender=rating.agent.address)
    rating.contract.rate(feedback_call(market, paid.digest), sender=rating.agent.address)
    with boa.reverts("reputation: interaction already rated"):
        rating.contract.rate(feedback_call(market, paid.digest, 10), sender=rating.agent.address)
    with boa.reverts("reputation: payment already proved"):
        rating.contract.rate(prove_call(market, paid), sender=rating.agent.address)


def test_rate__only_the_current_agent(market, rating):
    paid = treasury_paid(market, rating)
    with boa.reverts("treasury: caller is not the agent"):
        rating.contract.rate(prove_call(market, paid), sender=rating.owner)
    new_key = key_of(b"tantieme treasury new agent")
    rating.contract.setAgent(new_key.address, sender=rating.owner)
    with boa.reverts("treasury: caller is not the agent"):
        rating.contract.rate(prove_call(market, paid), sender=rating.agent.address)
    rating.contract.rate(prove_call(market, paid), sender=new_key.address)
    with boa.reverts("treasury: caller is not the agent"):
        rating.contract.rate(feedback_call(market, paid.digest), sender=rating.agent.address)
    rating.contract.rate(feedback_call(market, paid.digest), sender=new_key.address)


def test_rate__refused_while_paused(market, rating):
    paid = treasury_paid(market, rating)
    rating.contract.pause(sender=rating.owner)
    with boa.reverts("treasury: paused"):
        rating.contract.rate(prove_call(market, paid), sender=rating.agent.address)
    rating.contract.unpause(sender=rating.owner)
    rating.contract.rate(prove_call(market, paid), sender=rating.agent.address)


def test_rate__only_the_three_rating_calls(market, rating):
    token = market.world.token
    for data in (
        b"",
        b"\x01\x02\x03",
        token.transfer.prepare_calldata(rating.agent.address, 1),
        market.reputation.appendResponse.prepare_calldata(market.agent, rating.contract.address, 1, "", bytes(32)),
    ):
        with boa.reverts("treasury: not a rating call"):
            rating.contract.rate(data, sender=rating.agent.address)


def test_rate__the_registry_rules_hold(market, rating, payer):
    """The agent key cannot prove the treasury's payment for itself, nor can another
    "treasury" (any contract with an agent key) prove a payment it did not make."""
    paid = treasury_paid(market, rating)
    with boa.reverts("reputation: caller is not the payer"):
        market.reputation.provePayment(
            market.agent, paid.batch_id, paid.record, paid.proof, paid.authorization, sender=rating.agent.address
        )
    sybil_key = key_of(b"tantieme sybil agent")
    sybil = TREASURY.deploy(market.world.token.address, sybil_key.address, market.reputation.address, sender=payer.address)
    with boa.reverts("reputation: caller is not the payer"):
        sybil.rate(prove_call(market, paid), sender=sybil_key.address)
    with boa.reverts("reputation: no paid interaction"):
        sybil.rate(feedback_call(market, paid.digest), sender=sybil_key.address)


def test_rate__without_a_registry(market, deployer, treasury_owner, agent_key):
    treasury = deploy_treasury(market.world.token, deployer, treasury_owner, agent_key)
    assert treasury.contract.reputation() == ZERO_ADDRESS
    with boa.reverts("treasury: no reputation registry"):
        treasury.contract.rate(feedback_call(market, keccak(b"any")), sender=agent_key.address)


def test_deploy__reputation_without_code__reverts(market, treasury_owner, agent_key):
    with boa.reverts("treasury: reputation is not a contract"):
        TREASURY.deploy(market.world.token.address, agent_key.address, boa.env.generate_address("no code"), sender=treasury_owner)
