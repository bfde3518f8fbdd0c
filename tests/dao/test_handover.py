"""The handover on the real chains (embedded py-evm and anvil): every owner role goes to the
DAO's timelock, after which the deploying account can change nothing; running it again, or
after a crash half-way, finishes it; a contract someone else owns stops it before anything moves."""

from __future__ import annotations

import pytest

from tantieme.chain.accounts import dev_account
from tantieme.chain.deploy import contract
from tantieme.dao import OWNED, handover, state
from tantieme.errors import ChainError, ConfigError
from tantieme.maintenance import doctor

NOT_OWNER = "ownable: caller is not the owner"
STRANGER = dev_account(5).address


def old_owner_calls(node) -> dict[str, list[tuple[object, str]]]:
    """Every call that changes a parameter, by contract of `OWNED`, with the reason it fails
    for the deploying account once the DAO owns the contract."""
    token, ledger = node.token.functions, node.ledger.functions
    pool = contract(node.conn, "commons_pool", node.deployment.commons_pool).functions
    disputes = contract(node.conn, "dispute_module", node.deployment.disputes).functions
    return {
        "AI token": [
            (token.set_minter(STRANGER, True), NOT_OWNER),
            (token.transfer_ownership(STRANGER), NOT_OWNER),
            (token.renounce_ownership(), NOT_OWNER),
            (token.mint(STRANGER, 1), "erc20: access is denied"),  # the minter role went with the owner's
        ],
        "interaction ledger": [
            (ledger.setSplit(900, 900), NOT_OWNER),
            (ledger.setCommons(STRANGER), NOT_OWNER),
            (ledger.transfer_ownership(STRANGER), NOT_OWNER),
            (ledger.renounce_ownership(), NOT_OWNER),
        ],
        "commons pool": [
            (pool.remove(STRANGER), NOT_OWNER),
            (pool.setBond(1), NOT_OWNER),
            (pool.setDividendRules(30, 1000, 14), NOT_OWNER),
            (pool.transfer_ownership(STRANGER), NOT_OWNER),
            (pool.renounce_ownership(), NOT_OWNER),
        ],
        "dispute module": [
            (disputes.setArbiter(STRANGER), NOT_OWNER),
            (disputes.setBond(1), NOT_OWNER),
            (disputes.setCancelFee(0), NOT_OWNER),
            (disputes.setTagAllowed(b"X".ljust(32, b"\0"), True), NOT_OWNER),
            (disputes.clearTag(1), NOT_OWNER),
            (disputes.uphold(1, STRANGER), "disputes: caller is not the arbiter or the owner"),
            (disputes.reject(1), "disputes: caller is not the arbiter or the owner"),
            (disputes.transfer_ownership(STRANGER), NOT_OWNER),
            (disputes.renounce_ownership(), NOT_OWNER),
        ],
    }


def test_handover__the_deployer_can_change_nothing_after_it(node):
    before = state(node)
    assert [(h.name, h.owner, h.dao) for h in before] == [(o.name, node.address, False) for o in OWNED]
    split = (node.ledger.functions.commons_bps().call(), node.ledger.functions.operator_bps().call())

    after = handover(node)

    assert all(h.dao and h.owner == node.deployment.timelock and h.tx.startswith("0x") for h in after)
    assert state(node) == [h.__class__(h.name, h.address, h.owner, True) for h in after]
    calls = old_owner_calls(node)
    assert set(calls) == {o.name for o in OWNED}, "list the owner-only calls of every contract handed over"
    for name, tries in calls.items():
        for fn, reason in tries:
            with pytest.raises(ChainError) as refused:
                node.conn.transact(fn)
            assert str(refused.value) == reason, (name, fn.fn_name)
    # Contracts without an owner role: the registry's one-time wiring, the DAO's own settings.
    registry, timelock = node.registry.functions, contract(node.conn, "timelock", node.deployment.timelock).functions
    governor = contract(node.conn, "governor", node.deployment.governor).functions
    for fn, reason in [
        (registry.setRoyaltyRouter(node.deployment.router), "registry: royalty router already set"),
        (node.router.functions.setDisputeModule(node.deployment.disputes), "router: dispute module already set"),
        (timelock.grantRole(bytes(32), node.address), "access_control: account is missing role"),
        (timelock.update_delay(0), "timelock_controller: caller must be timelock"),
        (governor.setVotingPeriod(1), "governor: caller is not the timelock"),
        (governor.updateQuorumNumerator(1), "governor: caller is not the timelock"),
    ]:
        with pytest.raises(ChainError) as refused:
            node.conn.transact(fn)
        assert str(refused.value) == reason
    assert (node.ledger.functions.commons_bps().call(), node.ledger.functions.operator_bps().call()) == split
    with pytest.raises(ConfigError, match="the faucet is closed: the AI token's minter role went to the DAO"):
        node.faucet(STRANGER)


def test_handover__twice__sends_nothing_the_second_time(node):
    handover(node)
    block = node.conn.w3.eth.block_number
    again = handover(node)
    assert all(h.dao and h.tx is None for h in again)
    assert node.conn.w3.eth.block_number == block


def test_handover__cut_short__doctor_reports_it_and_a_rerun_finishes_it(node):
    node.conn.transact(node.token.functions.transfer_ownership(node.deployment.timelock))  # then a crash
    node.close()
    found = {f.name: f for f in doctor.run().findings}["handover"]
    assert not found.ok and "stopped half-way" in found.detail and "interaction ledger" in found.detail
    assert "AI token" not in found.detail
    assert "`tantieme dao handover`" in found.fix
    from tantieme.node import Node

    with Node.open() as reopened:
        finished = handover(reopened)
    assert finished[0].tx is None and all(h.tx for h in finished[1:])  # the token was handed over already
    assert {f.name: f for f in doctor.run().findings}["handover"].ok


def test_handover__a_contract_owned_by_someone_else__refused_before_anything_moves(node):
    node.conn.transact(node.ledger.functions.transfer_ownership(STRANGER))
    with pytest.raises(ConfigError, match=f"the interaction ledger .* is owned by {STRANGER}.*nothing was transferred"):
        handover(node)
    owners = {h.name: h.owner for h in state(node)}
    assert owners.pop("interaction ledger") == STRANGER
    assert set(owners.values()) == {node.address}  # nothing was handed over
