"""InteractionLedger: one-transaction settlement of signed batches, the split
to the wei, deposits and permits, DAT claims by inclusion proof, and gas.

Batches and records are signed with `tantieme.ledger.records` and trees built
with `tantieme.ledger.merkle`: the contract must agree with an independent
EIP-712 and Merkle implementation, and with the pinned vectors.
"""

from __future__ import annotations

import base64
import bisect
import copy
import itertools
import json
import random
from pathlib import Path

import boa
import pytest
from eth_abi import encode as abi_encode
from eth_utils import keccak
from hypothesis import given
from hypothesis import strategies as st

from tantieme.chain.permit import sign_receive_authorization
from tantieme.ledger.merkle import StandardMerkleTree, standard_leaf_hash
from tantieme.ledger.records import (
    BATCH_TYPEHASH,
    INTERACTION_TYPEHASH,
    RECORD_LEAF_ENCODING,
    Batch,
    Domain,
    InteractionRecord,
    record_leaf_hash,
    record_tree,
)
from tantieme.ledger.settlement import BATCH_DEADLINE_S
from tantieme.payments.deposit import authorization_nonce

from .conftest import FUZZ, LOCAL_CHAIN_ID, MAX_UINT256, ONE_TOKEN, ZERO_ADDRESS, events, fresh_state
from .ledger_fixtures import (  # noqa: F401 (fixtures)
    COMMONS_BPS,
    FAR,
    OPERATOR_BPS,
    POOL,
    URI,
    batch_abi,
    begin_tx,
    commons_pool,
    credit_args,
    deploy_world,
    ledger,
    ledger_deployer,
    make_batch,
    make_records,
    net_records,
    new_root,
    payer_b,
    permit_signature,
    pool_of,
    proof_of,
    receipt_gas,
    record_abi,
    settle,
    share_out,
    shares_tree,
    sign,
    split,
    vrs,
    world,
)

VECTORS = Path(__file__).resolve().parents[1] / "ledger" / "data" / "eip712_vectors.json"
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141

WITHDRAWAL_DELAY = 2 * 86_400
"""Seconds a requested withdrawal waits (`InteractionLedger.WITHDRAWAL_DELAY`)."""


def forged(batch: Batch, **changes) -> Batch:
    """`batch` with fields the Python side refuses (count 0, zero operator,
    repeated assets...): the contract must refuse them too."""
    forged_batch = copy.copy(batch)
    for name, value in changes.items():
        object.__setattr__(forged_batch, name, value)
    return forged_batch


def balances(world, *holders) -> list[int]:
    return [world.token.balanceOf(h) for h in holders]


# ---------------------------------------------------------------- deploy --


def test_deploy(world, deployer):
    ledger, token, router = world.ledger, world.token, world.router
    assert ledger.name() == "tantieme Data Anchoring Token"
    assert ledger.symbol() == "DAT"
    assert ledger.owner() == deployer
    assert (ledger.token(), ledger.registry(), ledger.router()) == (
        token.address,
        world.registry.address,
        router.address,
    )
    assert (ledger.commons(), ledger.commons_bps(), ledger.operator_bps()) == (world.commons, 1_000, 500)
    assert ledger.batchCount() == 0 and ledger.totalSupply() == 0
    assert token.allowance(ledger.address, router.address) == MAX_UINT256
    assert router.MAX_CREDITS() == 128
    assert ledger.BATCH_TYPEHASH() == BATCH_TYPEHASH
    assert ledger.INTERACTION_TYPEHASH() == INTERACTION_TYPEHASH
    assert ledger.DOMAIN_SEPARATOR() == world.domain().separator
    fields, name, version, chain_id, verifying, salt, extensions = ledger.eip712Domain()
    assert (fields, name, version, chain_id, verifying) == (
        b"\x0f",
        "tantieme InteractionLedger",
        "1",
        boa.env.evm.patch.chain_id,
        ledger.address,
    )
    assert (salt, extensions) == (b"\x00" * 32, [])


def test_deploy__router_of_another_token__reverts(world, token_deployer, ledger_deployer, commons_pool):
    other = token_deployer.deploy("Other", "OTH", "Other", "1", 0)
    with boa.reverts("ledger: router pays in another token"):
        ledger_deployer.deploy(
            other.address, world.registry.address, world.router.address, commons_pool, 0, 0, world.ledger.metadata()
        )


def test_deploy__router_of_another_registry__reverts(world, ledger_deployer, commons_pool, stranger):
    with boa.reverts("ledger: router serves another registry"):
        ledger_deployer.deploy(
            world.token.address, stranger, world.router.address, commons_pool, 0, 0, world.ledger.metadata()
        )


def test_deploy__zero_metadata_renderer__reverts(world, ledger_deployer, commons_pool):
    with boa.reverts("ledger: metadata renderer is the zero address"):
        ledger_deployer.deploy(
            world.token.address, world.registry.address, world.router.address, commons_pool, 0, 0, ZERO_ADDRESS
        )


def test_deploy__zero_commons__reverts(world, ledger_deployer):
    with boa.reverts("ledger: commons is the zero address"):
        ledger_deployer.deploy(
            world.token.address, world.registry.address, world.router.address, ZERO_ADDRESS, 0, 0,
            world.ledger.metadata(),
        )


def test_deploy__split_over_a_whole__reverts(world, ledger_deployer, commons_pool):
    with boa.reverts("ledger: split exceeds 10,000 bps"):
        ledger_deployer.deploy(
            world.token.address, world.registry.address, world.router.address, commons_pool, 5_000, 5_001,
            world.ledger.metadata(),
        )


def _interface_id(*signatures: str) -> int:
    interface = 0
    for signature in signatures:
        interface ^= int.from_bytes(keccak(text=signature)[:4], "big")
    return interface


ERC721 = (
    "balanceOf(address)",
    "ownerOf(uint256)",
    "safeTransferFrom(address,address,uint256,bytes)",
    "safeTransferFrom(address,address,uint256)",
    "transferFrom(address,address,uint256)",
    "approve(address,uint256)",
    "setApprovalForAll(address,bool)",
    "getApproved(uint256)",
    "isApprovedForAll(address,address)",
)
INTERFACES = {
    "ERC-165": ("supportsInterface(bytes4)",),
    "ERC-721": ERC721,
    "ERC-721 metadata": ("name()", "symbol()", "tokenURI(uint256)"),
    "ERC-721 enumerable": ("totalSupply()", "tokenOfOwnerByIndex(address,uint256)", "tokenByIndex(uint256)"),
}
# EIP-4494 as the EIP writes it (`bytes sig`; its interface id, 0x5604e225,
# recomputed here from the selectors) and snekmate's (v, r, s) variant.
ERC4494 = ("permit(address,uint256,uint256,bytes)", "nonces(uint256)", "DOMAIN_SEPARATOR()")
SNEKMATE_4494 = ("permit(address,uint256,uint256,uint8,bytes32,bytes32)", "nonces(uint256)", "DOMAIN_SEPARATOR()")


@pytest.mark.parametrize("name", INTERFACES)
def test_supports_interface(ledger, name):
    signatures = INTERFACES[name]
    abi = {
        f"{item['name']}({','.join(i['type'] for i in item['inputs'])})"
        for item in ledger.abi
        if item["type"] == "function"
    }
    assert set(signatures) <= abi  # it answers only for what it serves
    assert ledger.supportsInterface(_interface_id(*signatures).to_bytes(4, "big"))


def test_supports_interface__others_are_false(ledger):
    assert ledger.supportsInterface(bytes.fromhex("49064906"))  # ERC-4906: events only
    for interface in ("ffffffff", "d9b67a26", "36372b07", "2a55205a"):  # none, 1155, 20, 2981
        assert not ledger.supportsInterface(bytes.fromhex(interface))


def test_supports_interface__no_erc4494(ledger):
    """EIP-4494's id is 0x5604e225 (its text, and its selectors); snekmate's
    variant answers 0x589c5ce2. The ledger serves neither permit, and says so."""
    assert _interface_id(*ERC4494) == 0x5604E225
    assert _interface_id(*SNEKMATE_4494) == 0x589C5CE2
    for signatures in (ERC4494, SNEKMATE_4494):
        assert not ledger.supportsInterface(_interface_id(*signatures).to_bytes(4, "big"))
    names = {item["name"] for item in ledger.abi if item["type"] == "function"}
    assert "permit" not in names and "nonces" not in names
    assert "DOMAIN_SEPARATOR" in names  # batches and records are signed in it


# ----------------------------------------------------------------- split --


@pytest.mark.parametrize("total", [0, 1, 9_999, 10_000, 10_001, 19_999, 10**18 + 7, 2**96 - 1, 2**256 - 1])
def test_split(ledger, total):
    assert ledger.split(total) == split(total)
    assert sum(ledger.split(total)) == total


