"""IPAssetRegistry against a hostile user: commit-reveal registration,
consent that only narrows down the graph, approvals that end with a
transfer, licences only for licensable terms, royalty vaults, and metadata
that outside tools read."""

from __future__ import annotations

import base64
import json

import boa
import pytest
from eth_utils import keccak, to_checksum_address

from .conftest import (
    DATASET,
    METADATA_URI,
    MODEL,
    NO_AI,
    NON_COMMERCIAL,
    NOTHING,
    ONE_TOKEN,
    OPEN,
    SALT,
    WORK,
    ZERO_ADDRESS,
    commitment,
    events,
    new_content_hash,
    new_work,
    next_block,
    register_asset,
)

DAY = 86_400
DATA_URI = "data:application/json;base64,"
USES = ("training", "fine_tuning", "retrieval", "output_commercial")
AI_FIELDS = ("ai_training", "ai_fine_tuning", "ai_retrieval", "ai_output_commercial")


def reveal(registry, sender, content_hash, terms=OPEN, parents=(), salt=SALT, kind=WORK):
    return registry.register(kind, content_hash, METADATA_URI, list(parents), terms.abi(), salt, sender=sender)


# ------------------------------------------------------------ commit-reveal --


def test_commit__then_register_in_a_later_block(registry, creator):
    content = new_content_hash()
    registry.commitRegistration(commitment(creator, content), sender=creator)
    next_block()
    assert reveal(registry, creator, content) == 1


def test_register__without_commitment__reverts(registry, creator):
    with boa.reverts("registry: no commitment"):
        reveal(registry, creator, new_content_hash())


def test_register__in_the_commit_block__reverts(registry, creator):
    content = new_content_hash()
    registry.commitRegistration(commitment(creator, content), sender=creator)
    with boa.reverts("registry: commitment too recent"):
        reveal(registry, creator, content)


def test_register__commitment_expires_after_a_day(registry, creator):
    content = new_content_hash()
    registry.commitRegistration(commitment(creator, content), sender=creator)
    boa.env.time_travel(seconds=DAY + 1)
    with boa.reverts("registry: commitment expired"):
        reveal(registry, creator, content)
    assert registry.COMMITMENT_MAX_AGE() == DAY


def test_register__commitment_usable_for_exactly_a_day(registry, creator):
    content = new_content_hash()
    registry.commitRegistration(commitment(creator, content), sender=creator)
    boa.env.time_travel(seconds=DAY)
    assert reveal(registry, creator, content) == 1


def test_register__wrong_salt__reverts(registry, creator):
    content = new_content_hash()
    registry.commitRegistration(commitment(creator, content), sender=creator)
    next_block()
    with boa.reverts("registry: no commitment"):
        reveal(registry, creator, content, salt=keccak(b"another salt"))


def test_register__commitment_is_spent(registry, creator):
    content = new_content_hash()
    registry.commitRegistration(commitment(creator, content), sender=creator)
    next_block()
    reveal(registry, creator, content)
    with boa.reverts("registry: no commitment"):
        reveal(registry, creator, content)


def test_commit__zero__reverts(registry, creator):
    with boa.reverts("registry: zero commitment"):
        registry.commitRegistration(b"\x00" * 32, sender=creator)


def test_front_runner__copying_the_reveal__cannot_register(registry, creator, stranger):
    """The observer replays the creator's pending registration, salt and all:
    the commitment binds the creator's address, so it has none."""
    content = new_content_hash()
    registry.commitRegistration(commitment(creator, content), sender=creator)
    next_block()
    with boa.reverts("registry: no commitment"):
        reveal(registry, stranger, content, terms=OPEN.but(royalty_bps=0))
    assert reveal(registry, creator, content) == 1
    assert registry.ownerOf(1) == creator


