# pragma version ~=0.4.3
# pragma nonreentrancy off
"""
@title tantieme Model Offer Registry
@custom:contract-name offer_registry
@license GNU Affero General Public License v3.0 only
@notice Model offers of ERC-8004 agents, one per agent: the model it
        serves (an IPAssetRegistry asset of kind MODEL), its prices per
        million prompt and completion tokens (token wei), the endpoint
        that answers, its advertised p95 latency (ms) and the consent it
        serves (the AI uses that every work it answers from grants, as
        bits in `aiConsent`'s order). Only the agent's owner or its
        `agentWallet`, read from the identity registry, sets or removes
        the agent's offer. The active offers are enumerable
        (`activeCount`, `activeOffers(start, count)`), so a client reads
        the market from state alone; `OfferSet` and `OfferRemoved` carry
        everything an indexer needs. Rules: `SPEC.md`.
@custom:security No token moves here and nothing is payable. The identity
                 and asset registries are fixed at deployment and only
                 read. An offer is what its agent claims: clients check
                 prices when they pay and consent in each answer's record.
"""


# @dev What the registry reads of agents (`agent_identity.vy`).
interface IAgentIdentity:
    def totalSupply() -> uint256: view
    def ownerOf(agentId: uint256) -> address: view
    def getAgentWallet(agentId: uint256) -> address: view


# @dev What the registry reads of IP assets (`ip_asset_registry.vy`).
interface IIPAssetRegistry:
    def exists(asset_id: uint256) -> bool: view
    def assetKind(asset_id: uint256) -> uint8: view


# @dev An agent's offer, as the views return it (`active` false: none).
struct Offer:
    agentId: uint256
    model: uint256
    pricePromptPerMillion: uint256
    priceCompletionPerMillion: uint256
    endpoint: String[MAX_ENDPOINT]
    p95LatencyMs: uint32
    consent: uint8
    active: bool


# @dev Longest endpoint URL.
MAX_ENDPOINT: public(constant(uint256)) = 256


# @dev Most offers one `activeOffers` call returns.
MAX_PAGE: public(constant(uint256)) = 64


# @dev Highest price per million tokens, in token wei (2^128 - 1: the
# token's supply cap is 2^128).
MAX_PRICE: public(constant(uint256)) = 2**128 - 1


# @dev Consent bits, in the order of the asset registry's `aiConsent`.
CONSENT_TRAINING: public(constant(uint8)) = 1
CONSENT_FINE_TUNING: public(constant(uint8)) = 2
CONSENT_RETRIEVAL: public(constant(uint8)) = 4
CONSENT_OUTPUT_COMMERCIAL: public(constant(uint8)) = 8
_CONSENT_ALL: constant(uint8) = 15


# @dev The asset registry's MODEL kind.
_MODEL: constant(uint8) = 2


# @dev Layout of an offer's first word: model id (bits 0-63: asset ids
# are below 2^53), p95 latency (64-95), consent (96-103), position in the
# active list from 1 (104-167; 0: no offer).
_LATENCY_SHIFT: constant(uint256) = 64
_CONSENT_SHIFT: constant(uint256) = 96
_POSITION_SHIFT: constant(uint256) = 104
_MASK_64: constant(uint256) = 2**64 - 1
_MASK_32: constant(uint256) = 2**32 - 1
_MASK_8: constant(uint256) = 2**8 - 1


# @dev Layout of an offer's second word: the prompt price (bits 0-127),
# the completion price (128-255).
_PRICE_SHIFT: constant(uint256) = 128


# @dev The ERC-8004 identity registry of the agents.
identityRegistry: public(immutable(IAgentIdentity))


# @dev The IP asset registry of the models.
assetRegistry: public(immutable(IIPAssetRegistry))


# STORAGE #


# @dev Each agent's offer: model, latency, consent and list position
# (layout above; zero: no offer).
_words: HashMap[uint256, uint256]