def test_split__parity_with_netting(ledger):
    netting = pytest.importorskip("tantieme.ledger.netting")
    for total in (1, 9_999, 10**18 + 7, 3 * 10**21 + 11):
        expected = netting.Split.of(total, COMMONS_BPS, OPERATOR_BPS)
        assert ledger.split(total) == (expected.commons, expected.operator, expected.assets)


@given(total=st.integers(0, 2**256 - 1), commons=st.integers(0, 10_000), operator=st.integers(0, 10_000))
@FUZZ
def test_split__fuzz(ledger, deployer, total, commons, operator):
    operator = min(operator, 10_000 - commons)
    with fresh_state():
        ledger.setSplit(commons, operator, sender=deployer)
        assert ledger.split(total) == split(total, commons, operator)


def test_set_split(ledger, deployer):
    ledger.setSplit(2_000, 300, sender=deployer)
    [log] = events(ledger, "SplitChanged")
    assert (log.commons_bps, log.operator_bps) == (2_000, 300)
    assert (ledger.commons_bps(), ledger.operator_bps()) == (2_000, 300)
    assert ledger.split(10_000) == (2_000, 300, 7_700)


def test_set_split__a_whole(ledger, deployer):
    ledger.setSplit(9_000, 1_000, sender=deployer)
    assert ledger.split(10_001) == (9_000, 1_000, 1)


def test_set_split__over_a_whole__reverts(ledger, deployer):
    with boa.reverts("ledger: split exceeds 10,000 bps"):
        ledger.setSplit(9_000, 1_001, sender=deployer)


def test_set_split__not_owner__reverts(ledger, stranger):
    with boa.reverts("ownable: caller is not the owner"):
        ledger.setSplit(0, 0, sender=stranger)


def test_set_commons(ledger, deployer, stranger, commons_pool):
    ledger.setCommons(stranger, sender=deployer)
    [log] = events(ledger, "CommonsChanged")
    assert (log.previous_commons, log.new_commons) == (commons_pool, stranger)
    assert ledger.commons() == stranger


def test_set_commons__zero__reverts(ledger, deployer):
    with boa.reverts("ledger: commons is the zero address"):
        ledger.setCommons(ZERO_ADDRESS, sender=deployer)


def test_set_commons__not_owner__reverts(ledger, stranger):
    with boa.reverts("ownable: caller is not the owner"):
        ledger.setCommons(stranger, sender=stranger)


def test_transfer_ownership__to_the_dao(ledger, deployer, stranger):
    dao = stranger
    ledger.transfer_ownership(dao, sender=deployer)
    ledger.setSplit(1, 2, sender=dao)
    with boa.reverts("ownable: caller is not the owner"):
        ledger.setSplit(0, 0, sender=deployer)


# ---------------------------------------------------------------- settle --


def test_settle__from_allowance(world, payer, operator, commons_pool):
    ledger, router = world.ledger, world.router
    model, source = world.models[0], world.assets[10]
    total = 3 * ONE_TOKEN + 7
    commons_fee, operator_fee, to_assets = split(total)
    tree = shares_tree({model: to_assets - 5, source: 5})
    batch = make_batch(world, payer, total, tree=tree, count=1_000)
    before = balances(world, payer.address, commons_pool, operator, router.address, ledger.address)

    batch_id = settle(world, payer, batch)

    [log] = events(ledger, "BatchSettled")
    assert batch_id == 1
    assert (log.batch_id, log.root, log.payer, log.operator, log.count, log.total) == (
        1,
        batch.root,
        payer.address,
        operator,
        1_000,
        total,
    )
    assert (log.commons, log.operator_fee, log.assets_root, log.uri) == (commons_fee, operator_fee, batch.assets_root, URI)
    after = balances(world, payer.address, commons_pool, operator, router.address, ledger.address)
    assert [a - b for a, b in zip(after, before)] == [-total, commons_fee, operator_fee, to_assets, 0]
    pool = pool_of(world, payer.address)
    assert pool == router.poolId(ledger.address, keccak(abi_encode(["address", "address"], [payer.address, operator])))
    assert router.pools(pool) == (batch.assets_root, to_assets)
    assert router.totalUnassigned() == router.totalPaid() == to_assets
    assert ledger.batches(1) == (batch.root, payer.address, operator, 1_000, total, boa.env.timestamp)
    assert ledger.batchOfRoot(operator, batch.root) == 1
    assert ledger.batchNonces(payer.address, operator) == 1
    assert ledger.batchCount() == 1
    assert ledger.deposits(payer.address, world.operator) == 0


def test_settle__from_deposit(world, payer, operator, commons_pool):
    ledger, token = world.ledger, world.token
    ledger.deposit(world.operator, 10 * ONE_TOKEN, sender=payer.address)
    token.approve(ledger.address, 0, sender=payer.address)  # the deposit alone pays
    total = 4 * ONE_TOKEN
    commons_fee, operator_fee, to_assets = split(total)
    before = balances(world, payer.address, ledger.address, commons_pool, operator, world.router.address)

    settle(world, payer, make_batch(world, payer, total))

    after = balances(world, payer.address, ledger.address, commons_pool, operator, world.router.address)
    assert [a - b for a, b in zip(after, before)] == [0, -total, commons_fee, operator_fee, to_assets]
    assert ledger.deposits(payer.address, world.operator) == 6 * ONE_TOKEN


def test_settle__deposit_too_small__takes_the_allowance(world, payer):
    ledger, token = world.ledger, world.token
    ledger.deposit(world.operator, ONE_TOKEN, sender=payer.address)
    before = token.balanceOf(payer.address)
    settle(world, payer, make_batch(world, payer, 2 * ONE_TOKEN))
    assert ledger.deposits(payer.address, world.operator) == ONE_TOKEN
    assert token.balanceOf(payer.address) == before - 2 * ONE_TOKEN
    assert token.balanceOf(ledger.address) == ONE_TOKEN


def test_settle__neither_deposit_nor_allowance__reverts(world, payer):
    world.token.approve(world.ledger.address, ONE_TOKEN - 1, sender=payer.address)
    with boa.reverts("erc20: insufficient allowance"):
        settle(world, payer, make_batch(world, payer, ONE_TOKEN))


@pytest.mark.parametrize("who", ["payer", "stranger"])
def test_settle__sent_by_another_than_the_operator__reverts(world, payer, stranger, who):
    sender = payer.address if who == "payer" else stranger
    with boa.reverts("ledger: caller is not the operator"):
        settle(world, payer, make_batch(world, payer, ONE_TOKEN), sender=sender)


def test_settle__the_dust_goes_to_the_assets(world, payer, commons_pool, operator):
    # 19,999 wei: the commons pool 1,999 (not 1,999.9), the operator 999.
    settle(world, payer, make_batch(world, payer, 19_999, world.assets[4:7]))
    assert world.token.balanceOf(commons_pool) == 1_999
    assert world.token.balanceOf(operator) == 999
    assert world.router.pools(pool_of(world, payer.address))[1] == 17_001


def test_settle__nothing_for_the_assets(world, payer, deployer, operator, commons_pool):
    world.ledger.setSplit(9_000, 1_000, sender=deployer)
    batch = make_batch(world, payer, 10_000, [], split_bps=(9_000, 1_000))
    assert batch.assets_root == bytes(32)  # nothing to commit
    settle(world, payer, batch)
    assert balances(world, commons_pool, operator, world.router.address) == [9_000, 1_000, 0]
    assert world.router.pools(pool_of(world, payer.address)) == (bytes(32), 0)


def test_settle__assets_paid_without_a_root__reverts(world, payer):
    batch = make_batch(world, payer, ONE_TOKEN, [])
    with boa.reverts("ledger: empty assets root"):
        settle(world, payer, batch)


def test_settle__zero_total__reverts(world, payer):
    """A DAT proves a payment: a free batch is no batch."""
    batch = forged(make_batch(world, payer, 1, []), total=0)
    with boa.reverts("ledger: zero total"):
        settle(world, payer, batch)


def test_settle__one_wei(world, payer, commons_pool, operator):
    settle(world, payer, make_batch(world, payer, 1))
    assert balances(world, commons_pool, operator, world.router.address) == [0, 0, 1]


def test_settle__nonces_are_per_payer_and_operator(world, payer, payer_b, operator, stranger):
    ledger = world.ledger
    settle(world, payer, make_batch(world, payer, ONE_TOKEN, nonce=0))
    settle(world, payer, make_batch(world, payer, ONE_TOKEN, nonce=1))
    settle(world, payer_b, make_batch(world, payer_b, ONE_TOKEN, nonce=0))
    settle(world, payer, make_batch(world, payer, ONE_TOKEN, nonce=0, operator=stranger))
    assert ledger.batchNonces(payer.address, operator) == 2
    assert ledger.batchNonces(payer_b.address, operator) == 1
    assert ledger.batchNonces(payer.address, stranger) == 1
    assert ledger.batchCount() == 4


