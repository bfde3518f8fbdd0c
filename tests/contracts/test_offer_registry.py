"""OfferRegistry (`offer_registry.vy`): model offers of ERC-8004 agents.

`SPEC.md` "OfferRegistry" lists the rules each test pins.
"""

from __future__ import annotations

import boa
import pytest
from eth_account import Account
from eth_utils import keccak
from hypothesis import given
from hypothesis import strategies as st

from .agent_fixtures import IDENTITY
from .conftest import CONTRACTS, FUZZ, MODEL, ONE_TOKEN, WORK, ZERO_ADDRESS, Signer, events, fresh_state
from .test_agent_identity import sign_wallet

OFFERS = boa.load_partial(str(CONTRACTS / "offer_registry.vy"))

NOT_ALLOWED = "offers: caller is not the agent's owner or wallet"
ENDPOINT = "https://node.example.org/v1/chat/completions"
PROMPT_PRICE = 100 * ONE_TOKEN
COMPLETION_PRICE = 400 * ONE_TOKEN
LATENCY = 1_200
RETRIEVAL, OUTPUT_COMMERCIAL = 4, 8
MAX_PRICE = 2**128 - 1


@pytest.fixture(scope="session")
def identity(deployer):
    with boa.env.prank(deployer):
        return IDENTITY.deploy()


@pytest.fixture
def offers(identity, registry, deployer):
    with boa.env.prank(deployer):
        return OFFERS.deploy(identity.address, registry.address)


@pytest.fixture
def model(make_asset) -> int:
    return make_asset(kind=MODEL)


@pytest.fixture
def agent(identity, operator) -> int:
    """An agent registered by `operator` (its owner and wallet)."""
    return identity.register("ipfs://agent", sender=operator)


@pytest.fixture(scope="session")
def wallet() -> Signer:
    account = Account.from_key(keccak(b"tantieme offer wallet"))
    return Signer(account.address, account.key)


def offer_args(model: int, **changes) -> tuple:
    """`setOffer`'s arguments after the agent id: defaults, then `changes`."""
    args = {
        "model": model,
        "prompt": PROMPT_PRICE,
        "completion": COMPLETION_PRICE,
        "endpoint": ENDPOINT,
        "latency": LATENCY,
        "consent": RETRIEVAL | OUTPUT_COMMERCIAL,
    } | changes
    return tuple(args.values())


def as_returned(agent: int, args: tuple) -> tuple:
    """What `getOffer` returns for an offer set with `args`."""
    return (agent, *args, True)


def set_wallet(identity, agent: int, owner: str, wallet: Signer) -> None:
    deadline = boa.env.timestamp + 60
    identity.setAgentWallet(
        agent, wallet.address, deadline, sign_wallet(identity, wallet, agent, wallet.address, owner, deadline),
        sender=owner,
    )


# ---------------------------------------------------------- deployment --


def test_deploy__zero_registries__revert(identity, registry, deployer):
    with boa.env.prank(deployer):
        with boa.reverts("offers: identity registry is the zero address"):
            OFFERS.deploy(ZERO_ADDRESS, registry.address)
        with boa.reverts("offers: asset registry is the zero address"):
            OFFERS.deploy(identity.address, ZERO_ADDRESS)


def test_deploy__wiring(offers, identity, registry):
    logged = events(offers, "OfferRegistryDeployed")
    assert [(e.identityRegistry, e.assetRegistry) for e in logged] == [(identity.address, registry.address)]
    assert (offers.identityRegistry(), offers.assetRegistry()) == (identity.address, registry.address)
    assert (offers.activeCount(), offers.MAX_PAGE(), offers.MAX_ENDPOINT(), offers.MAX_PRICE()) == (0, 64, 256, MAX_PRICE)


def test_nothing_is_payable(offers, operator, agent, model):
    assert [e.get("name", e["type"]) for e in offers.abi if e.get("stateMutability") == "payable"] == []
    boa.env.set_balance(operator, ONE_TOKEN)
    with pytest.raises(Exception):
        offers.setOffer(agent, *offer_args(model), sender=operator, value=1)
    with pytest.raises(Exception):
        boa.env.raw_call(offers.address, sender=operator, value=1)
    assert boa.env.get_balance(operator) == ONE_TOKEN


