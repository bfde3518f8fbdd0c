"""IPAssetRegistry: registration, derivative rules, consent, licences, ERC-721."""

from __future__ import annotations

import boa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from .conftest import (
    AGENT,
    BPS,
    DATASET,
    FUZZ,
    MAX_UINT256,
    METADATA_URI,
    MODEL,
    NON_COMMERCIAL,
    NOTHING,
    ONE_TOKEN,
    OPEN,
    OUTPUT,
    TERMS_URI,
    WORK,
    ZERO_ADDRESS,
    Terms,
    events,
    fresh_state,
    new_content_hash,
    new_work,
    register_asset,
    terms_as_returned,
)

RECEIVER_SOURCE = """
# pragma version ~=0.4.3
answer: public(bytes4)
last_operator: public(address)

@deploy
def __init__(answer_: bytes4):
    self.answer = answer_

@external
def onERC721Received(
    operator: address, owner: address, token_id: uint256, data: Bytes[1024]
) -> bytes4:
    self.last_operator = operator
    return self.answer
"""
ERC721_RECEIVED = bytes.fromhex("150b7a02")


# ------------------------------------------------------------ registering --


def test_register(registry, token, creator):
    content_hash = new_content_hash()
    asset_id = register_asset(registry, creator, WORK, content_hash, METADATA_URI, [], OPEN)
    logs = registry.get_logs()

    assert asset_id == 1
    assert [type(log).__name__ for log in logs] == ["TermsUriStored", "Transfer", "AssetRegistered"]
    transfer, registered = logs[1], logs[2]
    assert (transfer.sender, transfer.receiver, transfer.token_id) == (ZERO_ADDRESS, creator, 1)
    assert (registered.asset_id, registered.owner, registered.kind) == (1, creator, WORK)
    assert (registered.content_hash, registered.uri) == (content_hash, METADATA_URI)
    assert list(registered.parents) == []
    assert registry.ownerOf(1) == creator
    assert registry.balanceOf(creator) == 1
    assert registry.exists(1) and not registry.exists(2) and not registry.exists(0)
    assert registry.totalAssets() == 1
    assert registry.assetKind(1) == WORK
    assert registry.contentHash(1) == content_hash
    assert registry.assetOfContent(content_hash) == 1
    assert registry.metadataURI(1) == METADATA_URI
    assert registry.parentsOf(1) == []
    assert registry.ancestorCount(1) == 0
    assert registry.licenseTerms(1) == terms_as_returned(OPEN, token.address)
    assert registry.aiConsent(1) == (True, True, True, True)


def test_register__ids_are_sequential(make_asset, registry):
    assert [make_asset() for _ in range(3)] == [1, 2, 3]
    assert registry.totalAssets() == 3


@pytest.mark.parametrize("kind", range(AGENT + 1))
def test_register__every_kind(make_asset, registry, kind):
    assert registry.assetKind(make_asset(kind=kind)) == kind


def test_register__unknown_kind__reverts(make_asset):
    with boa.reverts("registry: unknown kind"):
        make_asset(kind=AGENT + 1)


def test_register__deny_by_default(make_asset, registry, token):
    asset_id = make_asset(terms=NOTHING)
    assert registry.licenseTerms(asset_id) == terms_as_returned(NOTHING, token.address)
    assert registry.aiConsent(asset_id) == (False, False, False, False)


def test_register__currency_token_address(make_asset, registry, token):
    asset_id = make_asset(terms=OPEN.but(currency=token.address))
    assert registry.licenseTerms(asset_id).currency == token.address


def test_register__other_currency__reverts(make_asset, router):
    with boa.reverts("registry: currency is not the AI token"):
        make_asset(terms=OPEN.but(currency=router.address))


def test_register__zero_content_hash__reverts(registry, creator):
    with boa.reverts("registry: zero content hash"):
        register_asset(registry, creator, WORK, b"\x00" * 32, METADATA_URI, [], OPEN)


def test_register__duplicate_content_hash__reverts(registry, creator, asker):
    content_hash = new_content_hash()
    register_asset(registry, creator, WORK, content_hash, METADATA_URI, [], OPEN)
    with boa.reverts("registry: duplicate content hash"):
        register_asset(registry, asker, DATASET, content_hash, "other", [], NOTHING)