def test_settle__one_operators_open_batch_does_not_block_anothers(world, payer, operator, stranger):
    """Attack trace: operator A holds the payer's signed batch (nonce 0);
    operator B settles its own batch of the same payer first. A's batch
    still settles: nonces count per payer and operator."""
    a_batch = make_batch(world, payer, 5 * ONE_TOKEN, operator=operator)
    b_batch = make_batch(world, payer, ONE_TOKEN, operator=stranger)
    assert a_batch.batch_nonce == b_batch.batch_nonce == 0
    assert settle(world, payer, b_batch) == 1
    assert settle(world, payer, a_batch) == 2


def test_settle__the_payer_cannot_cancel_a_batch_it_was_served_for(world, payer, operator):
    """Attack trace: the payer, served by the operator, signs a batch of
    5 tokens (nonce 0) for it, then tries to make it void before it lands:
    (1) by settling a 1-wei batch with the same nonce itself, (2) as its
    own operator, with the same records' root. Neither works: only the
    batch's operator submits, and roots are unique per operator."""
    served = make_batch(world, payer, 5 * ONE_TOKEN, operator=operator)
    cheap = make_batch(world, payer, 1, operator=operator, nonce=0)
    with boa.reverts("ledger: caller is not the operator"):
        settle(world, payer, cheap, sender=payer.address)
    squat = make_batch(world, payer, 1, operator=payer.address, root=served.root)
    settle(world, payer, squat)  # the payer's own pool and nonce: nothing of the operator's
    assert settle(world, payer, served) == 2
    assert world.ledger.batchOfRoot(operator, served.root) == 2
    assert world.ledger.batchOfRoot(payer.address, served.root) == 1


def test_settle__one_root_per_operator(world, payer, payer_b):
    # Two payers' batches under one root: the operator anchors it once.
    root = new_root()
    settle(world, payer_b, make_batch(world, payer_b, ONE_TOKEN, root=root))
    with boa.reverts("ledger: root already anchored"):
        settle(world, payer, make_batch(world, payer, ONE_TOKEN, root=root))


# -- settle: the split the payer signed


def test_settle__pays_the_split_the_payer_signed(world, payer, deployer, operator, commons_pool, stranger):
    """The DAO's new split and commons pool apply to batches signed under them."""
    ledger = world.ledger
    ledger.setSplit(2_000, 700, sender=deployer)
    ledger.setCommons(stranger, sender=deployer)
    total = 10**18 + 9
    batch = make_batch(world, payer, total, split_bps=(2_000, 700), commons=stranger)
    before = balances(world, stranger, commons_pool, operator, world.router.address)
    settle(world, payer, batch)
    after = balances(world, stranger, commons_pool, operator, world.router.address)
    commons_fee, operator_fee, to_assets = split(total, 2_000, 700)
    assert [a - b for a, b in zip(after, before)] == [commons_fee, 0, operator_fee, to_assets]


@pytest.mark.parametrize(
    "change",
    [
        # The owner moves the operator's fee to the commons pool (sum unchanged).
        ("split", (COMMONS_BPS + OPERATOR_BPS, 0)),
        # ... or to itself, through a commons pool of its own.
        ("commons", None),
        # ... or moves the assets' part to the operator.
        ("split", (COMMONS_BPS, 10_000 - COMMONS_BPS)),
    ],
    ids=["operator fee to the commons", "commons redirected", "assets' part to the operator"],
)
def test_settle__split_changed_after_signing__reverts(world, payer, deployer, change):
    """Attack trace: the payer signs under the current rules; the owner
    changes them before the batch lands. The batch no longer settles."""
    batch = make_batch(world, payer, ONE_TOKEN)
    what, bps = change
    if what == "split":
        world.ledger.setSplit(*bps, sender=deployer)
        reason = "ledger: split is not the current one"
    else:
        world.ledger.setCommons(deployer, sender=deployer)
        reason = "ledger: commons is not the current one"
    with boa.reverts(reason):
        settle(world, payer, batch)


def test_settle__a_payer_signing_an_old_split__reverts(world, payer, deployer):
    """The other way round: after the DAO raised the commons share, a payer
    (or a node) signing the old, cheaper split cannot dodge it."""
    world.ledger.setSplit(2_500, OPERATOR_BPS, sender=deployer)
    with boa.reverts("ledger: split is not the current one"):
        settle(world, payer, make_batch(world, payer, ONE_TOKEN))
    with boa.reverts("ledger: commons is not the current one"):
        settle(world, payer, make_batch(world, payer, ONE_TOKEN, split_bps=(2_500, OPERATOR_BPS), commons=deployer))
    assert settle(world, payer, make_batch(world, payer, ONE_TOKEN, split_bps=(2_500, OPERATOR_BPS))) == 1


# -- settle: what is refused


def test_settle__replayed__reverts(world, payer):
    batch = make_batch(world, payer, ONE_TOKEN)
    settle(world, payer, batch)
    before = balances(world, payer.address, world.router.address)
    with boa.reverts("ledger: wrong batch nonce"):
        settle(world, payer, batch)
    assert balances(world, payer.address, world.router.address) == before


def test_settle__replayed_from_deposit__reverts(world, payer):
    world.ledger.deposit(world.operator, 10 * ONE_TOKEN, sender=payer.address)
    batch = make_batch(world, payer, ONE_TOKEN)
    settle(world, payer, batch)
    with boa.reverts("ledger: wrong batch nonce"):
        settle(world, payer, batch)
    assert world.ledger.deposits(payer.address, world.operator) == 9 * ONE_TOKEN


def test_settle__same_root_again__reverts(world, payer):
    batch = make_batch(world, payer, ONE_TOKEN)
    settle(world, payer, batch)
    again = make_batch(world, payer, 2 * ONE_TOKEN, root=batch.root)  # the next nonce, a new signature
    with boa.reverts("ledger: root already anchored"):
        settle(world, payer, again)


def test_settle__future_nonce__reverts(world, payer):
    with boa.reverts("ledger: wrong batch nonce"):
        settle(world, payer, make_batch(world, payer, ONE_TOKEN, nonce=1))


def test_settle__deadline(world, payer):
    now = boa.env.timestamp
    with boa.reverts("ledger: batch deadline passed"):
        settle(world, payer, make_batch(world, payer, ONE_TOKEN, deadline=now - 1))
    assert settle(world, payer, make_batch(world, payer, ONE_TOKEN, deadline=now)) == 1


@pytest.mark.parametrize(
    "changes, reason",
    [
        ({"root": b"\x00" * 32}, "ledger: empty root"),
        ({"count": 0}, "ledger: empty batch"),
        ({"count": 2**56}, "ledger: count too large"),
        ({"total": 2**96}, "ledger: total too large"),
        ({"assets_root": b"\x00" * 32}, "ledger: empty assets root"),
    ],
    ids=lambda x: x if isinstance(x, str) else None,
)
def test_settle__malformed__reverts(world, payer, changes, reason):
    batch = forged(make_batch(world, payer, ONE_TOKEN), **changes)
    with boa.reverts(reason):
        settle(world, payer, batch)


def test_settle__largest_count_and_total(world, payer, deployer):
    world.token.mint(payer.address, 2**96, sender=deployer)
    batch = make_batch(world, payer, 2**96 - 1, count=2**56 - 1)
    settle(world, payer, batch)
    assert world.ledger.batches(1)[3:5] == (2**56 - 1, 2**96 - 1)


def test_settle__signed_by_another_key__reverts(world, payer, payer_b):
    with boa.reverts("ledger: invalid signature"):
        settle(world, payer, make_batch(world, payer, ONE_TOKEN), signer=payer_b)


def test_settle__for_another_payer__reverts(world, payer, payer_b):
    # payer_b's signed batch, presented as payer's: nobody pays for another.
    batch = make_batch(world, payer_b, ONE_TOKEN)
    v, r, s = sign(batch, payer_b, world.domain())
    with boa.reverts("ledger: invalid signature"):
        world.ledger.settle(batch_abi(batch), payer.address, v, r, s, URI, sender=batch.operator)


def test_settle__high_s_twin__reverts(world, payer):
    batch = make_batch(world, payer, ONE_TOKEN)
    v, r, s = sign(batch, payer, world.domain())
    twin_s = (SECP256K1_N - int.from_bytes(s, "big")).to_bytes(32, "big")
    with boa.reverts("ecdsa: invalid signature `s` value"):
        world.ledger.settle(batch_abi(batch), payer.address, 55 - v, r, twin_s, URI, sender=batch.operator)


TAMPERINGS = {
    "root": lambda b, w: {"root": keccak(b.root)},
    "count": lambda b, w: {"count": b.count + 1},
    "assets_root": lambda b, w: {"assets_root": keccak(b.assets_root)},
    "total": lambda b, w: {"total": b.total + 10_000},
    "deadline": lambda b, w: {"deadline": b.deadline + 1},
}