def test_front_runner__committing_after_seeing_the_reveal__is_too_late(registry, creator, stranger):
    """Seeing the hash in the mempool, the observer commits in the reveal's
    block; it may register only a block later, after the creator."""
    content = new_content_hash()
    registry.commitRegistration(commitment(creator, content), sender=creator)
    next_block()
    registry.commitRegistration(commitment(stranger, content, keccak(b"mine")), sender=stranger)
    with boa.reverts("registry: commitment too recent"):
        reveal(registry, stranger, content, salt=keccak(b"mine"))
    assert reveal(registry, creator, content) == 1
    next_block()
    with boa.reverts("registry: duplicate content hash"):
        reveal(registry, stranger, content, salt=keccak(b"mine"))


def test_commit__by_another_account_does_not_interfere(registry, creator, stranger):
    """Commitments are per registrant: re-committing the creator's value from
    another account (to restart its clock) changes nothing for the creator."""
    content = new_content_hash()
    registry.commitRegistration(commitment(creator, content), sender=creator)
    next_block()
    registry.commitRegistration(commitment(creator, content), sender=stranger)
    assert reveal(registry, creator, content) == 1


# ------------------------------------------------------ effective consent --


@pytest.mark.parametrize("use", range(4))
def test_derivative__granting_a_use_the_parent_refuses__reverts(make_asset, asker, use):
    parent = make_asset(terms=NON_COMMERCIAL.but(**{AI_FIELDS[use]: False}))
    reason = ["ai training", "ai fine-tuning", "ai retrieval", "commercial ai output"][use]
    with boa.reverts(f"registry: an ancestor refuses {reason}"):
        make_asset(owner=asker, parents=[parent], terms=NON_COMMERCIAL.but(ai_output_commercial=True))


def test_derivative__of_a_no_ai_work__can_grant_no_ai_use(make_asset, registry, license_for, asker):
    work = make_asset(terms=NO_AI)
    license_for(asker, work)
    for field in AI_FIELDS:
        with boa.reverts():
            make_asset(owner=asker, parents=[work], terms=NO_AI.but(**{field: True}))
    child = make_asset(owner=asker, parents=[work], terms=NO_AI)
    assert registry.aiConsent(child) == (False,) * 4


def test_derivative__narrower_than_its_parents__registers(make_asset, registry, asker):
    a = make_asset(terms=NON_COMMERCIAL.but(ai_training=False))
    b = make_asset(terms=NON_COMMERCIAL.but(ai_fine_tuning=False))
    child = make_asset(owner=asker, parents=[a, b], terms=NON_COMMERCIAL.but(ai_training=False, ai_fine_tuning=False))
    assert registry.aiConsent(child) == (False, False, True, False)


def test_laundering__training_through_a_dataset_derivative__reverts(make_asset, registry, license_for, operator):
    """A work refusing training → a dataset derivative granting it: refused at
    the dataset, and a dataset without training consent trains no model."""
    work = make_asset(terms=OPEN.but(ai_training=False))
    license_for(operator, work)
    with boa.reverts("registry: an ancestor refuses ai training"):
        make_asset(owner=operator, kind=DATASET, parents=[work], terms=OPEN)
    dataset = make_asset(owner=operator, kind=DATASET, parents=[work], terms=OPEN.but(ai_training=False))
    license_for(operator, dataset)
    with boa.reverts("registry: dataset forbids ai training"):
        make_asset(owner=operator, kind=MODEL, parents=[dataset], terms=OPEN.but(ai_training=False))


def test_laundering__after_the_datasets_parent_revokes__model_reverts(make_asset, registry, license_for,
                                                                      creator, operator):
    work = make_asset(terms=OPEN)
    license_for(operator, work)
    dataset = make_asset(owner=operator, kind=DATASET, parents=[work], terms=OPEN)
    registry.setAIConsent(work, False, True, True, True, sender=creator)
    assert registry.aiConsent(dataset) == (False, True, True, True)  # effective
    assert registry.licenseTerms(dataset).ai_training  # its own terms stand
    license_for(operator, dataset)
    with boa.reverts("registry: dataset forbids ai training"):
        make_asset(owner=operator, kind=MODEL, parents=[dataset], terms=OPEN.but(ai_training=False))