def test_register__royalty_bps_10000(make_asset, registry):
    assert registry.licenseTerms(make_asset(terms=OPEN.but(royalty_bps=BPS))).royalty_bps == BPS


def test_register__royalty_bps_over_10000__reverts(make_asset):
    with boa.reverts("registry: royalty bps exceeds 10000"):
        make_asset(terms=OPEN.but(royalty_bps=BPS + 1))


def test_register__largest_minting_fee(make_asset, registry):
    asset_id = make_asset(terms=OPEN.but(minting_fee=2**98 - 1))
    assert registry.licenseTerms(asset_id).minting_fee == 2**98 - 1


def test_register__minting_fee_too_large__reverts(make_asset):
    with boa.reverts("registry: minting fee too large"):
        make_asset(terms=OPEN.but(minting_fee=2**98))


def test_register__expiration(make_asset, registry):
    for expiration in (boa.env.timestamp + 1, 2**64 - 1):
        asset_id = make_asset(terms=OPEN.but(expiration=expiration))
        assert registry.licenseTerms(asset_id).expiration == expiration


def test_register__already_expired__reverts(make_asset):
    with boa.reverts("registry: terms already expired"):
        make_asset(terms=OPEN.but(expiration=boa.env.timestamp))


def test_register__uri_too_long__reverts(registry, creator):
    with boa.reverts():  # ABI-level: String[256]
        register_asset(registry, creator, WORK, new_content_hash(), "x" * 257, [], OPEN)


def test_register__terms_uri_stored_once(make_asset, registry):
    first = make_asset()
    second = make_asset()
    assert events(registry, "TermsUriStored") == []  # the second cites the stored text
    third = make_asset(terms=OPEN.but(uri="https://example.org/other-licence"))
    for asset_id in (first, second):
        assert registry.licenseTerms(asset_id).uri == TERMS_URI
    assert registry.licenseTerms(third).uri == "https://example.org/other-licence"
    assert registry.licenseTerms(make_asset(terms=OPEN.but(uri=""))).uri == ""


def test_register_terms_uri(registry, make_asset, stranger):
    assert registry.registerTermsUri("https://example.org/cc-by-4.0", sender=stranger) == 1
    [stored] = events(registry, "TermsUriStored")
    assert (stored.terms_ref, stored.uri) == (1, "https://example.org/cc-by-4.0")
    # Idempotent:
    assert registry.registerTermsUri("https://example.org/cc-by-4.0", sender=stranger) == 1
    assert events(registry, "TermsUriStored") == []
    assert registry.registerTermsUri("", sender=stranger) == 0
    asset_id = make_asset(terms=OPEN.but(uri="https://example.org/cc-by-4.0"))
    assert events(registry, "TermsUriStored") == []
    assert registry.licenseTerms(asset_id).uri == "https://example.org/cc-by-4.0"
    assert registry.registerTermsUri(TERMS_URI, sender=stranger) == 2


# ------------------------------------------------------------ derivatives --


def test_register_derivative(make_asset, registry, license_for, asker):
    parent = make_asset()
    license_for(asker, parent)

    child = make_asset(owner=asker, parents=[parent])
    [consumed] = events(registry, "LicenseConsumed")

    assert (consumed.parent_id, consumed.holder, consumed.child_id) == (parent, asker, child)
    assert registry.parentsOf(child) == [parent]
    assert registry.ancestorCount(child) == 1
    assert registry.licenseBalance(asker, parent) == 0
    assert registry.parentShares(child) == ([parent], [OPEN.royalty_bps])


def test_register_derivative__unknown_parent__reverts(make_asset, asker):
    with boa.reverts("registry: unknown parent"):
        make_asset(owner=asker, parents=[7], terms=NON_COMMERCIAL)


def test_register_derivative__duplicate_parent__reverts(make_asset, asker):
    parent = make_asset()
    with boa.reverts("registry: duplicate parent"):
        make_asset(owner=asker, parents=[parent, parent], terms=NON_COMMERCIAL)


def test_register_derivative__sixteen_parents(make_asset, registry, asker):
    parents = [make_asset(terms=NON_COMMERCIAL.but(royalty_bps=625)) for _ in range(16)]
    child = make_asset(owner=asker, parents=parents, terms=NON_COMMERCIAL)
    assert registry.parentsOf(child) == parents
    assert registry.ancestorCount(child) == 16
    assert registry.parentShares(child) == (parents, [625] * 16)


