"""The offer registry on chain: the market's active offers, this node's own, and the
paid reputation the router weighs them by.

    offers = list_offers(node)                          # every active offer, read at one block
    done = offer_node_model(node, latency_ms=2_500)     # this node's agent offers its model
    scores = reputations(node, [o.agent_id for o in offers])

An agent has one offer (`offer_registry.vy`); only its owner or its wallet sets it.
Every call is simulated before it is sent, so a refusal costs no gas and says why.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from tantieme.errors import ChainError, ConfigError, InputError
from tantieme.market.routing import CONSENT, ModelOffer, Reputation
from tantieme.payments.client import CHAT_PATH

if TYPE_CHECKING:
    from web3.contract import Contract
    from web3.contract.contract import ContractFunction

    from tantieme.node import Node

__all__ = [
    "MAX_ENDPOINT",
    "POSITIVE_AT",
    "OfferChange",
    "get_offer",
    "keep_offer_current",
    "list_offers",
    "offer_node_model",
    "offer_registry",
    "remove_offer",
    "reputations",
    "set_offer",
]

# `offer_registry.vy`'s bounds.
MAX_ENDPOINT = 256
MAX_LATENCY_MS = 2**32 - 1
_PAGE = 64
# A feedback counts as positive from 50 on ERC-8004's 0-100 scale ("starred", or no tag).
POSITIVE_AT = 50
_RATING_TAGS = ("", "starred")
_SET_GAS = 400_000
_REMOVE_GAS = 200_000


@dataclass(frozen=True)
class OfferChange:
    """An offer set or removed on chain (`tx` None: it was current already)."""

    offer: ModelOffer | None
    tx: str | None
    gas: int


def offer_registry(node: Node) -> Contract:
    """The node's chain's offer registry; a clear error where it is not deployed yet."""
    from tantieme.chain.deploy import deployed_contract

    return deployed_contract(node.conn, node.deployment, "offers", "offer_registry", "offer registry")


def list_offers(node: Node) -> list[ModelOffer]:
    """Every active offer, read page by page at one block (a removal reorders the list)."""
    fns = offer_registry(node).functions
    block = node.conn.w3.eth.block_number
    count = fns.activeCount().call(block_identifier=block)
    rows = []
    for start in range(0, count, _PAGE):
        rows += fns.activeOffers(start, _PAGE).call(block_identifier=block)
    return [_offer(row) for row in rows]


def get_offer(node: Node, agent_id: int) -> ModelOffer | None:
    """The agent's offer, None if it has none."""
    row = offer_registry(node).functions.getOffer(agent_id).call()
    return _offer(row) if row[-1] else None


def set_offer(node: Node, offer: ModelOffer) -> OfferChange:
    """Set `offer` for its agent, as this node's account (the agent's owner or wallet)."""
    # What the ABI cannot carry is refused here; the registry checks the rest.
    _check_endpoint(offer.endpoint)
    if not 0 <= offer.p95_latency_ms <= MAX_LATENCY_MS:
        raise InputError(f"the advertised p95 latency must be from 1 to {MAX_LATENCY_MS:,} ms, got {offer.p95_latency_ms}")
    if not 0 <= offer.consent <= 255:
        raise InputError(f"consent must be a set of {', '.join(CONSENT)}, got bits {offer.consent}")
    named = _named_model(node, offer.agent_id)
    if named not in (None, offer.model):
        raise InputError(
            f"agent #{offer.agent_id} names model #{named} in its metadata, so feedback counts only for that model's "
            f"answers: offer model #{named}, or change the agent's `model` metadata"
        )
    fn = offer_registry(node).functions.setOffer(
        offer.agent_id, offer.model, offer.price_prompt_per_million, offer.price_completion_per_million,
        offer.endpoint, offer.p95_latency_ms, offer.consent,
    )
    receipt = _send(node, fn, _SET_GAS, offer.agent_id, offer.model)
    return OfferChange(offer, receipt["transactionHash"].to_0x_hex(), receipt["gasUsed"])


