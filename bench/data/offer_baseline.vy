# pragma version ~=0.4.3
"""
@title Baseline of `bench/gas.py`: an offer stored one field per slot
@license GNU Affero General Public License v3.0 only
@notice `OfferRegistry.setOffer`'s arguments kept as a plain struct, one
        storage slot per field, with no checks and no list of active
        offers: what the offer registry's packing and enumeration are
        measured against.
"""


struct Offer:
    model: uint256
    pricePromptPerMillion: uint256
    priceCompletionPerMillion: uint256
    endpoint: String[256]
    p95LatencyMs: uint32
    consent: uint8
    active: bool


offers: public(HashMap[uint256, Offer])


@external
def setOffer(
    agentId: uint256,
    model: uint256,
    pricePromptPerMillion: uint256,
    priceCompletionPerMillion: uint256,
    endpoint: String[256],
    p95LatencyMs: uint32,
    consent: uint8,
):
    """
    @dev Stores the offer, field by field.
    """
    self.offers[agentId] = Offer(
        model=model,
        pricePromptPerMillion=pricePromptPerMillion,
        priceCompletionPerMillion=priceCompletionPerMillion,
        endpoint=endpoint,
        p95LatencyMs=p95LatencyMs,
        consent=consent,
        active=True,
    )