@pytest.mark.parametrize("field", TAMPERINGS)
def test_settle__tampered_after_signing__reverts(world, payer, field):
    batch = make_batch(world, payer, ONE_TOKEN, world.assets[4:6])
    v, r, s = sign(batch, payer, world.domain())
    tampered = forged(batch, **TAMPERINGS[field](batch, world))
    with boa.reverts("ledger: invalid signature"):
        world.ledger.settle(batch_abi(tampered), payer.address, v, r, s, URI, sender=batch.operator)


def test_settle__signed_for_another_ledger__reverts(world, payer, ledger_deployer, deployer, commons_pool):
    with boa.env.prank(deployer):
        twin = ledger_deployer.deploy(
            world.token.address, world.registry.address, world.router.address, commons_pool, COMMONS_BPS,
            OPERATOR_BPS, world.ledger.metadata(),
        )
    world.token.approve(twin.address, MAX_UINT256, sender=payer.address)
    batch = make_batch(world, payer, ONE_TOKEN)
    with boa.reverts("ledger: invalid signature"):
        settle(world, payer, batch, domain=world.domain(twin))
    assert settle(world, payer, batch, domain=world.domain(twin), ledger=twin) == 1
    with boa.reverts("ledger: wrong batch nonce"):  # not twice on the twin either
        settle(world, payer, batch, domain=world.domain(twin), ledger=twin)


def test_settle__signed_for_another_chain__reverts(world, payer):
    ledger = world.ledger
    batch = make_batch(world, payer, ONE_TOKEN)
    other_chain = Domain(31_337, ledger.address)
    assert boa.env.evm.patch.chain_id != 31_337
    with boa.reverts("ledger: invalid signature"):
        settle(world, payer, batch, domain=other_chain)
    this_chain = world.domain()
    boa.env.evm.patch.chain_id = 31_337  # the anchor restores it
    assert ledger.DOMAIN_SEPARATOR() == other_chain.separator
    with boa.reverts("ledger: invalid signature"):
        settle(world, payer, batch, domain=this_chain)
    assert settle(world, payer, batch, domain=other_chain) == 1


# ------------------------------------------------------------ permit --


def _settle_with_permit(world, payer, batch, permit, value, deadline):
    v, r, s = sign(batch, payer, world.domain())
    pv, pr, ps = permit
    return world.ledger.settleWithPermit(
        batch_abi(batch), payer.address, v, r, s, URI, value, deadline, pv, pr, ps, sender=batch.operator
    )


def test_settle_with_permit(world, payer):
    token, ledger = world.token, world.ledger
    token.approve(ledger.address, 0, sender=payer.address)
    deadline = boa.env.timestamp + 600
    permit = permit_signature(token, payer, ledger.address, 5 * ONE_TOKEN, deadline)
    before = token.balanceOf(payer.address)
    batch = make_batch(world, payer, 2 * ONE_TOKEN)
    assert _settle_with_permit(world, payer, batch, permit, 5 * ONE_TOKEN, deadline) == 1
    assert token.allowance(payer.address, ledger.address) == 3 * ONE_TOKEN
    assert token.nonces(payer.address) == 1
    assert token.balanceOf(payer.address) == before - 2 * ONE_TOKEN


def test_settle_with_permit__front_run_permit(world, payer, stranger):
    token, ledger = world.token, world.ledger
    token.approve(ledger.address, 0, sender=payer.address)
    deadline = boa.env.timestamp + 600
    permit = permit_signature(token, payer, ledger.address, 5 * ONE_TOKEN, deadline)
    token.permit(payer.address, ledger.address, 5 * ONE_TOKEN, deadline, *permit, sender=stranger)  # front-run
    batch = make_batch(world, payer, 2 * ONE_TOKEN)
    assert _settle_with_permit(world, payer, batch, permit, 5 * ONE_TOKEN, deadline) == 1
    assert token.allowance(payer.address, ledger.address) == 3 * ONE_TOKEN


def test_settle_with_permit__expired_permit_but_allowance(world, payer):
    deadline = boa.env.timestamp - 1
    permit = permit_signature(world.token, payer, world.ledger.address, ONE_TOKEN, deadline)
    assert _settle_with_permit(world, payer, make_batch(world, payer, ONE_TOKEN), permit, ONE_TOKEN, deadline) == 1


def test_settle_with_permit__bad_permit_but_deposit(world, payer):
    world.ledger.deposit(world.operator, ONE_TOKEN, sender=payer.address)
    world.token.approve(world.ledger.address, 0, sender=payer.address)
    permit = (27, b"\x01" * 32, b"\x01" * 32)
    assert _settle_with_permit(world, payer, make_batch(world, payer, ONE_TOKEN), permit, ONE_TOKEN, FAR) == 1
    assert world.ledger.deposits(payer.address, world.operator) == 0


def test_settle_with_permit__bad_permit_and_no_allowance__reverts(world, payer, payer_b):
    world.token.approve(world.ledger.address, ONE_TOKEN - 1, sender=payer.address)
    permit = permit_signature(world.token, payer_b, world.ledger.address, ONE_TOKEN, FAR)  # wrong signer
    with boa.reverts("ledger: permit failed and allowance is too low"):
        _settle_with_permit(world, payer, make_batch(world, payer, ONE_TOKEN), permit, ONE_TOKEN, FAR)


# ------------------------------------------------------------ deposits --


def test_deposit(world, payer):
    ledger, token = world.ledger, world.token
    before = token.balanceOf(payer.address)
    ledger.deposit(world.operator, 3 * ONE_TOKEN, sender=payer.address)
    [log] = events(ledger, "Deposited")
    assert (log.payer, log.operator, log.amount) == (payer.address, world.operator, 3 * ONE_TOKEN)
    assert ledger.deposits(payer.address, world.operator) == 3 * ONE_TOKEN
    assert token.balanceOf(payer.address) == before - 3 * ONE_TOKEN
    assert token.balanceOf(ledger.address) == 3 * ONE_TOKEN


def test_deposit__zero__reverts(world, payer):
    with boa.reverts("ledger: zero amount"):
        world.ledger.deposit(world.operator, 0, sender=payer.address)


def test_deposit__for_the_zero_operator__reverts(world, payer):
    with boa.reverts("ledger: operator is the zero address"):
        world.ledger.deposit(ZERO_ADDRESS, 1, sender=payer.address)


def test_deposit__without_allowance__reverts(world, stranger):
    with boa.reverts("erc20: insufficient allowance"):
        world.ledger.deposit(world.operator, 1, sender=stranger)


def test_deposit__earmarked__another_operator_cannot_draw_on_it(world, payer, stranger):
    """A payer cannot spend one deposit with two operators: each draws on its own."""
    world.ledger.deposit(world.operator, ONE_TOKEN, sender=payer.address)
    world.token.approve(world.ledger.address, 0, sender=payer.address)
    with boa.reverts("erc20: insufficient allowance"):
        settle(world, payer, make_batch(world, payer, ONE_TOKEN, operator=stranger))
    assert world.ledger.deposits(payer.address, stranger) == 0
    settle(world, payer, make_batch(world, payer, ONE_TOKEN))
    assert world.ledger.deposits(payer.address, world.operator) == 0


def test_deposit_with_permit(world, payer):
    ledger, token = world.ledger, world.token
    token.approve(ledger.address, 0, sender=payer.address)
    permit = permit_signature(token, payer, ledger.address, 2 * ONE_TOKEN, FAR)
    ledger.depositWithPermit(world.operator, 2 * ONE_TOKEN, FAR, *permit, sender=payer.address)
    assert ledger.deposits(payer.address, world.operator) == 2 * ONE_TOKEN
    assert token.allowance(payer.address, ledger.address) == 0
    assert token.balanceOf(ledger.address) == 2 * ONE_TOKEN


def test_deposit_with_permit__front_run_permit(world, payer, stranger):
    ledger, token = world.ledger, world.token
    token.approve(ledger.address, 0, sender=payer.address)
    permit = permit_signature(token, payer, ledger.address, ONE_TOKEN, FAR)
    token.permit(payer.address, ledger.address, ONE_TOKEN, FAR, *permit, sender=stranger)
    ledger.depositWithPermit(world.operator, ONE_TOKEN, FAR, *permit, sender=payer.address)
    assert ledger.deposits(payer.address, world.operator) == ONE_TOKEN


def test_deposit_with_permit__bad_permit_and_no_allowance__reverts(world, payer, payer_b):
    ledger, token = world.ledger, world.token
    token.approve(ledger.address, ONE_TOKEN - 1, sender=payer.address)
    permit = permit_signature(token, payer_b, ledger.address, ONE_TOKEN, FAR)  # wrong signer
    with boa.reverts("ledger: permit failed and allowance is too low"):
        ledger.depositWithPermit(world.operator, ONE_TOKEN, FAR, *permit, sender=payer.address)


def _authorization(world, payer, amount, *, operator=None, salt=b"\x07" * 32, before=FAR):
    nonce = authorization_nonce(operator or world.operator, salt)
    v, r, s = sign_receive_authorization(payer, world.token.eip712Domain(), world.ledger.address, amount, 0, before, nonce)
    return (payer.address, operator or world.operator, amount, 0, before, salt, v, r, s), nonce