def test_register_derivative__seventeen_parents__reverts(make_asset, asker):
    parents = [make_asset(terms=NON_COMMERCIAL.but(royalty_bps=0)) for _ in range(17)]
    with boa.reverts(compiler="DynArray[uint256, 16] bounds check"):  # ABI-level
        make_asset(owner=asker, parents=parents, terms=NON_COMMERCIAL)


def test_register_derivative__parent_forbids_derivatives__reverts(make_asset, asker):
    parent = make_asset(terms=NON_COMMERCIAL.but(derivatives_allowed=False))
    with boa.reverts("registry: parent forbids derivatives"):
        make_asset(owner=asker, parents=[parent], terms=NON_COMMERCIAL)


def test_register_derivative__parent_expired__reverts(make_asset, asker):
    parent = make_asset(terms=NON_COMMERCIAL.but(expiration=boa.env.timestamp + 100))
    make_asset(owner=asker, parents=[parent], terms=NON_COMMERCIAL)
    boa.env.time_travel(seconds=100)
    with boa.reverts("registry: parent terms expired"):
        make_asset(owner=asker, parents=[parent], terms=NON_COMMERCIAL)


def test_register_derivative__approval_required(make_asset, registry, creator, asker):
    parent = make_asset(terms=NON_COMMERCIAL.but(derivatives_approval=True))
    with boa.reverts("registry: derivative not approved"):
        make_asset(owner=asker, parents=[parent], terms=NON_COMMERCIAL)

    registry.approveDerivative(parent, asker, True, sender=creator)
    [approval] = events(registry, "DerivativeApproval")
    assert (approval.parent_id, approval.registrant, approval.approved) == (parent, asker, True)
    assert registry.isDerivativeApproved(parent, asker)
    make_asset(owner=asker, parents=[parent], terms=NON_COMMERCIAL)

    registry.approveDerivative(parent, asker, False, sender=creator)
    with boa.reverts("registry: derivative not approved"):
        make_asset(owner=asker, parents=[parent], terms=NON_COMMERCIAL)


def test_register_derivative__approval__owner_is_exempt(make_asset, creator):
    parent = make_asset(terms=NON_COMMERCIAL.but(derivatives_approval=True))
    make_asset(owner=creator, parents=[parent], terms=NON_COMMERCIAL)


def test_approve_derivative__not_owner__reverts(make_asset, registry, asker):
    parent = make_asset()
    with boa.reverts("registry: caller is not the asset owner"):
        registry.approveDerivative(parent, asker, True, sender=asker)


def test_approve_derivative__unknown_asset__reverts(registry, creator, asker):
    with boa.reverts("registry: unknown asset"):
        registry.approveDerivative(1, asker, True, sender=creator)


def test_register_derivative__commercial_child_of_non_commercial_parent__reverts(make_asset, asker):
    parent = make_asset(terms=NON_COMMERCIAL)
    with boa.reverts("registry: parent forbids commercial use"):
        make_asset(owner=asker, parents=[parent], terms=OPEN)


def test_register_derivative__non_commercial_child_needs_no_license(make_asset, registry, asker):
    parent = make_asset(terms=OPEN)
    child = make_asset(owner=asker, parents=[parent], terms=NON_COMMERCIAL)
    assert registry.parentsOf(child) == [parent]


def test_register_derivative__commercial_without_license__reverts(make_asset, asker):
    parent = make_asset()
    with boa.reverts("registry: license token required"):
        make_asset(owner=asker, parents=[parent])


def test_register_derivative__one_license_per_commercial_parent(make_asset, registry, license_for,
                                                                asker):
    first, second = make_asset(), make_asset()
    license_for(asker, first)
    with boa.reverts("registry: license token required"):
        make_asset(owner=asker, parents=[first, second])
    license_for(asker, second, amount=2)
    make_asset(owner=asker, parents=[first, second])
    assert (registry.licenseBalance(asker, first), registry.licenseBalance(asker, second)) == (0, 1)


def test_register_derivative__license_of_someone_else__reverts(make_asset, license_for, operator,
                                                               asker):
    parent = make_asset()
    license_for(operator, parent)
    with boa.reverts("registry: license token required"):
        make_asset(owner=asker, parents=[parent])


