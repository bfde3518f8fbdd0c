"""RoyaltyRouter: pay in O(1), split upstream to the last wei, pull claims."""

from __future__ import annotations

import boa
import pytest
from eth_abi import encode as abi_encode
from eth_utils import keccak
from hypothesis import given
from hypothesis import strategies as st

from tantieme.ledger.merkle import standard_leaf_hash
from tantieme.ledger.records import ASSET_LEAF_ENCODING, asset_tree

from .conftest import (
    BPS,
    FUZZ,
    NON_COMMERCIAL,
    ONE_TOKEN,
    OPEN,
    ZERO_ADDRESS,
    events,
    fresh_state,
)


def conserved(token, router, *assets: int, surplus: int = 0) -> None:
    """The router's two accounting identities over `assets` (all assets)."""
    owed = sum(router.pending(a) + router.claimable(a) for a in assets) + router.totalUnassigned()
    assert token.balanceOf(router.address) == owed + surplus
    assert router.surplus() == surplus
    assert router.totalPaid() == owed + router.totalClaimed()


@pytest.fixture
def graph(make_asset, license_for, creator, operator, asker):
    """root (10 %, creator's) <- child (20 %, operator's) <- grandchild
    (asker's). The operator's licence put one token into root's pending;
    the child's licences are free."""
    root = make_asset(owner=creator, terms=OPEN.but(royalty_bps=1_000))
    license_for(operator, root)
    child_terms = OPEN.but(royalty_bps=2_000, minting_fee=0)
    child = make_asset(owner=operator, parents=[root], terms=child_terms)
    license_for(asker, child)
    grandchild = make_asset(owner=asker, parents=[child], terms=OPEN.but(royalty_bps=0))
    return root, child, grandchild


@pytest.fixture
def paying(fund, stranger):
    """`stranger` pays; funded and approved."""
    fund(stranger, 10**9 * ONE_TOKEN)
    return stranger


# --------------------------------------------------------------------- pay --


def test_pay(make_asset, router, token, paying):
    asset = make_asset()
    router.pay(asset, 5 * ONE_TOKEN, sender=paying)
    [paid] = events(router, "Paid")

    assert (paid.asset_id, paid.payer, paid.amount) == (asset, paying, 5 * ONE_TOKEN)
    assert router.pending(asset) == 5 * ONE_TOKEN
    assert router.claimable(asset) == 0
    assert router.totalPaid() == 5 * ONE_TOKEN
    assert token.balanceOf(router.address) == 5 * ONE_TOKEN
    conserved(token, router, asset)


def test_pay__accumulates(make_asset, router, paying):
    asset = make_asset()
    for amount in (1, 2, 3):
        router.pay(asset, amount, sender=paying)
    assert router.pending(asset) == 6


def test_pay__unknown_asset__reverts(router, paying):
    with boa.reverts("router: unknown asset"):
        router.pay(1, ONE_TOKEN, sender=paying)


def test_pay__asset_zero__reverts(router, paying):
    with boa.reverts("router: unknown asset"):
        router.pay(0, ONE_TOKEN, sender=paying)


def test_pay__zero_amount__reverts(make_asset, router, paying):
    asset = make_asset()
    with boa.reverts("router: zero amount"):
        router.pay(asset, 0, sender=paying)


def test_pay__without_allowance__reverts(make_asset, router, fund, asker):
    asset = make_asset()
    fund(asker, approve=False)
    with boa.reverts("erc20: insufficient allowance"):
        router.pay(asset, 1, sender=asker)


def test_pay__beyond_balance__reverts(make_asset, router, fund, asker):
    asset = make_asset()
    fund(asker, 10)
    with boa.reverts("erc20: transfer amount exceeds balance"):
        router.pay(asset, 11, sender=asker)


def test_pay__gas_is_flat_in_the_graph(make_asset, router, paying, asker):
    """Paying a leaf with 16 parents costs what paying a root costs."""
    root = make_asset()
    parents = [make_asset(terms=NON_COMMERCIAL.but(royalty_bps=600)) for _ in range(16)]
    leaf = make_asset(owner=asker, parents=parents, terms=NON_COMMERCIAL)
    costs = {}
    for asset in (root, leaf):
        router.pay(asset, 1, sender=paying)  # first payment checks existence
        router.pay(asset, 1, sender=paying)
        costs[asset] = router._computation.get_gas_used()
    assert costs[root] == costs[leaf] > 0


# ----------------------------------------------------------------- payFrom --