def remove_offer(node: Node, agent_id: int) -> OfferChange:
    """Withdraw the agent's offer, as this node's account (the agent's owner or wallet)."""
    receipt = _send(node, offer_registry(node).functions.removeOffer(agent_id), _REMOVE_GAS, agent_id)
    return OfferChange(None, receipt["transactionHash"].to_0x_hex(), receipt["gasUsed"])


def offer_node_model(
    node: Node, *, latency_ms: int, model_id: int | None = None, url: str | None = None,
) -> OfferChange:
    """Offer this node's model (its default unless `model_id`) at its prices in `models.json`,
    as its agent (`tantieme agent register`), answering at `url` (default: the agent's URL)
    + `/v1/chat/completions`. Its consent is retrieval: the node reads only works that
    consent to it. Sends nothing when the chain has this offer already."""
    from tantieme.agents.identity import load_profile
    from tantieme.interaction import Models

    profile = load_profile(node)
    if profile is None or profile.agent_id is None:
        raise ConfigError("this node is not an agent on this chain yet: run `tantieme agent register --url URL` first")
    base = url or profile.url
    if not base:
        raise InputError(
            "the node has no public URL to offer: give --url (the address `tantieme serve` answers at), "
            "or register the agent with --url"
        )
    entry = Models.load().get(model_id)
    offer = ModelOffer(
        agent_id=profile.agent_id,
        model=entry.asset_id,
        price_prompt_per_million=entry.price_prompt_per_million,
        price_completion_per_million=entry.price_completion_per_million,
        endpoint=base.rstrip("/") + CHAT_PATH,
        p95_latency_ms=latency_ms,
        consent=CONSENT["retrieval"],
    )
    if get_offer(node, offer.agent_id) == offer:
        return OfferChange(offer, None, 0)
    return set_offer(node, offer)


def keep_offer_current(node: Node) -> OfferChange | None:
    """Bring this node's offer in line with what it serves: its model's prices in `models.json`
    and its agent's URL (`offer_node_model`, keeping the offered model and advertised latency).
    None when the node has no agent or no offer here; nothing is sent when the offer is current."""
    from tantieme.agents.identity import load_profile

    profile = load_profile(node)
    if profile is None or profile.agent_id is None:
        return None
    current = get_offer(node, profile.agent_id)
    if current is None:
        return None
    return offer_node_model(
        node, latency_ms=current.p95_latency_ms, model_id=current.model,
        url=profile.url or current.endpoint.removesuffix(CHAT_PATH),
    )


def reputations(node: Node, agent_ids: Iterable[int]) -> dict[int, Reputation]:
    """Each agent's paid feedback from the reputation registry (every feedback there spent a
    paid, settled record): unrevoked ratings (tag1 empty or "starred", ERC-8004's 0-100
    scale), positive from `POSITIVE_AT`."""
    from tantieme.chain.deploy import contract

    if node.deployment.reputation is None:
        return {}
    fns = contract(node.conn, "agent_reputation", node.deployment.reputation).functions
    found = {}
    for agent_id in agent_ids:
        ratings = [
            (value, decimals) for value, decimals, tag1 in _feedback(fns, agent_id, fns.getClients(agent_id).call())
            if tag1 in _RATING_TAGS
        ]
        positive = sum(1 for value, decimals in ratings if value >= POSITIVE_AT * 10**decimals)
        found[agent_id] = Reputation(positive, len(ratings))
    return found


