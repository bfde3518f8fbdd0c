"""Registering assets through the SDK, on the embedded chain and on anvil."""

from __future__ import annotations

import time

import pytest

from tantieme.assets import registry
from tantieme.assets.royalties import mint_license
from tantieme.assets.terms import LicenseTerms, preset
from tantieme.errors import AssetError, ChainError


def _state(node):
    return node.registry.functions.totalAssets().call(), sorted(p.name for p in node.store.root.rglob("*") if p.is_file())


def test_register__file_with_terms__reads_back_from_chain(creator, make_file):
    path = make_file("a poem about rivers")
    asset = registry.register(creator, path, kind="work", terms=preset("non-commercial"), title="Rivers")
    assert asset.id == 1
    assert asset.owner == creator.address
    assert asset.kind == "work"
    assert asset.title == "Rivers"
    assert asset.terms == preset("non-commercial").with_(currency=creator.deployment.token)
    assert bytes.fromhex(asset.content_hash) == __import__("hashlib").sha256(path.read_bytes()).digest()
    assert creator.store.read_bytes(bytes.fromhex(asset.content_hash)) == path.read_bytes()
    assert registry.get(creator, 1) == asset


def test_register__default_terms__grant_no_ai_use(creator, make_file):
    asset = registry.register(creator, make_file("untitled"))
    assert asset.terms.ai_consent() == dict.fromkeys(("training", "fine_tuning", "retrieval", "output_commercial"), False)
    assert not asset.terms.derivatives_allowed


def test_register__own_file_again__reuses_the_asset_and_says_so(creator, make_file):
    path = make_file("only once")
    first = registry.register(creator, path)
    before = _state(creator)
    again = registry.register(creator, path)
    assert again.reused and not first.reused
    assert again.id == first.id and again.owner == creator.address
    assert _state(creator) == before


def test_register__someone_elses_file__names_the_asset_and_owner_and_nothing_changes(creator, other, make_file):
    path = make_file("only once")
    registry.register(creator, path)
    before = _state(other)
    with pytest.raises(AssetError, match=f"already registered as asset #1, owned by {creator.address}"):
        registry.register(other, path)
    assert _state(other) == before


def test_register__two_transactions_commit_then_reveal(creator, make_file):
    """A commitment first, the registration in a later block; the commitment
    is spent (an observer's copy of the registration cannot use it)."""
    w3 = creator.conn.w3
    start = w3.eth.block_number
    asset = registry.register(creator, make_file("committed"))
    [registered] = creator.registry.events.AssetRegistered().get_logs(from_block=start + 1)
    assert registered["args"]["asset_id"] == asset.id
    sent = [
        (n, w3.eth.get_transaction(h))
        for n in range(start + 1, w3.eth.block_number + 1)
        for h in w3.eth.get_block(n)["transactions"]
    ]
    calls = [(n, *creator.registry.decode_function_input(tx["input"])) for n, tx in sent
             if tx["to"] == creator.registry.address]
    assert [fn.fn_name for _, fn, _ in calls] == ["commitRegistration", "register"]
    (commit_block, _, commit), (reveal_block, _, reveal) = calls
    assert commit_block < reveal_block
    assert commit["commitment"] == registry.commitment(creator.address, reveal["content_hash"], reveal["salt"])


def test_register__a_copied_registration__cannot_take_the_content(creator, other, make_file):
    """A mempool observer who copies the reveal has no commitment of its own."""
    content = make_file("front-run me")
    start = creator.conn.w3.eth.block_number
    registry.register(creator, content)
    [registered] = creator.registry.events.AssetRegistered().get_logs(from_block=start + 1)
    tx = creator.conn.w3.eth.get_transaction(registered["transactionHash"])
    call = creator.registry.decode_function_input(tx["input"])[1]
    copy = other.registry.functions.register(*(call[k] for k in ("kind", "content_hash", "uri", "parents", "terms", "salt")))
    with pytest.raises(ChainError, match="^registry: no commitment$"):
        other.conn.transact(copy, gas=1_500_000)


@pytest.mark.parametrize("bad", ["missing", "directory"])
def test_register__unreadable_file__clear_error(creator, tmp_path, bad):
    path = tmp_path / "nope.md" if bad == "missing" else tmp_path
    before = _state(creator)
    with pytest.raises(AssetError, match="does not exist|is a directory"):
        registry.register(creator, path)
    assert _state(creator) == before


def test_register__unknown_parent__clear_error(creator, make_file):
    with pytest.raises(AssetError, match="parent asset 7 does not exist"):
        registry.register(creator, make_file("child"), parents=(7,))


def test_register__more_than_16_parents__clear_error(creator, make_file):
    with pytest.raises(AssetError, match="at most 16 parents"):
        registry.register(creator, make_file("child"), parents=tuple(range(1, 18)))