def test_tightening__reaches_every_descendant(make_asset, registry, creator, asker):
    root = make_asset(terms=NON_COMMERCIAL)
    middle = make_asset(owner=asker, parents=[root], terms=NON_COMMERCIAL)
    leaf = make_asset(owner=asker, parents=[middle], terms=NON_COMMERCIAL)
    unrelated = make_asset(terms=NON_COMMERCIAL)
    registry.setAIConsent(root, True, True, False, False, sender=creator)
    for asset_id in (root, middle, leaf):
        assert registry.aiConsent(asset_id) == (True, True, False, False)
    assert registry.aiConsent(unrelated) == (True, True, True, False)
    with boa.reverts("registry: an ancestor refuses ai retrieval"):
        make_asset(owner=asker, parents=[leaf], terms=NON_COMMERCIAL)


def test_tightening__emits_batch_metadata_update_for_later_assets(make_asset, registry, creator):
    first = make_asset(terms=NON_COMMERCIAL)
    make_asset(terms=NON_COMMERCIAL)
    last = make_asset(terms=NON_COMMERCIAL)
    registry.setAIConsent(first, True, True, False, False, sender=creator)
    logs = registry.get_logs()
    assert [type(log).__name__ for log in logs] == ["AIConsentTightened", "MetadataUpdate", "BatchMetadataUpdate"]
    assert tuple(logs[2])[1:] == (first + 1, last)
    registry.setAIConsent(first, True, True, False, False, sender=creator)  # nothing cleared
    assert [type(log).__name__ for log in registry.get_logs()] == ["AIConsentTightened", "MetadataUpdate"]
    registry.setAIConsent(last, True, False, False, False, sender=creator)  # no later asset
    assert [type(log).__name__ for log in registry.get_logs()] == ["AIConsentTightened", "MetadataUpdate"]


def dense_graph(make_asset, terms):
    """A graph whose top has 1,024 ancestors counted per path (see the
    ancestor tests): 16 roots, 16 × 16, 3 × 16 and 12 more."""
    roots = [make_asset(terms=terms) for _ in range(16)]
    level1 = [make_asset(terms=terms, parents=roots) for _ in range(16)]
    level2 = [make_asset(terms=terms, parents=level1) for _ in range(3)]
    partial = make_asset(terms=terms, parents=level1[:12])
    return roots, [*level2, partial]


def test_effective_consent__walks_every_path_at_the_bound(make_asset, registry, creator, asker):
    free = NON_COMMERCIAL.but(royalty_bps=0)
    roots, upper = dense_graph(make_asset, free)
    top = make_asset(owner=asker, parents=upper, terms=free)
    assert registry.ancestorCount(top) == 1024
    assert registry.aiConsent(top) == (True, True, True, False)
    registry.setAIConsent(roots[-1], True, True, False, False, sender=creator)  # the last path walked
    assert registry.aiConsent(top) == (True, True, False, False)
    with boa.reverts("registry: an ancestor refuses ai retrieval"):
        make_asset(owner=asker, parents=upper, terms=free)
    gas = []
    make_asset(owner=asker, parents=upper, terms=free.but(ai_retrieval=False))
    gas.append(registry._computation.get_gas_used())
    assert gas[0] < 5_000_000  # well within a block


# -------------------------------------------------------------- approvals --


def test_approval__ends_when_the_parent_changes_hands(make_asset, registry, creator, asker, operator):
    parent = make_asset(terms=NON_COMMERCIAL.but(derivatives_approval=True))
    registry.approveDerivative(parent, asker, True, sender=creator)
    assert registry.isDerivativeApproved(parent, asker)
    registry.transferFrom(creator, operator, parent, sender=creator)
    assert not registry.isDerivativeApproved(parent, asker)
    with boa.reverts("registry: derivative not approved"):
        make_asset(owner=asker, parents=[parent], terms=NON_COMMERCIAL.but(derivatives_approval=True))
    registry.approveDerivative(parent, asker, True, sender=operator)  # the new owner decides
    make_asset(owner=asker, parents=[parent], terms=NON_COMMERCIAL.but(derivatives_approval=True))