def test_register_derivative__reciprocal_copy(make_asset, registry, token, asker):
    reciprocal = NON_COMMERCIAL.but(derivatives_reciprocal=True, royalty_bps=700, ai_training=False)
    parent = make_asset(terms=reciprocal)
    child = make_asset(owner=asker, parents=[parent], terms=reciprocal.but(currency=token.address))
    assert registry.licenseTerms(child) == registry.licenseTerms(parent)


@pytest.mark.parametrize(
    "change",
    [
        {"royalty_bps": 701},
        {"attribution": False},
        {"ai_retrieval": False},
        {"minting_fee": 1},
        {"uri": TERMS_URI + "/v2"},
        {"uri": ""},
        {"derivatives_reciprocal": False},
        {"expiration": 2**40},
    ],
)
def test_register_derivative__reciprocal_mismatch__reverts(make_asset, asker, change):
    reciprocal = NON_COMMERCIAL.but(derivatives_reciprocal=True, royalty_bps=700)
    parent = make_asset(terms=reciprocal)
    with boa.reverts("registry: reciprocal terms mismatch"):
        make_asset(owner=asker, parents=[parent], terms=reciprocal.but(**change))


def test_register_derivative__reciprocal_follows_tightened_consent(make_asset, registry, creator,
                                                                   asker):
    reciprocal = NON_COMMERCIAL.but(derivatives_reciprocal=True)
    parent = make_asset(terms=reciprocal)
    registry.setAIConsent(parent, False, True, True, False, sender=creator)
    with boa.reverts("registry: reciprocal terms mismatch"):
        make_asset(owner=asker, parents=[parent], terms=reciprocal)
    make_asset(owner=asker, parents=[parent], terms=reciprocal.but(ai_training=False))


def test_register_derivative__parents_royalty_10000(make_asset, registry, asker):
    parents = [make_asset(terms=NON_COMMERCIAL.but(royalty_bps=bps)) for bps in (6_000, 4_000)]
    child = make_asset(owner=asker, parents=parents, terms=NON_COMMERCIAL)
    assert registry.parentsOf(child) == parents


def test_register_derivative__parents_royalty_over_10000__reverts(make_asset, asker):
    parents = [make_asset(terms=NON_COMMERCIAL.but(royalty_bps=bps)) for bps in (6_000, 4_001)]
    with boa.reverts("registry: parents royalty exceeds 10000"):
        make_asset(owner=asker, parents=parents, terms=NON_COMMERCIAL)


# ------------------------------------------------------- model lineage --


def test_register_model__from_consenting_datasets(make_asset, registry, operator):
    datasets = [make_asset(kind=DATASET, terms=NON_COMMERCIAL) for _ in range(3)]
    model = make_asset(owner=operator, kind=MODEL, parents=datasets, terms=NON_COMMERCIAL)
    assert registry.parentsOf(model) == datasets


def test_register_model__dataset_forbids_training__reverts(make_asset, operator):
    dataset = make_asset(kind=DATASET, terms=NON_COMMERCIAL.but(ai_training=False))
    with boa.reverts("registry: dataset forbids ai training"):
        make_asset(owner=operator, kind=MODEL, parents=[dataset], terms=NON_COMMERCIAL)


def test_register_model__fine_tuned_from_model(make_asset, registry, operator, asker):
    dataset = make_asset(kind=DATASET, terms=NON_COMMERCIAL)
    base = make_asset(owner=operator, kind=MODEL, parents=[dataset], terms=NON_COMMERCIAL)
    tuned = make_asset(owner=asker, kind=MODEL, parents=[base], terms=NON_COMMERCIAL)
    assert registry.ancestorCount(tuned) == 2


def test_register_model__model_forbids_fine_tuning__reverts(make_asset, operator, asker):
    base = make_asset(owner=operator, kind=MODEL, terms=NON_COMMERCIAL.but(ai_fine_tuning=False))
    with boa.reverts("registry: model forbids fine-tuning"):
        make_asset(owner=asker, kind=MODEL, parents=[base], terms=NON_COMMERCIAL)


@pytest.mark.parametrize("parent_kind", [WORK, 3, OUTPUT, AGENT])
def test_register_model__from_other_kinds__reverts(make_asset, operator, parent_kind):
    parent = make_asset(kind=parent_kind, terms=NON_COMMERCIAL)
    with boa.reverts("registry: model parent must be a dataset or model"):
        make_asset(owner=operator, kind=MODEL, parents=[parent], terms=NON_COMMERCIAL)