# ------------------------------------------------------------- setOffer --


def test_set_offer(offers, operator, agent, model):
    args = offer_args(model)
    offers.setOffer(agent, *args, sender=operator)
    logged = events(offers, "OfferSet")
    assert [(e.agentId, e.model, e.sender, e.pricePromptPerMillion, e.priceCompletionPerMillion, e.endpoint,
             e.p95LatencyMs, e.consent) for e in logged] == [(agent, model, operator, *args[1:])]
    assert offers.getOffer(agent) == as_returned(agent, args)
    assert offers.activeCount() == 1
    assert offers.activeOffers(0, 10) == [as_returned(agent, args)]


def test_set_offer__again__replaces_it_in_place(offers, operator, agent, model, make_asset):
    offers.setOffer(agent, *offer_args(model), sender=operator)
    other = make_asset(kind=MODEL)
    args = offer_args(other, prompt=0, completion=1, endpoint="http://127.0.0.1:8402", latency=2**32 - 1, consent=0)
    offers.setOffer(agent, *args, sender=operator)
    assert offers.getOffer(agent) == as_returned(agent, args)
    assert offers.activeCount() == 1
    assert offers.activeOffers(0, 64) == [as_returned(agent, args)]


def test_set_offer__bounds_accepted(offers, operator, agent, model):
    args = offer_args(model, prompt=MAX_PRICE, completion=0, endpoint="h" * 256, consent=15)
    offers.setOffer(agent, *args, sender=operator)
    assert offers.getOffer(agent) == as_returned(agent, args)


def test_get_offer__none__is_inactive_and_zero(offers, agent):
    assert offers.getOffer(agent) == (0, 0, 0, 0, "", 0, 0, False)
    assert offers.getOffer(2**256 - 1) == (0, 0, 0, 0, "", 0, 0, False)


# --------------------------------------------------------- who may set --


def test_set_offer__by_the_wallet(offers, identity, operator, agent, model, wallet):
    set_wallet(identity, agent, operator, wallet)
    args = offer_args(model, prompt=7)
    offers.setOffer(agent, *args, sender=wallet.address)
    assert events(offers, "OfferSet")[0].sender == wallet.address
    assert offers.getOffer(agent) == as_returned(agent, args)
    offers.removeOffer(agent, sender=wallet.address)
    assert offers.activeCount() == 0


def test_set_offer__stranger__reverts(offers, operator, stranger, agent, model):
    with boa.reverts(NOT_ALLOWED):
        offers.setOffer(agent, *offer_args(model), sender=stranger)
    offers.setOffer(agent, *offer_args(model), sender=operator)
    with boa.reverts(NOT_ALLOWED):
        offers.removeOffer(agent, sender=stranger)
    assert offers.activeCount() == 1


def test_set_offer__approved_account_or_operator__reverts(offers, identity, operator, stranger, asker, agent, model):
    """Managing the agent (ERC-721 approval) is not enough: its owner or wallet sets the price it is paid."""
    identity.approve(stranger, agent, sender=operator)
    identity.setApprovalForAll(asker, True, sender=operator)
    for who in (stranger, asker):
        with boa.reverts(NOT_ALLOWED):
            offers.setOffer(agent, *offer_args(model), sender=who)


def test_set_offer__another_agents_owner__reverts(offers, identity, operator, stranger, agent, model):
    identity.register("ipfs://other", sender=stranger)
    with boa.reverts(NOT_ALLOWED):
        offers.setOffer(agent, *offer_args(model), sender=stranger)


def test_transfer__old_owner_and_old_wallet_lose_the_offer(offers, identity, operator, stranger, agent, model, wallet):
    set_wallet(identity, agent, operator, wallet)
    offers.setOffer(agent, *offer_args(model), sender=operator)
    identity.transferFrom(operator, stranger, agent, sender=operator)
    for old in (operator, wallet.address):
        with boa.reverts(NOT_ALLOWED):
            offers.setOffer(agent, *offer_args(model, prompt=1), sender=old)
        with boa.reverts(NOT_ALLOWED):
            offers.removeOffer(agent, sender=old)
    args = offer_args(model, prompt=1)
    offers.setOffer(agent, *args, sender=stranger)
    assert offers.getOffer(agent) == as_returned(agent, args)
    offers.removeOffer(agent, sender=stranger)
    assert offers.getOffer(agent)[-1] is False