def test_pay_from__not_registry__reverts(make_asset, router, paying):
    asset = make_asset()
    with boa.reverts("router: caller is not the registry"):
        router.payFrom(paying, asset, 1, sender=paying)


# ------------------------------------------------------------ fund, credit --


def pool_tree(owed: dict[int, int]):
    """A pool's tree of cumulative amounts (asset → wei)."""
    return asset_tree(owed)


def multiproof(tree, indices=None) -> tuple:
    """`credit`'s (assets, amounts, proof, flags) for the tree's leaves
    `indices` (default: all) in one multiproof."""
    multi = tree.get_multi_proof(list(range(len(tree)) if indices is None else indices))
    return (
        [a for a, _ in multi.leaves],
        [m for _, m in multi.leaves],
        [bytes.fromhex(p[2:]) for p in multi.proof],
        list(multi.proof_flags),
    )


KEY = b"\x07" * 32


@pytest.fixture
def funded(make_asset, router, paying):
    """`paying`'s pool KEY funded with 1,000 wei under a tree owing three
    assets 600, 300 and 100: (pool id, tree, assets)."""
    assets = [make_asset() for _ in range(3)]
    tree = pool_tree(dict(zip(assets, (600, 300, 100))))
    pool = router.fund(KEY, bytes.fromhex(tree.root[2:]), 1_000, sender=paying)
    return pool, tree, assets


def test_fund(funded, router, token, paying):
    pool, tree, assets = funded
    [log] = events(router, "PoolFunded")
    assert (log.pool_id, log.funder, log.key, "0x" + log.root.hex(), log.amount) == (pool, paying, KEY, tree.root, 1_000)
    assert pool == router.poolId(paying, KEY) == keccak(abi_encode(["address", "bytes32"], [paying, KEY]))
    assert router.pools(pool) == (bytes.fromhex(tree.root[2:]), 1_000)
    assert router.totalUnassigned() == router.totalPaid() == token.balanceOf(router.address) == 1_000
    assert [router.pending(a) for a in assets] == [0, 0, 0]  # O(1): nobody is credited yet
    conserved(token, router, *assets)


def test_fund__pools_are_per_funder_and_key(funded, router, fund, stranger, creator):
    pool, tree, _ = funded
    fund(creator)
    other = router.fund(KEY, keccak(b"other root"), 5, sender=creator)
    again = router.fund(b"\x08" * 32, keccak(b"other root"), 5, sender=stranger)
    assert len({pool, other, again}) == 3
    assert router.pools(pool) == (bytes.fromhex(tree.root[2:]), 1_000)


@pytest.mark.parametrize(
    "root, amount, reason", [(bytes(32), 1, "router: empty root"), (b"\x01" * 32, 0, "router: zero amount")]
)
def test_fund__refused(router, paying, root, amount, reason):
    with boa.reverts(reason):
        router.fund(KEY, root, amount, sender=paying)


def test_credit(funded, router, token, creator):
    """Anyone credits: each asset's amount moves from the pool to its pending."""
    pool, tree, assets = funded
    assert router.credit(pool, *multiproof(tree), sender=creator) == 1_000
    logs = [log for log in router.get_logs() if type(log).__name__ == "Credited"]
    assert sorted((log.pool_id, log.asset_id, log.amount) for log in logs) == sorted(
        (pool, a, m) for a, m in zip(assets, (600, 300, 100))
    )
    assert [router.pending(a) for a in assets] == [600, 300, 100]
    assert [router.credited(pool, a) for a in assets] == [600, 300, 100]
    assert router.pools(pool)[1] == router.totalUnassigned() == 0
    conserved(token, router, *assets)


def test_credit__one_asset_by_its_plain_proof(funded, router):
    pool, tree, assets = funded
    i = next(i for i, (a, _) in tree.entries() if a == assets[1])
    proof = [bytes.fromhex(p[2:]) for p in tree.get_proof(i)]
    assert router.credit(pool, [assets[1]], [300], proof, [False] * len(proof)) == 300
    assert router.pools(pool)[1] == 700


def test_credit__twice__credits_nothing_more(funded, router):
    pool, tree, assets = funded
    router.credit(pool, *multiproof(tree))
    assert router.credit(pool, *multiproof(tree)) == 0
    assert [router.pending(a) for a in assets] == [600, 300, 100]


