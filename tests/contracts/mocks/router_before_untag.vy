# pragma version ~=0.4.3
"""
@title A royalty router from before `untag`
@notice For the tests: the dispute hook as older homes' routers have it
        (`disputeModule`, `setDisputeModule`, `redirect`), without
        `isTagged` and `untag`; a dispute module built for it could never
        clear a tag.
"""


# @dev The registry the router pays for.
registry: public(address)


# @dev The dispute module allowed to redirect.
disputeModule: public(address)


@deploy
def __init__(registry_: address):
    self.registry = registry_


@external
def setDisputeModule(module: address):
    """
    @dev Wires the dispute module (anyone, in this mock).
    @param module The module.
    """
    self.disputeModule = module


@external
def redirect(asset_id: uint256, to: address) -> uint256:
    """
    @dev The hook, moving nothing here.
    @param asset_id The tagged asset.
    @param to The rightful party.
    @return uint256 Zero.
    """
    assert msg.sender == self.disputeModule, "router: caller is not the dispute module"
    return 0