def test_register__unknown_kind__clear_error(creator, make_file):
    with pytest.raises(AssetError, match="unknown kind 'poem'"):
        registry.register(creator, make_file("x"), kind="poem")


def test_register__derivative_of_no_derivatives_work__reverts_and_keeps_no_file(creator, other, make_file):
    parent = registry.register(creator, make_file("closed"), terms=LicenseTerms(ai_retrieval=True))
    before = _state(other)
    with pytest.raises(ChainError, match="^registry: parent forbids derivatives$"):
        registry.register(other, make_file("remix"), parents=(parent.id,))
    assert _state(other) == before


def test_register__commercial_derivative__needs_a_licence(creator, other, make_file):
    parent = registry.register(creator, make_file("song"), terms=preset("open"))
    with pytest.raises(AssetError, match="needs a licence of asset 1"):
        registry.register(other, make_file("cover"), terms=preset("open"), parents=(parent.id,))
    mint_license(other, parent.id)
    child = registry.register(other, make_file("cover"), terms=preset("open"), parents=(parent.id,))
    assert child.parents == (parent.id,)
    assert child.ancestors == 1
    assert other.registry.functions.licenseBalance(other.address, parent.id).call() == 0


def test_register__model_on_no_training_dataset__clear_error(creator, other, make_file):
    no_training = preset("open").with_(ai_training=False)
    dataset = registry.register(creator, make_file("rows"), kind="dataset", terms=no_training)
    mint_license(other, dataset.id)
    with pytest.raises(AssetError, match="dataset 1 does not allow AI training"):
        registry.register(other, make_file("weights"), kind="model", terms=no_training, parents=(dataset.id,))


def test_register__derivative_granting_what_the_parent_refuses__clear_error(creator, other, make_file):
    parent = registry.register(creator, make_file("essay"), terms=preset("non-commercial"))
    before = _state(other)
    with pytest.raises(AssetError, match="parent asset 1 does not allow AI training"):
        registry.register(other, make_file("remix"), terms=preset("non-commercial").with_(ai_training=True),
                          parents=(parent.id,))
    assert _state(other) == before


def test_register__laundering_through_a_dataset_after_the_work_revokes__refused(creator, other, make_file):
    """Work allows training → dataset derivative allows it → the work revokes:
    no model may be registered on the dataset any more, and the dataset's
    effective consent shows it."""
    work = registry.register(creator, make_file("essay"), terms=preset("training-data"))
    mint_license(other, work.id)
    dataset = registry.register(other, make_file("rows"), kind="dataset", terms=preset("training-data"),
                                parents=(work.id,))
    assert dataset.consent["training"]
    registry.tighten_consent(creator, work.id, **(work.terms.ai_consent() | {"training": False}))
    dataset = registry.get(other, dataset.id)
    assert dataset.terms.ai_training and not dataset.consent["training"]
    mint_license(other, dataset.id)
    with pytest.raises(AssetError, match=f"dataset {dataset.id} does not allow AI training"):
        registry.register(other, make_file("weights"), kind="model", terms=preset("open").with_(ai_training=False),
                          parents=(dataset.id,))


def test_register__model_on_training_dataset__succeeds(creator, other, make_file):
    dataset = registry.register(creator, make_file("rows"), kind="dataset", terms=preset("training-data"))
    mint_license(other, dataset.id)
    model = registry.register(other, make_file("weights"), kind="model", terms=preset("open"), parents=(dataset.id,))
    assert model.kind == "model"
    assert model.parents == (dataset.id,)


def test_tighten_consent__clears_flags_and_cannot_grant_again(creator, make_file):
    asset = registry.register(creator, make_file("essay"), terms=preset("open"))
    consent = asset.terms.ai_consent() | {"retrieval": False}
    tightened = registry.tighten_consent(creator, asset.id, **consent)
    assert not tightened.terms.ai_retrieval
    assert tightened.terms.ai_training
    with pytest.raises(ChainError, match="^registry: consent can only be tightened$"):
        registry.tighten_consent(creator, asset.id, **(consent | {"retrieval": True}))


def test_tighten_consent__not_owner__reverts(creator, other, make_file):
    asset = registry.register(creator, make_file("essay"), terms=preset("open"))
    with pytest.raises(ChainError, match="^registry: caller is not the asset owner$"):
        registry.tighten_consent(other, asset.id, training=False, fine_tuning=False, retrieval=False, output_commercial=False)


def test_mint_license__expired_terms__reverts(creator, other, make_file):
    now = creator.conn.w3.eth.get_block("latest")["timestamp"]
    asset = registry.register(creator, make_file("short-lived"), terms=preset("open").with_(expiration=now + 2))
    time.sleep(3)
    with pytest.raises(ChainError, match="^registry: license terms expired$"):
        mint_license(other, asset.id)