def test_credit__cumulative__the_increase_since_the_last_credit(funded, router, paying):
    """One credit covers any number of fundings: the tree holds cumulative amounts."""
    pool, tree, assets = funded
    router.credit(pool, *multiproof(tree, [0]))  # one asset now
    credited = dict(tree.at(0) for _ in [0])
    later = pool_tree(dict(zip(assets, (650, 400, 150))))
    router.fund(KEY, bytes.fromhex(later.root[2:]), 200, sender=paying)
    router.fund(KEY, bytes.fromhex(later.root[2:]), 1, sender=paying)  # a fee rounding wei, same tree
    assert router.credit(pool, *multiproof(later)) == 1_200 - sum(credited.values())
    assert [router.pending(a) for a in assets] == [650, 400, 150]
    assert router.pools(pool)[1] == 1


def test_credit__an_old_root__reverts(funded, router, paying):
    pool, tree, assets = funded
    later = pool_tree(dict(zip(assets, (650, 400, 150))))
    router.fund(KEY, bytes.fromhex(later.root[2:]), 200, sender=paying)
    with boa.reverts("router: invalid proof"):
        router.credit(pool, *multiproof(tree))


@pytest.mark.parametrize("tamper", ["amount", "asset", "proof", "pool"])
def test_credit__bad_proof__reverts(funded, router, paying, tamper):
    pool, tree, _ = funded
    assets, amounts, proof, flags = multiproof(tree, [0, 1])
    if tamper == "amount":
        amounts[0] += 1
    elif tamper == "asset":
        assets[0] += 1
    elif tamper == "proof":
        proof[0] = keccak(proof[0])
    else:
        pool = router.poolId(paying, b"\x08" * 32)
    with boa.reverts("router: invalid proof"):
        router.credit(pool, assets, amounts, proof, flags)


def test_credit__a_tree_that_over_assigns__credits_at_most_the_pool(make_asset, router, token, paying):
    """Attack trace: a funder pays 1,000 wei under a tree owing 1,500. Credits
    stop at what was paid in; no tree, however built, takes more."""
    assets = [make_asset() for _ in range(3)]
    tree = pool_tree(dict(zip(assets, (900, 500, 100))))
    pool = router.fund(KEY, bytes.fromhex(tree.root[2:]), 1_000, sender=paying)
    position = {a: i for i, (a, _) in tree.entries()}
    assert router.credit(pool, *multiproof(tree, [position[assets[0]]])) == 900
    with boa.reverts("router: credits exceed the pool"):
        router.credit(pool, *multiproof(tree, [position[assets[1]]]))
    assert router.credit(pool, *multiproof(tree, [position[assets[2]]])) == 100
    assert router.pools(pool)[1] == 0
    conserved(token, router, *assets)


def test_credit__flags_that_do_not_fit__revert(funded, router):
    pool, tree, assets = funded
    args = multiproof(tree, [0, 1])
    args[3][0] = not args[3][0]
    with boa.reverts():
        router.credit(pool, *args)
    assert router.pools(pool)[1] == 1_000


def test_credit__an_unknown_asset__reverts(make_asset, router, paying):
    asset = make_asset()
    tree = pool_tree({asset: 10, asset + 1: 10})
    pool = router.fund(KEY, bytes.fromhex(tree.root[2:]), 20, sender=paying)
    with boa.reverts("router: unknown asset"):
        router.credit(pool, *multiproof(tree))
    assert router.pools(pool)[1] == 20  # unassigned, accounted for


@pytest.mark.parametrize(
    "args, reason",
    [
        (([1], [], [], []), "router: length mismatch"),
        (([], [], [b"\x01" * 32], []), "router: nothing to credit"),
    ],
)
def test_credit__malformed__reverts(funded, router, args, reason):
    pool, _, _ = funded
    with boa.reverts(reason):
        router.credit(pool, *args)


def test_credit__never_funded_pool__reverts(make_asset, router):
    asset = make_asset()
    tree = pool_tree({asset: 1})
    with boa.reverts("router: invalid proof"):
        router.credit(keccak(b"no pool"), *multiproof(tree))


def test_credit_leaf__matches_python(router):
    for asset, amount in ((1, 2), (2**256 - 1, 0), (77, 10**30)):
        assert "0x" + router.creditLeaf(asset, amount).hex() == standard_leaf_hash(ASSET_LEAF_ENCODING, (asset, amount))