def test_register_output__may_name_a_model_without_ai_consent(make_asset, registry, asker):
    no_ai = NON_COMMERCIAL.but(ai_fine_tuning=False, ai_training=False)
    model = make_asset(kind=MODEL, terms=no_ai)
    output = make_asset(owner=asker, kind=OUTPUT, parents=[model], terms=no_ai)
    assert registry.parentsOf(output) == [model]


# --------------------------------------------------------------- ancestors --


@pytest.fixture
def wide_graph(make_asset):
    """16 roots; 16 assets naming all roots (16 ancestors each); 4 assets
    naming all of those (272 each); one naming 12 of them (204)."""
    free = NON_COMMERCIAL.but(royalty_bps=0)
    roots = [make_asset(terms=free) for _ in range(16)]
    level1 = [make_asset(terms=free, parents=roots) for _ in range(16)]
    level2 = [make_asset(terms=free, parents=level1) for _ in range(4)]
    partial = make_asset(terms=free, parents=level1[:12])
    return free, level2, partial


def test_ancestor_count__at_bound(wide_graph, make_asset, registry):
    free, level2, partial = wide_graph
    assert registry.ancestorCount(level2[0]) == 16 * 17
    assert registry.ancestorCount(partial) == 12 * 17
    top = make_asset(terms=free, parents=[*level2[:3], partial])
    assert registry.ancestorCount(top) == 3 * 273 + 205 == 1024


def test_ancestor_count__over_bound__reverts(wide_graph, make_asset):
    free, level2, _ = wide_graph
    with boa.reverts("registry: too many ancestors"):
        make_asset(terms=free, parents=level2)  # 4 * 273 = 1092


# ----------------------------------------------------------------- consent --


def test_set_ai_consent__tightens(make_asset, registry, creator):
    asset_id = make_asset()
    registry.setAIConsent(asset_id, False, True, True, False, sender=creator)
    logs = registry.get_logs()
    assert [type(log).__name__ for log in logs] == ["AIConsentTightened", "MetadataUpdate"]
    tightened = logs[0]
    assert tightened.asset_id == asset_id
    assert (tightened.ai_training, tightened.ai_fine_tuning) == (False, True)
    assert (tightened.ai_retrieval, tightened.ai_output_commercial) == (True, False)
    assert tuple(logs[1])[1:] == (asset_id,)  # MetadataUpdate(_tokenId)
    assert registry.aiConsent(asset_id) == (False, True, True, False)
    terms = registry.licenseTerms(asset_id)
    assert (terms.commercial_use, terms.derivatives_allowed) == (True, True)
    assert terms.royalty_bps == OPEN.royalty_bps


def test_set_ai_consent__widening__reverts(make_asset, registry, creator):
    asset_id = make_asset(terms=OPEN.but(ai_training=False))
    with boa.reverts("registry: consent can only be tightened"):
        registry.setAIConsent(asset_id, True, True, True, True, sender=creator)
    registry.setAIConsent(asset_id, False, False, True, True, sender=creator)
    with boa.reverts("registry: consent can only be tightened"):
        registry.setAIConsent(asset_id, False, True, True, True, sender=creator)


def test_set_ai_consent__not_owner__reverts(make_asset, registry, asker):
    asset_id = make_asset()
    with boa.reverts("registry: caller is not the asset owner"):
        registry.setAIConsent(asset_id, False, False, False, False, sender=asker)


def test_set_ai_consent__governs_future_models(make_asset, registry, creator, operator):
    dataset = make_asset(kind=DATASET, terms=NON_COMMERCIAL)
    model = make_asset(owner=operator, kind=MODEL, parents=[dataset], terms=NON_COMMERCIAL)
    registry.setAIConsent(dataset, False, False, True, False, sender=creator)
    with boa.reverts("registry: dataset forbids ai training"):
        make_asset(owner=operator, kind=MODEL, parents=[dataset], terms=NON_COMMERCIAL)
    assert registry.parentsOf(model) == [dataset]  # the past stands


# ---------------------------------------------------------------- licences --


