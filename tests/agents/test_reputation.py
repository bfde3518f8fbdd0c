"""Feedback from a paying client on the embedded chain: the payer of a settled record rates
the node's agent once; an unsettled record, another account, a second rating, an unknown
agent and the agent's own operator are refused before anything is sent."""

from __future__ import annotations

import pytest

from tantieme.agents import identity
from tantieme.agents.reputation import give_feedback, parse_value
from tantieme.chain.accounts import dev_account
from tantieme.chain.deploy import contract
from tantieme.errors import InputError, LedgerError, PaymentError


@pytest.fixture
def agent(embedded_node) -> int:
    return identity.register(embedded_node, url="http://127.0.0.1:8402")[0].agent_id


def _feedback_logs(node) -> int:
    reputation = contract(node.conn, "agent_reputation", node.deployment.reputation)
    proved = reputation.events.PaymentProved().get_logs(from_block=0)
    given = reputation.events.NewFeedback().get_logs(from_block=0)
    return len(proved) + len(given)


def test_feedback__the_payer_rates_once__the_summary_counts_it(embedded_node, agent, settled_bundle, payer):
    client = embedded_node.as_account(payer)
    bundle = settled_bundle()
    done = give_feedback(client, bundle, "4.5", tag1="starred", endpoint="http://127.0.0.1:8402/v1/chat/completions")
    assert (done.agent_id, done.client, done.value, done.decimals, done.index) == (agent, payer.address, 45, 1, 1)
    assert done.record == bundle["record"]["digest"] and done.prove_tx and done.feedback_tx
    reputation = contract(embedded_node.conn, "agent_reputation", embedded_node.deployment.reputation).functions
    assert reputation.readFeedback(agent, payer.address, 1).call() == [45, 1, "starred", "", False]
    shown = identity.show(embedded_node, agent)["reputation"]
    assert (shown["count"], shown["clients"], shown["value"], shown["decimals"], shown["average"]) == (1, 1, "45", 1, "4.5")

    with pytest.raises(PaymentError, match="rated already: one feedback per paid answer"):
        give_feedback(client, bundle, "90")
    second = give_feedback(client, settled_bundle(), "90")  # another paid answer: another feedback
    assert second.index == 2
    assert identity.show(embedded_node, agent)["reputation"]["count"] == 2


def test_feedback__not_settled_yet__refused_nothing_sent(embedded_node, agent, settled_bundle, payer):
    with pytest.raises(LedgerError, match="is not settled yet: wait for the operator's batch"):
        give_feedback(embedded_node.as_account(payer), settled_bundle(settle=False), "90")
    assert _feedback_logs(embedded_node) == 0


def test_feedback__a_sybil_without_the_payment__refused_nothing_moves(embedded_node, agent, settled_bundle):
    sybil = embedded_node.as_account(dev_account(8))
    embedded_node.faucet(sybil.address)
    with pytest.raises(PaymentError, match=f"{sybil.address} did not pay for this answer"):
        give_feedback(sybil, settled_bundle(), "100")
    assert _feedback_logs(embedded_node) == 0
    assert identity.show(embedded_node, agent)["reputation"]["count"] == 0


def test_feedback__the_agents_own_operator__refused(embedded_node, agent, settled_bundle):
    with pytest.raises(PaymentError, match="manages agent #1: an agent's owner and operators cannot rate it"):
        give_feedback(embedded_node, settled_bundle(), "100")


def test_feedback__unknown_or_unregistered_agent__refused(embedded_node, settled_bundle, payer):
    client = embedded_node.as_account(payer)
    bundle = settled_bundle()
    with pytest.raises(InputError, match="is not a registered agent: it registers with `tantieme agent register`"):
        give_feedback(client, bundle, "90")
    identity.register(embedded_node)
    with pytest.raises(InputError, match="there is no agent #9 on this chain"):
        give_feedback(client, bundle, "90", agent_id=9)
    assert _feedback_logs(embedded_node) == 0


def test_feedback__a_run_stopped_after_the_proof__resumes(embedded_node, agent, settled_bundle, payer):
    from tantieme.agents import reputation as module

    client = embedded_node.as_account(payer)
    bundle = settled_bundle()
    real = module._Rater.send
    calls = []

    def stop_after_proof(rater, fn, *args):
        calls.append(fn.fn_name)
        if fn.fn_name == "giveFeedback" and len(calls) == 2:
            raise KeyboardInterrupt
        return real(rater, fn, *args)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(module._Rater, "send", stop_after_proof)
        with pytest.raises(KeyboardInterrupt):
            give_feedback(client, bundle, "90")
    done = give_feedback(client, bundle, "90")
    assert done.prove_tx is None and done.index == 1


@pytest.mark.parametrize(("text", "parsed"), [("90", (90, 0)), ("4.5", (45, 1)), ("-3", (-3, 0)), ("0.05", (5, 2)),
                                              ("1" + "0" * 38, (10**38, 0))])
def test_parse_value(text, parsed):
    assert parse_value(text) == parsed


@pytest.mark.parametrize(("text", "message"), [
    ("1e3", "plain decimal"), ("nan", "plain decimal"), ("", "plain decimal"), ("9.", "plain decimal"),
    ("1" + "0" * 39, "too large"), ("0." + "1" * 19, "at most 18"),
])
def test_parse_value__bad__clear_error(text, message):
    with pytest.raises(InputError, match=message):
        parse_value(text)


def test_feedback__bad_input__refused_before_anything(embedded_node, agent, settled_bundle, payer):
    client = embedded_node.as_account(payer)
    bundle = settled_bundle()
    with pytest.raises(InputError, match="--tag1 is 65 bytes long: at most 64"):
        give_feedback(client, bundle, "90", tag1="t" * 65)
    with pytest.raises(LedgerError, match="not a readable record bundle"):
        give_feedback(client, {"record": {}}, "90")
    forged = {**bundle, "record": {**bundle["record"], "digest": "0x" + "11" * 32}}
    with pytest.raises(LedgerError, match="the bundle's digest is not its record's"):
        give_feedback(client, forged, "90")
    assert _feedback_logs(embedded_node) == 0