def test_approval__does_not_come_back_with_the_asset(make_asset, registry, creator, asker, operator):
    parent = make_asset(terms=NON_COMMERCIAL.but(derivatives_approval=True))
    registry.approveDerivative(parent, asker, True, sender=creator)
    registry.transferFrom(creator, operator, parent, sender=creator)
    registry.transferFrom(operator, creator, parent, sender=operator)
    assert not registry.isDerivativeApproved(parent, asker)


def test_approval__revoked(make_asset, registry, creator, asker):
    parent = make_asset(terms=NON_COMMERCIAL.but(derivatives_approval=True))
    registry.approveDerivative(parent, asker, True, sender=creator)
    registry.approveDerivative(parent, asker, False, sender=creator)
    assert not registry.isDerivativeApproved(parent, asker)


# --------------------------------------------------------------- licences --


@pytest.mark.parametrize(
    ("terms", "reason"),
    [
        (NON_COMMERCIAL, "registry: terms forbid commercial use"),
        (OPEN.but(derivatives_allowed=False), "registry: terms forbid derivatives"),
        (NOTHING, "registry: terms forbid commercial use"),
    ],
)
def test_mint_license__terms_grant_nothing_to_license__reverts(make_asset, registry, fund, asker, terms, reason):
    asset_id = make_asset(terms=terms)
    fund(asker)
    with boa.reverts(reason):
        registry.mintLicense(asset_id, 1, asker, sender=asker)
    assert registry.licenseBalance(asker, asset_id) == 0


# ---------------------------------------------------------- royalty vaults --


def create2_address(deployer: str, salt: int, implementation: str) -> str:
    code = (bytes.fromhex("602d3d8160093d39f3363d3d373d3d3d363d73") + bytes.fromhex(implementation[2:])
            + bytes.fromhex("5af43d82803e903d91602b57fd5bf3"))
    digest = keccak(b"\xff" + bytes.fromhex(deployer[2:]) + salt.to_bytes(32, "big") + keccak(code))
    return to_checksum_address(digest[12:])


def test_royalty_vault__is_the_registrys_create2_address(make_asset, registry, system):
    asset_id = make_asset()
    expected = create2_address(registry.address, asset_id, system.vault_implementation.address)
    assert registry.royaltyVault(asset_id) == expected
    assert registry.royaltyInfo(asset_id, 100)[0] == expected
    assert registry.royaltyVault(make_asset()) != expected  # one per asset


def test_royalty_info__never_the_zero_address_even_unwired(unwired, creator, deployer):
    registry = unwired.registry
    asset_id = new_work(registry, creator)
    before = registry.royaltyInfo(asset_id, 10_000)
    assert before[0] != ZERO_ADDRESS
    registry.setRoyaltyRouter(unwired.router.address, sender=deployer)
    assert registry.royaltyInfo(asset_id, 10_000) == before


def test_deploy_royalty_vault(make_asset, registry, router, token, stranger):
    asset_id = make_asset()
    vault = registry.deployRoyaltyVault(asset_id, sender=stranger)
    [deployed] = events(registry, "RoyaltyVaultDeployed")
    assert (deployed.asset_id, deployed.vault) == (asset_id, vault) and vault == registry.royaltyVault(asset_id)
    assert token.allowance(vault, router.address) == 2**256 - 1
    with boa.reverts("registry: royalty vault already deployed"):
        registry.deployRoyaltyVault(asset_id, sender=stranger)


def test_deploy_royalty_vault__unwired__reverts(unwired, creator):
    registry = unwired.registry
    asset_id = new_work(registry, creator)
    with boa.reverts("registry: royalty router not set"):
        registry.deployRoyaltyVault(asset_id, sender=creator)


def test_deploy_royalty_vault__unknown_asset__reverts(registry, creator):
    with boa.reverts("registry: unknown asset"):
        registry.deployRoyaltyVault(1, sender=creator)


def test_vault__initialized_once(make_asset, registry, token, stranger, system):
    vault = system.vault_implementation.deployer.at(registry.deployRoyaltyVault(make_asset(), sender=stranger))
    with boa.reverts("vault: already initialized"):
        vault.initialize(token.address, stranger, sender=stranger)
    assert token.allowance(vault.address, stranger) == 0