def test_mint_license(make_asset, registry, router, token, fund, asker, operator):
    asset_id = make_asset()
    fund(asker)
    registry.mintLicense(asset_id, 3, operator, sender=asker)
    [minted] = events(registry, "LicenseMinted")

    assert (minted.asset_id, minted.payer, minted.receiver, minted.amount, minted.fee) == (
        asset_id, asker, operator, 3, 3 * ONE_TOKEN)
    assert registry.licenseBalance(operator, asset_id) == 3
    assert token.balanceOf(router.address) == 3 * ONE_TOKEN
    assert router.pending(asset_id) == 3 * ONE_TOKEN
    assert router.totalPaid() == 3 * ONE_TOKEN


def test_mint_license__free(make_asset, registry, router, asker):
    asset_id = make_asset(terms=OPEN.but(minting_fee=0))
    registry.mintLicense(asset_id, 2, asker, sender=asker)
    assert registry.licenseBalance(asker, asset_id) == 2
    assert router.totalPaid() == 0


def test_mint_license__unknown_asset__reverts(registry, asker):
    with boa.reverts("registry: unknown asset"):
        registry.mintLicense(1, 1, asker, sender=asker)


def test_mint_license__zero_amount__reverts(make_asset, registry, asker):
    asset_id = make_asset()
    with boa.reverts("registry: zero amount"):
        registry.mintLicense(asset_id, 0, asker, sender=asker)


def test_mint_license__zero_receiver__reverts(make_asset, registry, asker):
    asset_id = make_asset()
    with boa.reverts("registry: receiver is the zero address"):
        registry.mintLicense(asset_id, 1, ZERO_ADDRESS, sender=asker)


def test_mint_license__expired_terms__reverts(make_asset, registry, fund, asker):
    asset_id = make_asset(terms=OPEN.but(expiration=boa.env.timestamp + 10))
    fund(asker)
    registry.mintLicense(asset_id, 1, asker, sender=asker)
    boa.env.time_travel(seconds=10)
    with boa.reverts("registry: license terms expired"):
        registry.mintLicense(asset_id, 1, asker, sender=asker)


def test_mint_license__without_allowance__reverts(make_asset, registry, fund, asker):
    asset_id = make_asset()
    fund(asker, approve=False)
    with boa.reverts("erc20: insufficient allowance"):
        registry.mintLicense(asset_id, 1, asker, sender=asker)


def test_mint_license__fee_overflow__reverts(make_asset, registry, fund, asker):
    asset_id = make_asset(terms=OPEN.but(minting_fee=2**98 - 1))
    fund(asker)
    with boa.reverts():
        registry.mintLicense(asset_id, 2**158, asker, sender=asker)


def test_mint_license__router_not_set__reverts(unwired, creator, asker):
    registry = unwired.registry
    asset_id = new_work(registry, creator)
    with boa.reverts("registry: royalty router not set"):
        registry.mintLicense(asset_id, 1, asker, sender=asker)


def test_mint_license__free_without_router(unwired, creator, asker):
    registry = unwired.registry
    asset_id = new_work(registry, creator, OPEN.but(minting_fee=0))
    registry.mintLicense(asset_id, 1, asker, sender=asker)
    assert registry.licenseBalance(asker, asset_id) == 1


# ------------------------------------------------------------------ wiring --


def test_set_royalty_router(unwired, deployer):
    unwired.registry.setRoyaltyRouter(unwired.router.address, sender=deployer)
    [log] = events(unwired.registry, "RoyaltyRouterSet")
    assert log.router == unwired.router.address
    assert unwired.registry.royaltyRouter() == unwired.router.address


def test_set_royalty_router__not_deployer__reverts(unwired, creator):
    with boa.reverts("registry: caller is not the deployer"):
        unwired.registry.setRoyaltyRouter(unwired.router.address, sender=creator)


def test_set_royalty_router__twice__reverts(registry, router, deployer):
    with boa.reverts("registry: royalty router already set"):
        registry.setRoyaltyRouter(router.address, sender=deployer)


def test_set_royalty_router__zero__reverts(unwired, deployer):
    with boa.reverts("registry: router is the zero address"):
        unwired.registry.setRoyaltyRouter(ZERO_ADDRESS, sender=deployer)


def test_set_royalty_router__for_another_registry__reverts(unwired, router, deployer):
    with boa.reverts("registry: router is for another registry"):
        unwired.registry.setRoyaltyRouter(router.address, sender=deployer)