def test_deposit_with_authorization__anyone_submits(world, payer, stranger):
    ledger, token = world.ledger, world.token
    token.approve(ledger.address, 0, sender=payer.address)  # no allowance needed
    before = token.balanceOf(payer.address)
    args, nonce = _authorization(world, payer, 3 * ONE_TOKEN)
    ledger.depositWithAuthorization(*args, sender=stranger)
    [log] = events(ledger, "Deposited")
    assert (log.payer, log.operator, log.amount) == (payer.address, world.operator, 3 * ONE_TOKEN)
    assert ledger.deposits(payer.address, world.operator) == 3 * ONE_TOKEN
    assert token.balanceOf(payer.address) == before - 3 * ONE_TOKEN
    assert token.authorizationState(payer.address, nonce)


def test_deposit_with_authorization__replayed__reverts(world, payer, stranger):
    args, _ = _authorization(world, payer, ONE_TOKEN)
    world.ledger.depositWithAuthorization(*args, sender=stranger)
    with boa.reverts("ai_token: authorization is used or canceled"):
        world.ledger.depositWithAuthorization(*args, sender=stranger)
    assert world.ledger.deposits(payer.address, world.operator) == ONE_TOKEN


def test_deposit_with_authorization__for_another_operator__reverts(world, payer, stranger):
    """The nonce names the operator: nobody can earmark the payer's tokens for another."""
    args, _ = _authorization(world, payer, ONE_TOKEN)
    stolen = (args[0], stranger, *args[2:])
    with boa.reverts("ai_token: invalid signature"):
        world.ledger.depositWithAuthorization(*stolen, sender=stranger)
    assert world.ledger.deposits(payer.address, stranger) == 0


def test_deposit_with_authorization__more_than_signed__reverts(world, payer, stranger):
    args, _ = _authorization(world, payer, ONE_TOKEN)
    with boa.reverts("ai_token: invalid signature"):
        world.ledger.depositWithAuthorization(args[0], args[1], ONE_TOKEN + 1, *args[3:], sender=stranger)


def test_deposit_with_authorization__expired__reverts(world, payer, stranger):
    args, _ = _authorization(world, payer, ONE_TOKEN, before=boa.env.timestamp)
    with boa.reverts("ai_token: authorization is expired"):
        world.ledger.depositWithAuthorization(*args, sender=stranger)


def _request(world, payer, amount):
    world.ledger.requestWithdrawal(world.operator, amount, sender=payer.address)
    return boa.env.timestamp + WITHDRAWAL_DELAY


def test_withdrawal_delay_is_longer_than_a_batch_deadline(ledger):
    assert ledger.WITHDRAWAL_DELAY() == WITHDRAWAL_DELAY == 2 * 86_400 > BATCH_DEADLINE_S


def test_request_withdrawal(world, payer):
    ledger = world.ledger
    ledger.deposit(world.operator, 3 * ONE_TOKEN, sender=payer.address)
    ready_at = _request(world, payer, ONE_TOKEN)
    [log] = events(ledger, "WithdrawalRequested")
    assert (log.payer, log.operator, log.amount, log.ready_at) == (payer.address, world.operator, ONE_TOKEN, ready_at)
    assert ledger.withdrawals(payer.address, world.operator) == (ONE_TOKEN, ready_at)
    assert ledger.deposits(payer.address, world.operator) == 3 * ONE_TOKEN  # nothing moves yet


def test_request_withdrawal__more_than_deposited__reverts(world, payer):
    world.ledger.deposit(world.operator, ONE_TOKEN, sender=payer.address)
    with boa.reverts("ledger: deposit too low"):
        world.ledger.requestWithdrawal(world.operator, ONE_TOKEN + 1, sender=payer.address)


def test_request_withdrawal__zero__reverts(world, payer):
    with boa.reverts("ledger: zero amount"):
        world.ledger.requestWithdrawal(world.operator, 0, sender=payer.address)


def test_withdraw__after_the_delay(world, payer):
    ledger, token = world.ledger, world.token
    ledger.deposit(world.operator, 3 * ONE_TOKEN, sender=payer.address)
    ready_at = _request(world, payer, ONE_TOKEN)
    boa.env.time_travel(seconds=ready_at - boa.env.timestamp)
    before = token.balanceOf(payer.address)
    assert ledger.withdraw(world.operator, sender=payer.address) == ONE_TOKEN
    [log] = events(ledger, "Withdrawn")
    assert (log.payer, log.operator, log.amount) == (payer.address, world.operator, ONE_TOKEN)
    assert ledger.deposits(payer.address, world.operator) == 2 * ONE_TOKEN
    assert ledger.withdrawals(payer.address, world.operator) == (0, 0)
    assert token.balanceOf(payer.address) == before + ONE_TOKEN


def test_withdraw__early__reverts(world, payer):
    ledger = world.ledger
    ledger.deposit(world.operator, ONE_TOKEN, sender=payer.address)
    ready_at = _request(world, payer, ONE_TOKEN)
    boa.env.time_travel(seconds=ready_at - boa.env.timestamp - 1)
    with boa.reverts("ledger: withdrawal not ready"):
        ledger.withdraw(world.operator, sender=payer.address)
    assert ledger.deposits(payer.address, world.operator) == ONE_TOKEN


def test_withdraw__a_new_request_restarts_the_delay(world, payer):
    ledger = world.ledger
    ledger.deposit(world.operator, 2 * ONE_TOKEN, sender=payer.address)
    _request(world, payer, ONE_TOKEN)
    boa.env.time_travel(seconds=WITHDRAWAL_DELAY - 10)
    ready_at = _request(world, payer, 2 * ONE_TOKEN)
    boa.env.time_travel(seconds=10)
    with boa.reverts("ledger: withdrawal not ready"):
        ledger.withdraw(world.operator, sender=payer.address)
    boa.env.time_travel(seconds=ready_at - boa.env.timestamp)
    assert ledger.withdraw(world.operator, sender=payer.address) == 2 * ONE_TOKEN


def test_withdraw__without_request__reverts(world, payer):
    world.ledger.deposit(world.operator, ONE_TOKEN, sender=payer.address)
    with boa.reverts("ledger: no withdrawal requested"):
        world.ledger.withdraw(world.operator, sender=payer.address)


def test_withdraw__another_payers_request__reverts(world, payer, stranger):
    world.ledger.deposit(world.operator, ONE_TOKEN, sender=payer.address)
    _request(world, payer, ONE_TOKEN)
    boa.env.time_travel(seconds=WITHDRAWAL_DELAY)
    with boa.reverts("ledger: no withdrawal requested"):
        world.ledger.withdraw(world.operator, sender=stranger)
    with boa.reverts("ledger: no withdrawal requested"):
        world.ledger.withdraw(stranger, sender=payer.address)  # from another operator's deposit


def test_withdraw__settlement_draws_on_the_deposit_meanwhile(world, payer):
    """A batch signed before the request still settles from the deposit during
    the delay; the withdrawal pays what is left."""
    ledger, token = world.ledger, world.token
    ledger.deposit(world.operator, 3 * ONE_TOKEN, sender=payer.address)
    token.approve(ledger.address, 0, sender=payer.address)
    batch = make_batch(world, payer, 2 * ONE_TOKEN, deadline=boa.env.timestamp + BATCH_DEADLINE_S)
    ready_at = _request(world, payer, 3 * ONE_TOKEN)
    boa.env.time_travel(seconds=BATCH_DEADLINE_S)
    settle(world, payer, batch)
    assert ledger.deposits(payer.address, world.operator) == ONE_TOKEN
    boa.env.time_travel(seconds=ready_at - boa.env.timestamp)
    before = token.balanceOf(payer.address)
    assert ledger.withdraw(world.operator, sender=payer.address) == ONE_TOKEN
    assert token.balanceOf(payer.address) == before + ONE_TOKEN
    assert ledger.deposits(payer.address, world.operator) == 0


# ------------------------------------------------------------- claims --


@pytest.fixture
def claimable(world, payer):
    """Five records of `payer` (a model and two sources), netted, settled
    as batch 1: (records, tree)."""
    records = make_records(
        payer, world.domain(), 5, model=world.models[0], sources=world.assets[4:6], operator=world.operator
    )
    tree = record_tree(records)
    total, owed = net_records(records)
    batch = make_batch(world, payer, total, tree=shares_tree(owed), root=bytes.fromhex(tree.root[2:]), count=5)
    assert settle(world, payer, batch) == 1
    return records, tree