@given(amounts=st.lists(st.integers(1, 10**24), min_size=1, max_size=12), paid=st.integers(0, 2 * 10**24))
@FUZZ
def test_credit__conserves_every_wei(make_asset, router, token, paying, stranger, amounts, paid):
    with fresh_state():
        assets = [make_asset() for _ in amounts]
        tree = pool_tree(dict(zip(assets, amounts)))
        paid = max(paid, 1)
        pool = router.fund(KEY, bytes.fromhex(tree.root[2:]), paid, sender=paying)
        credited = 0
        for i in range(len(tree)):
            asset, amount = tree.at(i)
            if credited + amount > paid:
                with boa.reverts("router: credits exceed the pool"):
                    router.credit(pool, *multiproof(tree, [i]), sender=stranger)
                continue
            router.credit(pool, *multiproof(tree, [i]), sender=stranger)
            credited += amount
        assert router.pools(pool)[1] == router.totalUnassigned() == paid - credited
        assert sum(router.pending(a) for a in assets) == credited
        assert token.balanceOf(router.address) == sum(router.pending(a) for a in assets) + router.pools(pool)[1]


# -------------------------------------------------------------- distribute --


def test_distribute(graph, router, token, paying, stranger):
    root, child, grandchild = graph
    router.pay(child, 1_000, sender=paying)
    router.distribute(child, sender=stranger)  # permissionless
    logs = router.get_logs()

    forwarded, distributed = logs
    assert (forwarded.from_asset, forwarded.to_asset, forwarded.amount) == (child, root, 100)
    assert (distributed.asset_id, distributed.amount) == (child, 1_000)
    assert (distributed.to_parents, distributed.to_owner) == (100, 900)
    assert (router.pending(child), router.claimable(child)) == (0, 900)
    assert router.pending(root) == 100 + OPEN.minting_fee  # plus the licence fee paid into root
    conserved(token, router, *graph)


def test_distribute__rounding_dust_stays_with_the_owner(graph, router, token, paying):
    root, child, _ = graph
    router.pay(child, 19, sender=paying)  # 10 % of 19 = 1.9
    router.distribute(child, sender=paying)
    assert (router.claimable(child), router.pending(root) - OPEN.minting_fee) == (18, 1)
    conserved(token, router, *graph)


def test_distribute__nothing_pending(graph, router, paying):
    root, child, _ = graph
    assert router.distribute(child, sender=paying) == 0
    assert router.get_logs() == []


def test_distribute__unknown_asset(router, paying):
    assert router.distribute(12345, sender=paying) == 0


def test_distribute__flows_up_the_graph(graph, router, token, paying, creator, operator, asker):
    """The root's owner collects from the grandchild with nobody's help."""
    root, child, grandchild = graph
    router.pay(grandchild, 10_000, sender=paying)
    router.distributeMany([grandchild, child, root], sender=creator)

    # Grandchild owes 20 % to child; child owes 10 % of that to root.
    assert router.claimable(grandchild) == 8_000
    assert router.claimable(child) == 1_800
    assert router.claimable(root) == 200 + OPEN.minting_fee
    assert sum(router.pending(a) for a in graph) == 0
    conserved(token, router, *graph)

    before = token.balanceOf(creator)
    assert router.claim(root, sender=creator) == router.totalClaimed() == 200 + OPEN.minting_fee
    assert token.balanceOf(creator) - before == 200 + OPEN.minting_fee