def test_set_royalty_router__other_token__reverts(unwired, router_deployer, token, deployer):
    with boa.env.prank(deployer):
        stray = router_deployer.deploy(token.address, unwired.registry.address)
    with boa.reverts("registry: router pays another token"):
        unwired.registry.setRoyaltyRouter(stray.address, sender=deployer)


# ------------------------------------------------------------------ ERC-2981 --


def test_royalty_info(make_asset, registry):
    asset_id = make_asset(terms=OPEN.but(royalty_bps=250))
    vault = registry.royaltyVault(asset_id)
    assert registry.royaltyInfo(asset_id, 10_000) == (vault, 250)
    assert registry.royaltyInfo(asset_id, 399) == (vault, 9)  # 9.975 rounded down


def test_royalty_info__unknown_asset__reverts(registry):
    with boa.reverts("registry: unknown asset"):
        registry.royaltyInfo(1, 100)


@FUZZ
@given(bps=st.integers(0, BPS), price=st.integers(0, MAX_UINT256))
def test_royalty_info__fuzz(make_asset, registry, bps, price):
    with fresh_state():
        asset_id = make_asset(terms=OPEN.but(royalty_bps=bps))
        assert registry.royaltyInfo(asset_id, price)[1] == price * bps // BPS


# ------------------------------------------------------------------ ERC-721 --


@pytest.mark.parametrize(
    ("interface_id", "supported"),
    [
        ("01ffc9a7", True),  # ERC-165
        ("80ac58cd", True),  # ERC-721
        ("5b5e139f", True),  # ERC-721 metadata
        ("49064906", True),  # ERC-4906
        ("2a55205a", True),  # ERC-2981
        ("780e9d63", False),  # ERC-721 enumerable
        ("ffffffff", False),
    ],
)
def test_supports_interface(registry, interface_id, supported):
    assert registry.supportsInterface(bytes.fromhex(interface_id)) is supported


def test_name_and_symbol(registry):
    assert (registry.name(), registry.symbol()) == ("tantieme IP Asset", "TIPA")


def test_transfer_from__by_owner(make_asset, registry, router, creator, asker):
    asset_id = make_asset()
    registry.transferFrom(creator, asker, asset_id, sender=creator)
    [transfer] = events(registry, "Transfer")
    assert (transfer.sender, transfer.receiver, transfer.token_id) == (creator, asker, asset_id)
    assert registry.ownerOf(asset_id) == asker
    assert (registry.balanceOf(creator), registry.balanceOf(asker)) == (0, 1)
    # The packed core keeps everything else.
    assert registry.licenseTerms(asset_id).royalty_bps == OPEN.royalty_bps
    assert registry.assetKind(asset_id) == WORK


def test_transfer_from__by_approved(make_asset, registry, creator, operator, asker):
    asset_id = make_asset()
    registry.approve(operator, asset_id, sender=creator)
    assert registry.getApproved(asset_id) == operator
    registry.transferFrom(creator, asker, asset_id, sender=operator)
    assert registry.ownerOf(asset_id) == asker
    assert registry.getApproved(asset_id) == ZERO_ADDRESS


def test_transfer_from__by_operator(make_asset, registry, creator, operator, asker):
    asset_id = make_asset()
    registry.setApprovalForAll(operator, True, sender=creator)
    assert registry.isApprovedForAll(creator, operator)
    registry.transferFrom(creator, asker, asset_id, sender=operator)
    assert registry.ownerOf(asset_id) == asker


def test_transfer_from__by_stranger__reverts(make_asset, registry, creator, stranger):
    asset_id = make_asset()
    with boa.reverts("erc721: caller is not token owner or approved"):
        registry.transferFrom(creator, stranger, asset_id, sender=stranger)


def test_transfer_from__wrong_owner__reverts(make_asset, registry, asker):
    asset_id = make_asset()
    with boa.reverts("erc721: transfer from incorrect owner"):
        registry.transferFrom(asker, asker, asset_id, sender=asker)


def test_transfer_from__to_zero__reverts(make_asset, registry, creator):
    asset_id = make_asset()
    with boa.reverts("erc721: transfer to the zero address"):
        registry.transferFrom(creator, ZERO_ADDRESS, asset_id, sender=creator)


def test_approve__by_stranger__reverts(make_asset, registry, stranger):
    asset_id = make_asset()
    with boa.reverts("erc721: approve caller is not token owner or approved for all"):
        registry.approve(stranger, asset_id, sender=stranger)