def test_claim_record(world, payer, claimable):
    ledger = world.ledger
    records, tree = claimable
    signed = records[3]
    token_id = ledger.claimRecord(1, record_abi(signed.record), proof_of(tree, 3), sender=payer.address)
    [claimed] = events(ledger, "RecordClaimed")
    [transfer] = events(ledger, "Transfer")
    assert token_id == signed.token_id == int.from_bytes(signed.digest, "big")
    assert (claimed.token_id, claimed.batch_id, claimed.payer, claimed.model, claimed.fee) == (
        token_id,
        1,
        payer.address,
        signed.record.model,
        signed.record.fee,
    )
    assert (transfer.sender, transfer.receiver, transfer.token_id) == (ZERO_ADDRESS, payer.address, token_id)
    assert ledger.ownerOf(token_id) == payer.address
    assert ledger.balanceOf(payer.address) == ledger.totalSupply() == 1
    assert ledger.tokenByIndex(0) == ledger.tokenOfOwnerByIndex(payer.address, 0) == token_id
    assert ledger.datInfo(token_id) == (signed.record.model, signed.record.fee, 1)
    assert ledger.tokenURI(token_id).startswith("data:application/json;base64,")


DATA_URI = "data:application/json;base64,"


def test_token_uri__erc721_metadata_json(world, payer, claimable, nodejs):
    """A DAT's `tokenURI` is ERC-721 metadata JSON in a data URI: decoded
    here by Python, and by node's own `fetch` of the data URL."""
    ledger = world.ledger
    records, tree = claimable
    signed = records[2]
    token_id = ledger.claimRecord(1, record_abi(signed.record), proof_of(tree, 2), sender=payer.address)
    uri = ledger.tokenURI(token_id)
    digest = "0x" + signed.digest.hex()
    expected = {
        "name": f"tantieme DAT {digest[:18]}",
        "description": (
            "A Data Anchoring Token: the payer-signed record of one AI answer, settled and paid for on tantieme. "
            "Its id is the record's EIP-712 digest; the record is in the batch's Merkle tree."
        ),
        "record_digest": digest,
        "model": str(signed.record.model),
        "fee": str(signed.record.fee),
        "batch": "1",
        "batch_root": tree.root,
        "payer": payer.address.lower(),
        "operator": world.operator.lower(),
        "settled_at": str(ledger.batches(1).timestamp),
    }
    assert uri.startswith(DATA_URI)
    assert json.loads(base64.b64decode(uri[len(DATA_URI) :], validate=True)) == expected
    script = "fetch(process.argv[1]).then(r => r.json()).then(d => process.stdout.write(JSON.stringify(d)))"
    assert nodejs("-e", script, uri) == expected


def test_token_uri__unknown_dat__reverts(world, payer, claimable):
    records, _ = claimable
    with boa.reverts("ledger: unknown DAT"):
        world.ledger.tokenURI(records[0].token_id)  # settled, not claimed


def test_claim_record__every_record(world, payer, claimable):
    records, tree = claimable
    for i, signed in enumerate(records):
        world.ledger.claimRecord(1, record_abi(signed.record), proof_of(tree, i), sender=payer.address)
    assert world.ledger.balanceOf(payer.address) == 5


def test_claim_record__twice__reverts(world, payer, claimable):
    records, tree = claimable
    world.ledger.claimRecord(1, record_abi(records[0].record), proof_of(tree, 0), sender=payer.address)
    with boa.reverts("ledger: record already claimed"):
        world.ledger.claimRecord(1, record_abi(records[0].record), proof_of(tree, 0), sender=payer.address)


def test_claim_record__after_transfer_still_once(world, payer, stranger, claimable):
    ledger = world.ledger
    records, tree = claimable
    token_id = ledger.claimRecord(1, record_abi(records[0].record), proof_of(tree, 0), sender=payer.address)
    ledger.transferFrom(payer.address, stranger, token_id, sender=payer.address)
    assert ledger.ownerOf(token_id) == stranger
    assert ledger.datInfo(token_id).batch_id == 1
    with boa.reverts("ledger: record already claimed"):
        ledger.claimRecord(1, record_abi(records[0].record), proof_of(tree, 0), sender=payer.address)


@pytest.mark.parametrize("who", ["stranger", "operator"])
def test_claim_record__not_the_payer__reverts(world, claimable, request, who):
    records, tree = claimable
    with boa.reverts("ledger: caller is not the payer"):
        world.ledger.claimRecord(
            1, record_abi(records[0].record), proof_of(tree, 0), sender=request.getfixturevalue(who)
        )


@pytest.mark.parametrize(
    "field, value",
    [
        ("model", 2),
        ("fee", 1),
        ("prompt_hash", keccak(b"another prompt")),
        ("output_hash", keccak(b"another answer")),
        ("sources", (7, 8)),
        ("weights", (3_000, 3_001)),
        ("nonce", 99),
        ("timestamp", 1),
    ],
)
def test_claim_record__wrong_record__reverts(world, payer, claimable, field, value):
    records, tree = claimable
    wrong = copy.copy(records[0].record)
    object.__setattr__(wrong, field, value)
    with boa.reverts("ledger: invalid proof"):
        world.ledger.claimRecord(1, record_abi(wrong), proof_of(tree, 0), sender=payer.address)


def test_claim_record__proof_of_another_record__reverts(world, payer, claimable):
    records, tree = claimable
    with boa.reverts("ledger: invalid proof"):
        world.ledger.claimRecord(1, record_abi(records[0].record), proof_of(tree, 1), sender=payer.address)


def test_claim_record__unknown_batch__reverts(world, payer, claimable):
    records, tree = claimable
    with boa.reverts("ledger: unknown batch"):
        world.ledger.claimRecord(2, record_abi(records[0].record), proof_of(tree, 0), sender=payer.address)


def test_claim_record__wrong_batch__reverts(world, payer, claimable):
    records, tree = claimable
    settle(world, payer, make_batch(world, payer, ONE_TOKEN))  # batch 2, another root
    with boa.reverts("ledger: invalid proof"):
        world.ledger.claimRecord(2, record_abi(records[0].record), proof_of(tree, 0), sender=payer.address)


def test_claim_record__another_payers_record__reverts(world, payer, payer_b, claimable):
    """payer_b anchors a tree holding payer's digest under payer_b's name:
    the digest stays payer's to claim."""
    ledger = world.ledger
    records, tree = claimable
    victim = records[0]
    squat = (("0x" + victim.digest.hex(), payer_b.address, victim.record.model, victim.record.fee),)
    squat_tree = StandardMerkleTree.of(list(squat), RECORD_LEAF_ENCODING)
    batch = make_batch(world, payer_b, ONE_TOKEN, root=bytes.fromhex(squat_tree.root[2:]))
    squat_id = settle(world, payer_b, batch)
    assert ledger.verifyRecord(squat_id, victim.digest, victim.record.model, victim.record.fee, [])
    with boa.reverts("ledger: record of another payer"):
        ledger.claimRecord(squat_id, record_abi(victim.record), [], sender=payer_b.address)
    as_b = copy.copy(victim.record)
    object.__setattr__(as_b, "payer", payer_b.address)  # then it is another record
    with boa.reverts("ledger: invalid proof"):
        ledger.claimRecord(squat_id, record_abi(as_b), [], sender=payer_b.address)
    ledger.claimRecord(1, record_abi(victim.record), proof_of(tree, 0), sender=payer.address)
    assert ledger.ownerOf(victim.token_id) == payer.address


def settle_records(world, payer, records, *, total=None, count=None) -> tuple[int, object]:
    """Settle `records` as one batch (the payer signs `total` and `count`,
    by default theirs): (batch id, records tree)."""
    tree = record_tree(records)
    batch = make_batch(
        world, payer, total or sum(r.record.fee for r in records), root=bytes.fromhex(tree.root[2:]),
        count=count or len(records),
    )
    return settle(world, payer, batch), tree


def test_claim_record__counts_what_the_batch_paid_for(world, payer, claimable):
    records, tree = claimable
    for i in (0, 3):
        world.ledger.claimRecord(1, record_abi(records[i].record), proof_of(tree, i), sender=payer.address)
    assert world.ledger.claimed(1) == (records[0].record.fee + records[3].record.fee, 2)
    assert world.ledger.claimed(2) == (0, 0)


def test_claim_record__of_another_operator__reverts(world, payer, stranger):
    """A record served by another node, slipped into this operator's batch."""
    records = make_records(payer, world.domain(), 2, model=world.models[0], operator=stranger)
    batch_id, tree = settle_records(world, payer, records)
    with boa.reverts("ledger: record of another operator"):
        world.ledger.claimRecord(batch_id, record_abi(records[0].record), proof_of(tree, 0), sender=payer.address)


@pytest.mark.parametrize("model", ["work", "missing"])
def test_claim_record__model_is_not_a_registered_model__reverts(world, payer, model):
    model_id = world.assets[10] if model == "work" else 10**9
    records = make_records(payer, world.domain(), 2, model=model_id, operator=world.operator)
    batch_id, tree = settle_records(world, payer, records)
    with boa.reverts("ledger: model is not a registered model"):
        world.ledger.claimRecord(batch_id, record_abi(records[1].record), proof_of(tree, 1), sender=payer.address)