# ------------------------------------------------------------ bad input --


@pytest.mark.parametrize("which", [0, 2, 2**256 - 1])
def test_set_offer__unknown_agent__reverts(offers, operator, agent, model, which):
    with boa.reverts("offers: unknown agent"):
        offers.setOffer(which, *offer_args(model), sender=operator)
    with boa.reverts("offers: unknown agent"):
        offers.removeOffer(which, sender=operator)


def test_set_offer__unknown_model__reverts(offers, operator, agent, model):
    for unknown in (0, model + 1, 2**256 - 1):
        with boa.reverts("offers: unknown model"):
            offers.setOffer(agent, *offer_args(unknown), sender=operator)


@pytest.mark.parametrize("kind", [WORK, 1, 3, 4, 5])
def test_set_offer__asset_is_not_a_model__reverts(offers, operator, agent, make_asset, kind):
    asset = make_asset(kind=kind)
    with boa.reverts("offers: asset is not a model"):
        offers.setOffer(agent, *offer_args(asset), sender=operator)


@pytest.mark.parametrize("prices", [(MAX_PRICE + 1, 1), (1, MAX_PRICE + 1), (2**256 - 1, 2**256 - 1)])
def test_set_offer__price_too_large__reverts(offers, operator, agent, model, prices):
    with boa.reverts("offers: price too large"):
        offers.setOffer(agent, *offer_args(model, prompt=prices[0], completion=prices[1]), sender=operator)


def test_set_offer__free__reverts(offers, operator, agent, model):
    with boa.reverts("offers: free offer"):
        offers.setOffer(agent, *offer_args(model, prompt=0, completion=0), sender=operator)
    for prompt, completion in ((1, 0), (0, 1)):
        offers.setOffer(agent, *offer_args(model, prompt=prompt, completion=completion), sender=operator)


def test_set_offer__empty_endpoint__reverts(offers, operator, agent, model):
    with boa.reverts("offers: empty endpoint"):
        offers.setOffer(agent, *offer_args(model, endpoint=""), sender=operator)


def test_set_offer__endpoint_too_long__reverts(offers, operator, agent, model):
    with boa.reverts():  # ABI-level: String[MAX_ENDPOINT]
        offers.setOffer(agent, *offer_args(model, endpoint="h" * 257), sender=operator)
    assert offers.activeCount() == 0


def test_set_offer__zero_latency__reverts(offers, operator, agent, model):
    with boa.reverts("offers: zero latency"):
        offers.setOffer(agent, *offer_args(model, latency=0), sender=operator)


@pytest.mark.parametrize("consent", [16, 17, 128, 255])
def test_set_offer__unknown_consent_flags__revert(offers, operator, agent, model, consent):
    with boa.reverts("offers: unknown consent flags"):
        offers.setOffer(agent, *offer_args(model, consent=consent), sender=operator)


def test_checks__in_order(offers, operator, stranger, agent, make_asset):
    """Every argument bad at once: the first rule of `SPEC.md`'s order wins, then the next."""
    work = make_asset(kind=WORK)
    worst = dict(prompt=0, completion=0, endpoint="", latency=0, consent=16)
    steps = [
        (agent + 1, operator, offer_args(work + 9, **worst), "offers: unknown agent"),
        (agent, stranger, offer_args(work + 9, **worst), NOT_ALLOWED),
        (agent, operator, offer_args(work + 9, **worst), "offers: unknown model"),
        (agent, operator, offer_args(work, **worst), "offers: asset is not a model"),
    ]
    for agent_id, sender, args, reason in steps:
        with boa.reverts(reason):
            offers.setOffer(agent_id, *args, sender=sender)
    model = make_asset(kind=MODEL)
    bad = {"prompt": MAX_PRICE + 1, "completion": 0, "endpoint": "", "latency": 0, "consent": 16}
    fixes = [
        ("offers: price too large", {"prompt": 0}),
        ("offers: free offer", {"completion": 1}),
        ("offers: empty endpoint", {"endpoint": ENDPOINT}),
        ("offers: zero latency", {"latency": LATENCY}),
        ("offers: unknown consent flags", {"consent": RETRIEVAL}),
    ]
    for reason, fix in fixes:
        with boa.reverts(reason):
            offers.setOffer(agent, *offer_args(model, **bad), sender=operator)
        bad |= fix
    offers.setOffer(agent, *offer_args(model, **bad), sender=operator)
    assert offers.activeCount() == 1