def test_approve__to_owner__reverts(make_asset, registry, creator):
    asset_id = make_asset()
    with boa.reverts("erc721: approval to current owner"):
        registry.approve(creator, asset_id, sender=creator)


def test_set_approval_for_all__self__reverts(registry, creator):
    with boa.reverts("erc721: approve to caller"):
        registry.setApprovalForAll(creator, True, sender=creator)


def test_views__unknown_asset__revert(registry):
    for view in (registry.ownerOf, registry.getApproved, registry.tokenURI, registry.licenseTerms,
                 registry.aiConsent, registry.assetKind, registry.contentHash, registry.parentsOf,
                 registry.ancestorCount, registry.parentShares):
        with boa.reverts("registry: unknown asset"):
            view(1)


def test_balance_of__zero_address__reverts(registry):
    with boa.reverts("erc721: the zero address is not a valid owner"):
        registry.balanceOf(ZERO_ADDRESS)


def test_safe_transfer_from__to_receiver(make_asset, registry, creator):
    receiver = boa.loads(RECEIVER_SOURCE, ERC721_RECEIVED)
    asset_id = make_asset()
    registry.safeTransferFrom(creator, receiver.address, asset_id, b"hi", sender=creator)
    assert registry.ownerOf(asset_id) == receiver.address
    assert receiver.last_operator() == creator


def test_safe_transfer_from__to_non_receiver__reverts(make_asset, registry, creator):
    refuser = boa.loads(RECEIVER_SOURCE, b"\x00\x00\x00\x00")
    asset_id = make_asset()
    with boa.reverts("erc721: transfer to non-IERC721Receiver implementer"):
        registry.safeTransferFrom(creator, refuser.address, asset_id, sender=creator)


def test_safe_transfer_from__to_eoa(make_asset, registry, creator, asker):
    asset_id = make_asset()
    registry.safeTransferFrom(creator, asker, asset_id, sender=creator)
    assert registry.ownerOf(asset_id) == asker


# ------------------------------------------------------------------ fuzz --

terms_strategy = st.builds(
    Terms,
    commercial_use=st.booleans(),
    attribution=st.booleans(),
    derivatives_allowed=st.booleans(),
    derivatives_approval=st.booleans(),
    derivatives_reciprocal=st.booleans(),
    royalty_bps=st.integers(0, BPS),
    minting_fee=st.integers(0, 2**98 - 1),
    expiration=st.one_of(st.just(0), st.integers(2**31, 2**64 - 1)),
    uri=st.sampled_from(["", TERMS_URI, "ipfs://licence-" + "x" * 200]),
    ai_training=st.booleans(),
    ai_fine_tuning=st.booleans(),
    ai_retrieval=st.booleans(),
    ai_output_commercial=st.booleans(),
)


@FUZZ
@given(
    kind=st.integers(0, AGENT),
    terms=terms_strategy,
    uri=st.text(max_size=64) | st.text(alphabet="abc/:.", min_size=200, max_size=256),
)
def test_register__fuzz_roundtrip(registry, token, creator, kind, terms, uri):
    """Whatever is registered reads back exactly (packing is lossless)."""
    with fresh_state():
        content_hash = new_content_hash()
        asset_id = register_asset(registry, creator, kind, content_hash, uri, [], terms)
        assert registry.licenseTerms(asset_id) == terms_as_returned(terms, token.address)
        assert registry.metadataURI(asset_id) == uri
        assert registry.assetKind(asset_id) == kind
        assert registry.contentHash(asset_id) == content_hash
        assert registry.ownerOf(asset_id) == creator


@FUZZ
@given(data=st.data())
def test_register__fuzz_parents_roundtrip(make_asset, registry, asker, data):
    """Any set of up to 16 distinct parents reads back in order."""
    with fresh_state():
        pool = [make_asset(terms=NON_COMMERCIAL.but(royalty_bps=0)) for _ in range(20)]
        parents = data.draw(st.lists(st.sampled_from(pool), max_size=16, unique=True))
        child = make_asset(owner=asker, parents=parents, terms=NON_COMMERCIAL)
        assert registry.parentsOf(child) == parents
        assert registry.ancestorCount(child) == len(parents)
        assert registry.parentShares(child) == (parents, [0] * len(parents))