def test_claim_record__more_value_than_the_batch_paid__reverts(world, payer):
    """Attack trace: the payer anchors a tree of records worth 2.001 mTAI but
    pays 1 mTAI for it, then mints DATs for all of them: only what was paid
    can be claimed."""
    records = make_records(payer, world.domain(), 2, model=world.models[0], operator=world.operator)
    batch_id, tree = settle_records(world, payer, records, total=records[1].record.fee)
    world.ledger.claimRecord(batch_id, record_abi(records[1].record), proof_of(tree, 1), sender=payer.address)
    with boa.reverts("ledger: claims exceed the batch total"):
        world.ledger.claimRecord(batch_id, record_abi(records[0].record), proof_of(tree, 0), sender=payer.address)


def test_claim_record__more_records_than_the_batch_counted__reverts(world, payer):
    records = make_records(payer, world.domain(), 3, model=world.models[0], operator=world.operator)
    batch_id, tree = settle_records(world, payer, records, count=2)
    for i in range(2):
        world.ledger.claimRecord(batch_id, record_abi(records[i].record), proof_of(tree, i), sender=payer.address)
    with boa.reverts("ledger: claims exceed the batch count"):
        world.ledger.claimRecord(batch_id, record_abi(records[2].record), proof_of(tree, 2), sender=payer.address)


def test_verify_record(world, payer, stranger, claimable):
    ledger = world.ledger
    records, tree = claimable
    for i, signed in enumerate(records):
        digest, model, fee = signed.digest, signed.record.model, signed.record.fee
        proof = proof_of(tree, i)
        assert ledger.verifyRecord(1, digest, model, fee, proof, sender=stranger)
        assert not ledger.verifyRecord(1, digest, model + 1, fee, proof)
        assert not ledger.verifyRecord(1, digest, model, fee + 1, proof)
        assert not ledger.verifyRecord(1, keccak(digest), model, fee, proof)
        assert not ledger.verifyRecord(1, digest, model, fee, proof[:-1])
        assert not ledger.verifyRecord(2, digest, model, fee, proof)  # no such batch


def test_record_digest_and_leaf__match_python(world, payer, claimable):
    records, tree = claimable
    for i, signed in enumerate(records):
        assert world.ledger.recordDigest(record_abi(signed.record)) == signed.digest
        leaf = world.ledger.recordLeaf(signed.digest, *signed.leaf()[1:])
        assert "0x" + leaf.hex() == tree.leaf_hash(signed.leaf())


@given(
    root=st.binary(min_size=32, max_size=32),
    count=st.integers(1, 2**256 - 1),
    nonce=st.integers(0, 2**256 - 1),
    commons_bps=st.integers(0, 10_000),
    operator_bps=st.integers(0, 10_000),
    assets_root=st.binary(min_size=32, max_size=32),
    total=st.integers(1, 2**256 - 1),
    deadline=st.integers(0, 2**64 - 1),
)
@FUZZ
def test_batch_digest__matches_python(
    world, stranger, root, count, nonce, commons_bps, operator_bps, assets_root, total, deadline
):
    operator_bps = min(operator_bps, 10_000 - commons_bps)
    batch = Batch(
        root, count, nonce, world.operator, stranger, commons_bps, operator_bps, assets_root, total, deadline
    )
    assert world.ledger.batchDigest(batch_abi(batch)) == batch.digest(world.domain())