# @dev Each agent's prices per million prompt and completion tokens.
_prices: HashMap[uint256, uint256]


# @dev Each agent's endpoint.
_endpoints: HashMap[uint256, String[MAX_ENDPOINT]]


# @dev The agents with an offer, by position from 1.
_active: HashMap[uint256, uint256]


# @dev Number of agents with an offer.
activeCount: public(uint256)


# EVENTS #


# @dev An agent's offer was set (created or changed) by `sender`.
event OfferSet:
    agentId: indexed(uint256)
    model: indexed(uint256)
    sender: indexed(address)
    pricePromptPerMillion: uint256
    priceCompletionPerMillion: uint256
    endpoint: String[MAX_ENDPOINT]
    p95LatencyMs: uint32
    consent: uint8


# @dev An agent's offer was removed by `sender`.
event OfferRemoved:
    agentId: indexed(uint256)
    sender: indexed(address)


# @dev Logged once, at deployment, so that clients find the offer registry
# of an identity registry in the logs.
event OfferRegistryDeployed:
    identityRegistry: indexed(address)
    assetRegistry: indexed(address)


@deploy
def __init__(identity_registry: address, asset_registry: address):
    """
    @dev Wires the registry to the agents' and the assets' registries.
    @param identity_registry The ERC-8004 identity registry.
    @param asset_registry The IP asset registry.
    """
    assert identity_registry != empty(address), "offers: identity registry is the zero address"
    assert asset_registry != empty(address), "offers: asset registry is the zero address"
    identityRegistry = IAgentIdentity(identity_registry)
    assetRegistry = IIPAssetRegistry(asset_registry)
    log OfferRegistryDeployed(identityRegistry=identity_registry, assetRegistry=asset_registry)


# OFFERS #


@external
def setOffer(
    agentId: uint256,
    model: uint256,
    pricePromptPerMillion: uint256,
    priceCompletionPerMillion: uint256,
    endpoint: String[MAX_ENDPOINT],
    p95LatencyMs: uint32,
    consent: uint8,
):
    """
    @dev Creates or replaces the agent's offer. The agent's owner or its
         wallet.
    @param agentId The agent id.
    @param model The model served: an asset of kind MODEL.
    @param pricePromptPerMillion Price of a million prompt tokens, in token
           wei (at most `MAX_PRICE`).
    @param priceCompletionPerMillion Price of a million completion tokens,
           in token wei (at most `MAX_PRICE`; not both zero).
    @param endpoint The URL that answers (not empty).
    @param p95LatencyMs Advertised 95th-percentile latency of an answer,
           in milliseconds (not zero).
    @param consent The AI uses every work the agent answers from grants:
           `CONSENT_*` bits.
    """
    self._check_agent(agentId)
    assert staticcall assetRegistry.exists(model), "offers: unknown model"
    assert staticcall assetRegistry.assetKind(model) == _MODEL, "offers: asset is not a model"
    assert pricePromptPerMillion <= MAX_PRICE and priceCompletionPerMillion <= MAX_PRICE, "offers: price too large"
    assert pricePromptPerMillion != 0 or priceCompletionPerMillion != 0, "offers: free offer"
    assert len(endpoint) != 0, "offers: empty endpoint"
    assert p95LatencyMs != 0, "offers: zero latency"
    assert consent & _CONSENT_ALL == consent, "offers: unknown consent flags"

    position: uint256 = self._words[agentId] >> _POSITION_SHIFT
    if position == 0:
        position = self.activeCount + 1
        self.activeCount = position
        self._active[position] = agentId
    self._words[agentId] = (
        model
        | (convert(p95LatencyMs, uint256) << _LATENCY_SHIFT)
        | (convert(consent, uint256) << _CONSENT_SHIFT)
        | (position << _POSITION_SHIFT)
    )
    self._prices[agentId] = pricePromptPerMillion | (priceCompletionPerMillion << _PRICE_SHIFT)
    self._endpoints[agentId] = endpoint
    log OfferSet(
        agentId=agentId,
        model=model,
        sender=msg.sender,
        pricePromptPerMillion=pricePromptPerMillion,
        priceCompletionPerMillion=priceCompletionPerMillion,
        endpoint=endpoint,
        p95LatencyMs=p95LatencyMs,
        consent=consent,
    )