def _feedback(fns: Any, agent_id: int, clients: list[str]) -> list[tuple[int, int, str]]:
    """(value, decimals, tag1) of the clients' unrevoked feedback: in one read while it fits
    the registry's bound of rows, else halving the clients, else index by index."""
    from web3.exceptions import ContractLogicError

    if not clients:
        return []
    try:
        _, _, values, decimals, tags, _, _ = fns.readAllFeedback(agent_id, clients, "", "", False).call()
        return list(zip(values, decimals, tags))
    except ContractLogicError:
        if len(clients) > 1:
            half = len(clients) // 2
            return _feedback(fns, agent_id, clients[:half]) + _feedback(fns, agent_id, clients[half:])
    (client,) = clients
    rows = (fns.readFeedback(agent_id, client, i).call() for i in range(1, fns.getLastIndex(agent_id, client).call() + 1))
    return [(value, decimals, tag1) for value, decimals, tag1, _, revoked in rows if not revoked]


def _named_model(node: Node, agent_id: int) -> int | None:
    """The model the agent names in its ERC-8004 metadata (`model`: an `abi.encode(uint256)`),
    if any: the reputation registry counts only that model's records for it."""
    from tantieme.agents.identity import identity_registry

    try:
        named = identity_registry(node).functions.getMetadata(agent_id, "model").call()
    except Exception:  # noqa: BLE001  (no such agent: the offer registry says so, in its words)
        return None
    if len(named) not in (0, 32):
        raise InputError(
            f"agent #{agent_id}'s `model` metadata is {len(named)} bytes, not a model id (32): the reputation "
            "registry would count no answer's feedback for it; set it to abi.encode(model id) or clear it"
        )
    return int.from_bytes(named, "big") if named else None


def _offer(row: tuple) -> ModelOffer:
    agent_id, model, prompt, completion, endpoint, latency, consent, _ = row
    return ModelOffer(agent_id, model, prompt, completion, endpoint, latency, consent)


def _check_endpoint(endpoint: str) -> None:
    parts = urlsplit(endpoint)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InputError(f"the endpoint {endpoint!r} is not an http(s) URL")
    if len(endpoint.encode()) > MAX_ENDPOINT:
        raise InputError(f"the endpoint is {len(endpoint.encode())} bytes long: the registry takes at most {MAX_ENDPOINT}")


def _send(node: Node, fn: ContractFunction, gas: int, agent_id: int, model: int | None = None) -> dict:
    """Simulate `fn` as this account, then send it; a refusal said for people, before any gas is spent."""
    from web3.exceptions import ContractLogicError

    from tantieme.chain.transact import revert_reason

    try:
        fn.call({"from": node.address})
    except ContractLogicError as exc:
        raise _refusal(revert_reason(exc), node, agent_id, model) from None
    return node.conn.transact(fn, gas=gas)


def _refusal(reason: str, node: Node, agent_id: int, model: int | None) -> Exception:
    """The offer registry's revert `reason`, said for people."""
    said = {
        "offers: unknown agent": (InputError, f"there is no agent #{agent_id} on chain {node.conn.chain_id}"),
        "offers: caller is not the agent's owner or wallet": (
            InputError, f"{node.address} is neither the owner nor the wallet of agent #{agent_id}: only they set "
            "its offer (TANTIEME_PRIVATE_KEY, or the agent owner's home)"),
        "offers: unknown model": (InputError, f"there is no asset #{model}: offer a registered model"),
        "offers: asset is not a model": (InputError, f"asset #{model} is not a model: offer an asset of kind model"),
        "offers: price too large": (InputError, "a price is above 2^128 - 1 token wei, the registry's bound"),
        "offers: free offer": (InputError, "both prices are zero: a free answer pays no creator; set a price"),
        "offers: zero latency": (InputError, "the advertised p95 latency is zero: give the time an answer takes, in ms"),
        "offers: unknown consent flags": (InputError, f"consent bits beyond {', '.join(CONSENT)} are not AI uses"),
        "offers: empty endpoint": (InputError, "the endpoint is empty: give the URL that answers"),
        "offers: no offer": (InputError, f"agent #{agent_id} has no offer to remove"),
    }
    kind, message = said.get(reason, (ChainError, f"the offer registry refused: {reason}"))
    return kind(message)