@given(
    model=st.integers(0, 2**256 - 1),
    sources=st.lists(st.integers(0, 2**256 - 1), max_size=64, unique=True),
    tokens=st.tuples(st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1)),
    fee=st.integers(0, 2**256 - 1),
    nonce=st.integers(0, 2**256 - 1),
    timestamp=st.integers(0, 2**64 - 1),
)
@FUZZ
def test_record_digest__matches_python(world, payer, model, sources, tokens, fee, nonce, timestamp):
    weights = [10_000 // 64] * len(sources)
    record = InteractionRecord(
        payer.address, world.operator, model, keccak(b"p"), keccak(b"o"), tuple(sources), tuple(weights), *tokens, fee,
        nonce, timestamp,
    )
    assert world.ledger.recordDigest(record_abi(record)) == record.digest(world.domain())


# ------------------------------------------------------ pinned vectors --


def test_pinned_vectors_on_chain(
    token_deployer, registry_deployer, router_deployer, ledger_deployer, deployer, creator, commons_pool
):
    """The vectors' ledger (anvil's first deployment address, chain 31337,
    the vectors' split) accepts the pinned batch signature, credits the
    pinned asset tree by its multiproof and mints the pinned DAT."""
    vectors = json.loads(VECTORS.read_text())
    boa.env.evm.patch.chain_id = vectors["domain"]["chainId"]
    boa.env.evm.patch.timestamp = int(vectors["interaction"]["record"]["timestamp"])
    w = deploy_world(
        token_deployer, registry_deployer, router_deployer, ledger_deployer, deployer, creator, commons_pool,
        vectors["batch"]["batch"]["operator"], pool=11,
    )
    batch = Batch.from_dict(vectors["batch"]["batch"])
    with boa.env.prank(deployer):
        ledger = ledger_deployer.deploy(
            w.token.address, w.registry.address, w.router.address, batch.commons, batch.commons_bps,
            batch.operator_bps, w.ledger.metadata(), override_address=vectors["domain"]["verifyingContract"],
        )
    signer = vectors["signer"]
    w.token.mint(signer, ONE_TOKEN, sender=deployer)
    w.token.approve(ledger.address, MAX_UINT256, sender=signer)

    assert "0x" + ledger.DOMAIN_SEPARATOR().hex() == vectors["domainSeparator"]
    record = InteractionRecord.from_dict(vectors["interaction"]["record"])
    assert "0x" + ledger.recordDigest(record_abi(record)).hex() == vectors["interaction"]["digest"]
    leaf = [bytes.fromhex(vectors["interaction"]["leaf"][0][2:]), signer, record.model, record.fee]
    assert "0x" + ledger.recordLeaf(*leaf).hex() == vectors["interaction"]["leafHash"]
    assert "0x" + ledger.batchDigest(batch_abi(batch)).hex() == vectors["batch"]["digest"]
    assets = vectors["assets"]
    for (asset, amount), leaf_hash in zip(assets["leaves"], assets["leafHashes"]):
        assert "0x" + w.router.creditLeaf(int(asset), int(amount)).hex() == leaf_hash

    v, r, s = vrs(bytes.fromhex(vectors["batch"]["signature"][2:]))
    batch_id = ledger.settle(batch_abi(batch), signer, v, r, s, URI, sender=batch.operator)
    multi = assets["multiproof"]
    w.router.credit(
        ledger.assetPool(signer, batch.operator),
        [int(a) for a, _ in multi["leaves"]],
        [int(m) for _, m in multi["leaves"]],
        [bytes.fromhex(p[2:]) for p in multi["proof"]],
        multi["proofFlags"],
    )
    assert {str(a): str(w.router.pending(int(a))) for a, _ in assets["leaves"]} == dict(assets["leaves"])
    token_id = ledger.claimRecord(batch_id, record_abi(record), [], sender=signer)
    assert token_id == int(vectors["interaction"]["tokenId"])
    assert ledger.ownerOf(token_id) == signer


# --------------------------------------------------------- conservation --


@given(
    total=st.one_of(st.integers(1, 10**6), st.integers(1, 2**96 - 1)),
    commons_bps=st.integers(0, 10_000),
    operator_bps=st.integers(0, 10_000),
    distinct=st.integers(1, 12),
    from_deposit=st.booleans(),
    seed=st.integers(0, 2**32),
)
@FUZZ
def test_settle_and_credit__conserve_every_wei(
    world, payer, deployer, stranger, total, commons_bps, operator_bps, distinct, from_deposit, seed
):
    operator_bps = min(operator_bps, 10_000 - commons_bps)
    rng = random.Random(seed)
    ledger, token, router = world.ledger, world.token, world.router
    with fresh_state():
        ledger.setSplit(commons_bps, operator_bps, sender=deployer)
        commons_fee, operator_fee, to_assets = split(total, commons_bps, operator_bps)
        assets = rng.sample(world.assets, min(distinct, to_assets))
        owed = dict(zip(assets, share_out(to_assets, assets, rng)))
        tree = shares_tree(owed)
        batch = make_batch(world, payer, total, tree=tree, split_bps=(commons_bps, operator_bps))
        if from_deposit:
            ledger.deposit(world.operator, total + 1, sender=payer.address)
        holders = [payer.address, ledger.address, router.address, world.commons, world.operator]
        before = balances(world, *holders)
        pending = {a: router.pending(a) for a in assets}

        settle(world, payer, batch)
        if tree:  # anyone credits every asset, in one multiproof
            pool = pool_of(world, payer.address)
            assert router.credit(pool, *credit_args(tree, range(len(tree))), sender=stranger) == to_assets
            assert router.pools(pool) == (batch.assets_root, 0)

        after = balances(world, *holders)
        assert sum(after) == sum(before)  # nothing created, nothing lost
        payer_delta = 0 if from_deposit else -total
        assert [a - b for a, b in zip(after, before)] == [
            payer_delta,
            -total - payer_delta,
            to_assets,
            commons_fee,
            operator_fee,
        ]
        assert {a: router.pending(a) - pending[a] for a in assets} == owed
        assert token.balanceOf(ledger.address) == ledger.deposits(payer.address, world.operator)
        assert ledger.deposits(payer.address, world.operator) == (1 if from_deposit else 0)
        assert router.totalUnassigned() == 0
        assert router.surplus() == 0


# ------------------------------------------------------------------ gas --


def test_gas(token_deployer, registry_deployer, router_deployer, ledger_deployer, payer, capsys):
    """Receipt gas (the transaction's gasUsed) on a fresh chain where each
    call is its own transaction; see `begin_tx` and `receipt_gas`."""
    report: dict[str, int] = {}
    with boa.swap_env(boa.Env()):
        boa.env.evm.patch.chain_id = LOCAL_CHAIN_ID  # where the faucet mints
        deployer, creator, commons, operator = (boa.env.generate_address(n) for n in ("d", "c", "p", "o"))
        w = deploy_world(
            token_deployer, registry_deployer, router_deployer, ledger_deployer, deployer, creator, commons,
            operator, payers=(payer,), pool=1_000,
        )
        ledger, router = w.ledger, w.router

        def settle_gas(batch: Batch) -> int:
            v, r, s = sign(batch, payer, w.domain())
            begin_tx(operator, ledger.address)
            ledger.settle(batch_abi(batch), payer.address, v, r, s, URI, sender=operator)
            return receipt_gas(ledger)

        def credit_gas(tree, indices) -> int:
            args = credit_args(tree, indices)
            begin_tx(creator, router.address)
            router.credit(ledger.assetPool(payer.address, operator), *args, sender=creator)
            return receipt_gas(router)

        # A pool tree of 1,000 registered assets' cumulative amounts, paid
        # in the first batch.
        owed = {asset: 10**15 + asset for asset in range(1, 1_001)}
        total = sum(owed.values()) * 10_000 // (10_000 - COMMONS_BPS - OPERATOR_BPS) + 20
        owed[1] += split(total)[2] - sum(owed.values())
        first = shares_tree(owed)
        # The first batch writes fresh slots everywhere (nonce, balances, pool).
        report["settle, first batch"] = settle_gas(make_batch(w, payer, total, tree=first))
        report["settle, later batch"] = settle_gas(make_batch(w, payer, ONE_TOKEN, tree=first))
        w.ledger.deposit(w.operator, 10 * ONE_TOKEN, sender=payer.address)
        report["settle, later batch, from the deposit"] = settle_gas(make_batch(w, payer, ONE_TOKEN, tree=first))

        # 1,000 real records: neither records nor assets cost anything on chain.
        records = make_records(payer, w.domain(), 1_000, model=w.models[0], sources=w.assets[4:13], operator=operator)
        tree = record_tree(records)
        batch = make_batch(w, payer, net_records(records)[0], tree=first, root=bytes.fromhex(tree.root[2:]), count=1_000)
        report["settle 1,000 records"] = settle_gas(batch)
        report["per interaction at 1,000 records"] = report["settle 1,000 records"] // 1_000

        # Crediting from the 1,000-asset tree: one asset (its first credit
        # from this pool, then a later one), and 128 assets next to each
        # other in the tree in one multiproof. The router credited every
        # asset before (steady state: their pending slots exist).
        w.token.approve(router.address, MAX_UINT256, sender=payer.address)
        for asset in owed:
            router.pay(asset, 1, sender=payer.address)
        by_position = sorted(range(len(first)), key=first.tree_index)
        one, run = by_position[:1], by_position[500:628]
        report["credit 1 asset, first from the pool"] = credit_gas(first, one)
        report["credit 128 assets, one multiproof, first from the pool"] = credit_gas(first, run)
        report["  per asset"] = report["credit 128 assets, one multiproof, first from the pool"] // 128
        rest = [i for i in by_position if i not in set(one + run)]
        for start in range(0, len(rest), 128):
            router.credit(ledger.assetPool(payer.address, operator), *credit_args(first, rest[start : start + 128]))
        grown = shares_tree({a: m + 1 for a, m in owed.items()})
        settle_gas(make_batch(w, payer, ONE_TOKEN, tree=grown))
        by_position = sorted(range(len(grown)), key=grown.tree_index)
        report["credit 1 asset, later"] = credit_gas(grown, by_position[:1])
        report["credit 128 assets, one multiproof, later"] = credit_gas(grown, by_position[500:628])
        report["  per asset, later"] = report["credit 128 assets, one multiproof, later"] // 128

        # 10,000 records: one real record among 9,999 others, on the deepest
        # level (14 siblings; the 3,616 smallest leaf hashes sit there).
        rng = random.Random(7)
        others = [("0x" + rng.randbytes(32).hex(), payer.address, w.models[0], 10**15) for _ in range(9_999)]
        hashes = sorted(bytes.fromhex(standard_leaf_hash(RECORD_LEAF_ENCODING, o)[2:]) for o in others)
        for nonce in itertools.count(10_000):
            real = make_records(
                payer, w.domain(), 1, model=w.models[0], sources=w.assets[4:7], operator=operator, start=nonce
            )[0]
            if bisect.bisect(hashes, bytes.fromhex(record_leaf_hash(real)[2:])) < 3_616:
                break
        big = StandardMerkleTree.of([real.leaf(), *others], RECORD_LEAF_ENCODING)
        proof = proof_of(big, 0)
        assert len(proof) == 14
        batch = make_batch(w, payer, 10**19, tree=grown, root=bytes.fromhex(big.root[2:]), count=10_000)
        settle_gas(batch)
        batch_id = ledger.batchCount()

        begin_tx(payer.address, ledger.address)
        assert ledger.verifyRecord(batch_id, real.digest, real.record.model, real.record.fee, proof)
        report["verifyRecord, 10,000 records, as a tx"] = receipt_gas(ledger)
        report["verifyRecord, 10,000 records, execution"] = ledger._computation.get_gas_used()
        begin_tx(payer.address, ledger.address)
        ledger.claimRecord(batch_id, record_abi(real.record), proof, sender=payer.address)
        report["claimRecord, 10,000 records, first DAT"] = receipt_gas(ledger)
        second = make_records(
            payer, w.domain(), 1, model=w.models[0], sources=w.assets[4:7], operator=operator, start=20_000
        )[0]
        small = record_tree([second, real])
        batch = make_batch(w, payer, ONE_TOKEN, tree=grown, root=bytes.fromhex(small.root[2:]), count=2)
        settle_gas(batch)
        begin_tx(payer.address, ledger.address)
        ledger.claimRecord(ledger.batchCount(), record_abi(second.record), proof_of(small, 0), sender=payer.address)
        report["claimRecord, a later DAT"] = receipt_gas(ledger)

        # Deposits, earmarked per operator, and the delayed withdrawal.
        def payer_gas(call, *args) -> int:
            begin_tx(payer.address, ledger.address)
            call(*args, sender=payer.address)
            return receipt_gas(ledger)

        fresh, other = boa.env.generate_address("fresh operator"), boa.env.generate_address("other operator")
        report["deposit, first with an operator"] = payer_gas(ledger.deposit, fresh, ONE_TOKEN)
        report["deposit, later"] = payer_gas(ledger.deposit, fresh, ONE_TOKEN)
        w.token.approve(ledger.address, 0, sender=payer.address)
        permit = permit_signature(w.token, payer, ledger.address, ONE_TOKEN, FAR)
        report["depositWithPermit, first with an operator"] = payer_gas(
            ledger.depositWithPermit, other, ONE_TOKEN, FAR, *permit
        )
        args, _ = _authorization(w, payer, ONE_TOKEN, operator=fresh)
        begin_tx(operator, ledger.address)
        ledger.depositWithAuthorization(*args, sender=operator)
        report["depositWithAuthorization, later (sent by the node)"] = receipt_gas(ledger)
        report["requestWithdrawal"] = payer_gas(ledger.requestWithdrawal, fresh, ONE_TOKEN)
        boa.env.time_travel(seconds=WITHDRAWAL_DELAY)
        report["withdraw"] = payer_gas(ledger.withdraw, fresh)

    with capsys.disabled():
        print("\nInteractionLedger and RoyaltyRouter.credit gas (receipt gasUsed):")
        for name, gas in report.items():
            print(f"  {name:<56} {gas:>10,}")

    assert report["per interaction at 1,000 records"] <= 1_000
    assert report["settle, later batch"] < 250_000
    assert report["  per asset"] < 40_000
    assert report["verifyRecord, 10,000 records, execution"] < 20_000
    assert report["claimRecord, 10,000 records, first DAT"] < 300_000