@external
def removeOffer(agentId: uint256):
    """
    @dev Removes the agent's offer; the last offer of the active list
         takes its position. The agent's owner or its wallet.
    @param agentId The agent id.
    """
    self._check_agent(agentId)
    position: uint256 = self._words[agentId] >> _POSITION_SHIFT
    assert position != 0, "offers: no offer"
    last: uint256 = self.activeCount
    if position != last:
        moved: uint256 = self._active[last]
        self._active[position] = moved
        word: uint256 = self._words[moved]
        # Positions are at most `activeCount` < 2^64: the shift keeps them.
        self._words[moved] = (word & (2**_POSITION_SHIFT - 1)) | (position << _POSITION_SHIFT)
    self._active[last] = 0
    # Cannot underflow: the agent holds a position, so `last >= 1`.
    self.activeCount = unsafe_sub(last, 1)
    self._words[agentId] = 0
    self._prices[agentId] = 0
    self._endpoints[agentId] = ""
    log OfferRemoved(agentId=agentId, sender=msg.sender)


# VIEWS #


@external
@view
def getOffer(agentId: uint256) -> Offer:
    """
    @dev The agent's offer.
    @param agentId The agent id.
    @return Offer The offer (`active` false and zero fields: none).
    """
    return self._offer(agentId)


@external
@view
def activeOffers(start: uint256, count: uint256) -> DynArray[Offer, MAX_PAGE]:
    """
    @dev A page of the active offers: positions `start` to
         `start + count - 1`, from 0, up to `activeCount`. Removing an
         offer moves the last one into its place, so read every page at
         one block.
    @param start The first position, from 0.
    @param count How many, at most `MAX_PAGE`.
    @return DynArray The offers (fewer at the end of the list).
    """
    assert count <= MAX_PAGE, "offers: page too large"
    page: DynArray[Offer, MAX_PAGE] = []
    total: uint256 = self.activeCount
    for i: uint256 in range(count, bound=MAX_PAGE):
        if start + i >= total:
            break
        page.append(self._offer(self._active[start + i + 1]))
    return page


# INTERNAL #


@internal
@view
def _check_agent(agent_id: uint256):
    """
    @dev Reverts unless the agent exists and the caller is its owner or
         its wallet.
    @param agent_id The agent id.
    """
    # Agents are numbered from 1 to `totalSupply` and never burnt.
    assert agent_id != 0 and agent_id <= staticcall identityRegistry.totalSupply(), "offers: unknown agent"
    assert (
        msg.sender == staticcall identityRegistry.ownerOf(agent_id)
        or msg.sender == staticcall identityRegistry.getAgentWallet(agent_id)
    ), "offers: caller is not the agent's owner or wallet"


@internal
@view
def _offer(agent_id: uint256) -> Offer:
    """
    @dev Unpacks the agent's offer.
    @param agent_id The agent id.
    @return Offer The offer (zero, inactive: none).
    """
    word: uint256 = self._words[agent_id]
    if word == 0:
        return empty(Offer)
    prices: uint256 = self._prices[agent_id]
    return Offer(
        agentId=agent_id,
        model=word & _MASK_64,
        pricePromptPerMillion=prices & MAX_PRICE,
        priceCompletionPerMillion=prices >> _PRICE_SHIFT,
        endpoint=self._endpoints[agent_id],
        p95LatencyMs=convert((word >> _LATENCY_SHIFT) & _MASK_32, uint32),
        consent=convert((word >> _CONSENT_SHIFT) & _MASK_8, uint8),
        active=True,
    )