def test_vault__refuses_ether(make_asset, registry, stranger):
    vault = registry.deployRoyaltyVault(make_asset(), sender=stranger)
    boa.env.set_balance(stranger, ONE_TOKEN)
    with pytest.raises(Exception):
        boa.env.raw_call(vault, sender=stranger, value=1)
    assert boa.env.get_balance(vault) == 0


# --------------------------------------------------------------- metadata --


def metadata(registry, asset_id: int) -> dict:
    uri = registry.tokenURI(asset_id)
    assert uri.startswith(DATA_URI)
    return json.loads(base64.b64decode(uri.removeprefix(DATA_URI), validate=True))


def test_token_uri__is_erc721_metadata_json(make_asset, registry, token, license_for, asker):
    parent = make_asset(kind=DATASET, terms=OPEN)
    license_for(asker, parent)
    content = new_content_hash()
    child = make_asset(owner=asker, kind=MODEL, parents=[parent], terms=OPEN.but(ai_retrieval=False),
                       content_hash=content)
    data = metadata(registry, child)
    assert data["name"] == f"tantieme IP Asset #{child}"
    assert data["description"].startswith("A model registered on tantieme.")
    assert data["external_url"] == METADATA_URI
    assert data["kind"] == "model"
    assert data["content_hash"] == "0x" + content.hex()
    assert data["parents"] == [parent]
    assert data["ancestor_count"] == 1
    assert data["ai_consent"] == {"training": True, "fine_tuning": True, "retrieval": False,
                                  "output_commercial": True}
    terms = data["terms"]
    assert terms["royalty_bps"] == OPEN.royalty_bps and terms["minting_fee"] == str(ONE_TOKEN)
    assert terms["currency"] == token.address.lower() and terms["uri"] == OPEN.uri
    assert (terms["commercial_use"], terms["ai_retrieval"], terms["expiration"]) == (True, False, 0)
    assert data["royalty_vault"] == registry.royaltyVault(child).lower()
    pricey = make_asset(terms=OPEN.but(minting_fee=2**97 + 1))
    assert metadata(registry, pricey)["terms"]["minting_fee"] == str(2**97 + 1)  # beyond 2**53: a string


def test_token_uri__shows_effective_consent(make_asset, registry, creator, asker):
    parent = make_asset(terms=NON_COMMERCIAL)
    child = make_asset(owner=asker, parents=[parent], terms=NON_COMMERCIAL)
    registry.setAIConsent(parent, False, False, False, False, sender=creator)
    data = metadata(registry, child)
    assert data["ai_consent"] == dict.fromkeys(USES, False)
    assert data["terms"]["ai_retrieval"] is True  # its own terms, unchanged


@pytest.mark.parametrize(
    "uri",
    ['ipfs://a"b\\c', "line\nbreak\ttab\x00nul\x1f", "ünïcödé ✓", "", "x" * 256, '"' * 256, "\x01" * 256],
)
def test_token_uri__escapes_any_uri(registry, creator, uri):
    content = new_content_hash()
    asset_id = register_asset(registry, creator, WORK, content, uri, [], OPEN.but(uri=uri[:256]))
    data = metadata(registry, asset_id)
    assert data["external_url"] == uri
    assert data["terms"]["uri"] == uri[:256]


def test_token_uri__sixteen_parents_and_largest_numbers(make_asset, registry, asker):
    free = NON_COMMERCIAL.but(royalty_bps=0, expiration=2**64 - 1)
    parents = [make_asset(terms=free) for _ in range(16)]
    child = make_asset(owner=asker, parents=parents, terms=free.but(uri="\x01" * 256), uri='"' * 256)
    data = metadata(registry, child)
    assert data["parents"] == parents
    assert data["terms"]["expiration"] == 2**64 - 1


def test_token_uri__unknown_asset__reverts(registry):
    with boa.reverts("registry: unknown asset"):
        registry.tokenURI(1)
