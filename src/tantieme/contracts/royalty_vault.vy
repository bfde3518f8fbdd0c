# pragma version ~=0.4.3
# pragma nonreentrancy off
"""
@title tantieme Royalty Vault
@custom:contract-name royalty_vault
@license GNU Affero General Public License v3.0 only
@notice The ERC-2981 royalty receiver of one IP asset. The registry names
        each asset's vault in `royaltyInfo` from registration on: an
        EIP-1167 minimal proxy of this contract at a CREATE2 address of
        the registry (salt: the asset id), deployed on first use. Its only
        act, at deployment, is to approve the router for every AI token
        it will ever hold, so that anyone can call the router's
        `sweep(asset)` and turn what marketplaces sent by plain transfer
        into the asset's royalties, through the router's normal credit.
        It has no other function and accepts no ether.
@custom:security `initialize` runs once per proxy, in the registry's
                 deployment transaction; on the implementation itself it
                 approves a spender over a balance that is always empty.
"""


# @dev The AI token the vault approves.
from ethereum.ercs import IERC20


# @dev Whether this proxy approved the router already.
_initialized: bool


@deploy
def __init__():
    """
    @dev The implementation holds nothing; proxies are set up by
         `initialize`.
    """
    pass


@external
def initialize(token: address, router: address):
    """
    @dev Approves `router` for every `token` this vault will hold; once.
    @param token The AI token.
    @param router The royalty router that sweeps the vault.
    """
    assert not self._initialized, "vault: already initialized"
    self._initialized = True
    assert extcall IERC20(token).approve(router, max_value(uint256), default_return_value=True), "vault: approve failed"
