# pragma version ~=0.4.3
# pragma nonreentrancy off
"""
@title Minimal ERC-721 core
@custom:contract-name erc721_core
@license GNU Affero General Public License v3.0 only
@notice The part of a non-enumerable ERC-721 that does not depend on where
        owners are stored, shared by the IP asset registry and the agent
        identity registry:
        - balances (`balanceOf`), operators (`setApprovalForAll`,
          `isApprovedForAll`) and single-token approvals (`_approve`,
          `_token_approvals`),
        - `_mint` (the balance and `Transfer`) and `_move`, the checks and
          effects of a transfer besides the owner's storage,
        - `_check_received`, the `onERC721Received` check of a safe
          transfer or mint.
        Owners are not stored here: each contract keeps its own (the IP
        asset registry packs an asset's owner with its other fields in one
        slot) and passes the owner it read. Nothing is enumerable and no
        token URI is stored, so a mint writes the owner and the balance
        only; snekmate's `erc721` also writes four enumeration slots.
        Reasons are snekmate's `erc721`'s.
@custom:security `_check_received` calls the receiver: call it after every
                 effect.
"""


# @dev The ERC-721 events.
from ethereum.ercs import IERC721


# @dev The callback a contract receiver answers.
from snekmate.tokens.interfaces import IERC721Receiver


# @dev ERC-721 operator approvals per owner.
isApprovedForAll: public(HashMap[address, HashMap[address, bool]])


# @dev Tokens held per owner.
_balances: HashMap[address, uint256]


# @dev The account approved for each token (zero: none).
_token_approvals: HashMap[uint256, address]


@external
@view
def balanceOf(owner: address) -> uint256:
    """
    @dev Number of tokens `owner` holds.
    @param owner The account, not the zero address.
    @return uint256 The balance.
    """
    assert owner != empty(address), "erc721: the zero address is not a valid owner"
    return self._balances[owner]


@external
def setApprovalForAll(operator: address, approved: bool):
    """
    @dev Lets `operator` transfer and approve all of the caller's tokens.
    @param operator The operator, not the caller.
    @param approved True to approve, False to revoke.
    """
    assert operator != msg.sender, "erc721: approve to caller"
    self.isApprovedForAll[msg.sender][operator] = approved
    log IERC721.ApprovalForAll(owner=msg.sender, operator=operator, approved=approved)


@internal
def _approve(owner: address, to: address, token_id: uint256):
    """
    @dev Approves `to` for the token; the caller must be its owner or an
         operator of the owner.
    @param owner The token's owner.
    @param to The account approved (zero: none).
    @param token_id The token id.
    """
    assert to != owner, "erc721: approval to current owner"
    assert (
        msg.sender == owner or self.isApprovedForAll[owner][msg.sender]
    ), "erc721: approve caller is not token owner or approved for all"
    self._token_approvals[token_id] = to
    log IERC721.Approval(owner=owner, approved=to, token_id=token_id)


@internal
@view
def _is_authorized(spender: address, owner: address, token_id: uint256) -> bool:
    """
    @dev Whether `spender` may transfer the token: its owner, an operator
         of the owner or the account approved for it.
    @param spender The account.
    @param owner The token's owner.
    @param token_id The token id.
    @return bool True if it may.
    """
    return spender == owner or self.isApprovedForAll[owner][spender] or self._token_approvals[token_id] == spender


@internal
def _mint(to: address, token_id: uint256):
    """
    @dev Counts a new token to `to` and logs its `Transfer` from zero; the
         caller stores the owner.
    @param to The owner, not the zero address.
    @param token_id The new token id.
    """
    # Cannot overflow: there are fewer than 2**53 tokens.
    self._balances[to] = unsafe_add(self._balances[to], 1)
    log IERC721.Transfer(sender=empty(address), receiver=to, token_id=token_id)


@internal
def _move(owner: address, current: address, to: address, token_id: uint256):
    """
    @dev A transfer's checks and effects besides the owner's storage: the
         caller must be authorized; clears the approval, moves the balance
         and logs `Transfer`. The caller stores the new owner.
    @param owner The owner the transfer names.
    @param current The token's actual owner.
    @param to The receiver, not the zero address.
    @param token_id The token id.
    """
    assert current == owner, "erc721: transfer from incorrect owner"
    assert to != empty(address), "erc721: transfer to the zero address"
    # `_is_authorized` inline: it reads the approval once for both uses.
    approved: address = self._token_approvals[token_id]
    assert (
        msg.sender == owner or self.isApprovedForAll[owner][msg.sender] or approved == msg.sender
    ), "erc721: caller is not token owner or approved"
    if approved != empty(address):
        self._token_approvals[token_id] = empty(address)
    # Cannot underflow: `owner` holds `token_id`; cannot overflow: there
    # are fewer than 2**53 tokens.
    self._balances[owner] = unsafe_sub(self._balances[owner], 1)
    self._balances[to] = unsafe_add(self._balances[to], 1)
    log IERC721.Transfer(sender=owner, receiver=to, token_id=token_id)


@internal
def _check_received(owner: address, to: address, token_id: uint256, data: Bytes[1_024]):
    """
    @dev Reverts unless a contract `to` answers `onERC721Received` with
         its selector (its own revert comes back unchanged); an account
         without code is not called.
    @param owner The previous owner (zero for a mint).
    @param to The receiver.
    @param token_id The token id.
    @param data Data handed to the receiver.
    """
    if to.is_contract:
        answer: bytes4 = extcall IERC721Receiver(to).onERC721Received(msg.sender, owner, token_id, data)
        assert answer == method_id(
            "onERC721Received(address,address,uint256,bytes)", output_type=bytes4
        ), "erc721: transfer to non-IERC721Receiver implementer"