def test_distribute__sixteen_parents_exact(make_asset, router, token, paying, asker):
    shares = [1, 7, 13, 99, 101, 333, 500, 625, 700, 777, 800, 900, 999, 1_000, 1_049, 1_100]
    assert sum(shares) <= BPS
    parents = [make_asset(terms=NON_COMMERCIAL.but(royalty_bps=bps)) for bps in shares]
    leaf = make_asset(owner=asker, parents=parents, terms=NON_COMMERCIAL)
    amount = 10**21 + 12_345
    router.pay(leaf, amount, sender=paying)
    router.distribute(leaf, sender=paying)
    for parent, bps in zip(parents, shares):
        assert router.pending(parent) == amount * bps // BPS
    assert router.claimable(leaf) == amount - sum(amount * bps // BPS for bps in shares)
    conserved(token, router, leaf, *parents)


def test_distribute__full_royalty_leaves_the_owner_dust_only(make_asset, router, token, paying,
                                                             asker):
    parent = make_asset(terms=NON_COMMERCIAL.but(royalty_bps=BPS))
    leaf = make_asset(owner=asker, parents=[parent], terms=NON_COMMERCIAL)
    router.pay(leaf, 777, sender=paying)
    router.distribute(leaf, sender=paying)
    assert (router.pending(parent), router.claimable(leaf)) == (777, 0)
    conserved(token, router, parent, leaf)


def test_distribute_many__too_long__reverts(router, paying):
    with boa.reverts(compiler="DynArray[uint256, 64] bounds check"):
        router.distributeMany(list(range(65)), sender=paying)


# ------------------------------------------------------------------- claim --


def test_claim(make_asset, router, token, paying, creator):
    asset = make_asset(owner=creator)
    router.pay(asset, 1_234, sender=paying)
    router.distribute(asset, sender=paying)
    before = token.balanceOf(creator)

    assert router.claim(asset, sender=creator) == 1_234
    [claimed] = events(router, "Claimed")
    assert (claimed.asset_id, claimed.owner, claimed.amount) == (asset, creator, 1_234)
    assert token.balanceOf(creator) - before == 1_234
    assert (router.claimable(asset), router.totalClaimed()) == (0, 1_234)
    conserved(token, router, asset)


def test_claim__not_owner__reverts(make_asset, router, paying, stranger):
    asset = make_asset()
    router.pay(asset, 10, sender=paying)
    router.distribute(asset, sender=paying)
    with boa.reverts("router: caller is not the asset owner"):
        router.claim(asset, sender=stranger)


def test_claim__unknown_asset__reverts(router, stranger):
    with boa.reverts("registry: unknown asset"):
        router.claim(99, sender=stranger)


def test_claim__nothing(make_asset, router, token, creator):
    asset = make_asset(owner=creator)
    assert router.claim(asset, sender=creator) == 0
    assert router.totalClaimed() == 0


def test_claim__twice_pays_once(make_asset, router, paying, creator):
    asset = make_asset(owner=creator)
    router.pay(asset, 10, sender=paying)
    router.distribute(asset, sender=paying)
    assert router.claim(asset, sender=creator) == 10
    assert router.claim(asset, sender=creator) == 0


def test_claim__follows_the_nft(make_asset, registry, router, token, paying, creator, asker):
    asset = make_asset(owner=creator)
    router.pay(asset, 50, sender=paying)
    router.distribute(asset, sender=paying)
    registry.transferFrom(creator, asker, asset, sender=creator)
    with boa.reverts("router: caller is not the asset owner"):
        router.claim(asset, sender=creator)
    assert router.claim(asset, sender=asker) == 50
    assert token.balanceOf(asker) == 50


def test_claim_many(graph, router, token, paying, operator, asker):
    root, child, grandchild = graph
    router.pay(grandchild, 1_000, sender=paying)
    router.pay(child, 1_000, sender=paying)
    router.distributeMany([grandchild, child], sender=paying)  # child splits 1,200
    before = token.balanceOf(operator)
    assert router.claimMany([child, child], sender=operator) == 1_080  # repeats are harmless
    assert (router.totalClaimed(), router.claimable(child)) == (1_080, 0)
    assert token.balanceOf(operator) - before == 1_080
    with boa.reverts("router: caller is not the asset owner"):
        router.claimMany([child, grandchild], sender=operator)
    conserved(token, router, *graph)


# ----------------------------------------------------------------- surplus --


def test_surplus__plain_transfer_credits_nobody(make_asset, router, token, fund, paying, asker):
    asset = make_asset()
    fund(asker)
    router.pay(asset, 100, sender=paying)
    token.transfer(router.address, 7, sender=asker)
    assert router.surplus() == 7
    assert router.pending(asset) == 100
    conserved(token, router, asset, surplus=7)


def test_constructor__zero_addresses__revert(router_deployer, token):
    with boa.reverts("router: token is the zero address"):
        router_deployer.deploy(ZERO_ADDRESS, token.address)
    with boa.reverts("router: registry is the zero address"):
        router_deployer.deploy(token.address, ZERO_ADDRESS)


# -------------------------------------------------------------------- fuzz --


@FUZZ
@given(
    shares=st.integers(1, 16).flatmap(
        lambda n: st.lists(st.integers(0, BPS // n), min_size=n, max_size=n)
    ),
    amount=st.integers(1, 10**27),  # what `paying` holds
)
def test_distribute__fuzz_exact_split(make_asset, router, token, paying, asker, shares, amount):
    """Each parent gets floor(amount * bps / 10,000); the owner the rest."""
    with fresh_state():
        parents = [make_asset(terms=NON_COMMERCIAL.but(royalty_bps=bps)) for bps in shares]
        leaf = make_asset(owner=asker, parents=parents, terms=NON_COMMERCIAL)
        router.pay(leaf, amount, sender=paying)
        assert router.distribute(leaf, sender=paying) == amount
        owed = [amount * bps // BPS for bps in shares]
        assert [router.pending(p) for p in parents] == owed
        assert router.claimable(leaf) == amount - sum(owed)
        conserved(token, router, leaf, *parents)