# ---------------------------------------------------------- removeOffer --


def test_remove_offer(offers, operator, agent, model):
    offers.setOffer(agent, *offer_args(model), sender=operator)
    offers.removeOffer(agent, sender=operator)
    assert [(e.agentId, e.sender) for e in events(offers, "OfferRemoved")] == [(agent, operator)]
    assert offers.getOffer(agent) == (0, 0, 0, 0, "", 0, 0, False)
    assert (offers.activeCount(), offers.activeOffers(0, 64)) == (0, [])
    with boa.reverts("offers: no offer"):
        offers.removeOffer(agent, sender=operator)


def test_remove_offer__the_last_takes_its_place(offers, identity, operator, model):
    agents = [identity.register("", sender=operator) for _ in range(3)]
    for n, agent in enumerate(agents):
        offers.setOffer(agent, *offer_args(model, prompt=n + 1), sender=operator)
    offers.removeOffer(agents[0], sender=operator)
    assert [o[0] for o in offers.activeOffers(0, 64)] == [agents[2], agents[1]]
    offers.setOffer(agents[0], *offer_args(model), sender=operator)
    offers.removeOffer(agents[0], sender=operator)  # the last one: nothing moves
    assert [o[0] for o in offers.activeOffers(0, 64)] == [agents[2], agents[1]]


# ---------------------------------------------------------- enumeration --


def test_active_offers__pages(offers, identity, operator, model):
    agents = [identity.register("", sender=operator) for _ in range(5)]
    for agent in agents:
        offers.setOffer(agent, *offer_args(model), sender=operator)
    assert [o[0] for o in offers.activeOffers(0, 2)] == agents[:2]
    assert [o[0] for o in offers.activeOffers(2, 2)] == agents[2:4]
    assert [o[0] for o in offers.activeOffers(4, 2)] == agents[4:]
    assert offers.activeOffers(5, 2) == offers.activeOffers(2**256 - 1, 64) == offers.activeOffers(0, 0) == []
    with boa.reverts("offers: page too large"):
        offers.activeOffers(0, 65)


ACTIONS = st.lists(
    st.tuples(st.sampled_from(["set", "remove"]), st.integers(0, 5), st.integers(1, 3)), min_size=1, max_size=30
)


@FUZZ
@given(actions=ACTIONS)
def test_enumeration__matches_the_model(offers, identity, operator, model, actions):
    """Random sets and removals (a failing removal changes nothing): the
    pages list exactly the model's offers, each once, as `getOffer` gives
    them, and `activeCount` is their number."""
    with fresh_state():
        agents = [identity.register("", sender=operator) for _ in range(6)]
        book: dict[int, tuple] = {}
        for action, which, price in actions:
            agent = agents[which]
            if action == "set":
                args = offer_args(model, prompt=price, endpoint=f"https://n{which}.example/{price}")
                offers.setOffer(agent, *args, sender=operator)
                book[agent] = as_returned(agent, args)
            elif agent in book:
                offers.removeOffer(agent, sender=operator)
                del book[agent]
            else:
                with boa.reverts("offers: no offer"):
                    offers.removeOffer(agent, sender=operator)
            assert offers.activeCount() == len(book)
            listed = offers.activeOffers(0, 2) + offers.activeOffers(2, 2) + offers.activeOffers(4, 64)
            assert sorted(listed) == sorted(book.values())
            for agent in agents:
                assert offers.getOffer(agent) == book.get(agent, (0, 0, 0, 0, "", 0, 0, False))
