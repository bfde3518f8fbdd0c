# pragma version ~=0.4.3
"""
@title A payer contract that claims refunds and refuses them
@notice An ERC-1271 wallet of one key, so it pays over x402 as an agent
        treasury does, that answers ERC-165 for `refundPayment` (the
        treasury's refund interface) but does not take the refund:
        - `REVERTS`: `refundPayment` reverts with a reason,
        - `BURNS`: `refundPayment` burns all the gas it is given,
        - `BURNS_ERC165`: `supportsInterface` burns all the gas it is given.
"""


# @dev What the contract does wrong.
REVERTS: constant(uint256) = 1
BURNS: constant(uint256) = 2
BURNS_ERC165: constant(uint256) = 3


# @dev The treasury's refund function, whose selector is its ERC-165 id.
_REFUND_ID: constant(bytes4) = method_id(
    "refundPayment(address,uint256,uint256,uint256,bytes32,uint256,uint256,bytes32,uint8,bytes32,bytes32)",
    output_type=bytes4,
)


# @dev The key whose signatures the wallet accepts.
owner: public(address)


# @dev One of the modes above.
mode: public(uint256)


# @dev Written in a loop until the gas runs out (`BURNS`).
burnt: public(uint256)


@deploy
def __init__(owner_: address, mode_: uint256):
    self.owner = owner_
    self.mode = mode_


@external
@view
def isValidSignature(digest: bytes32, signature: Bytes[65]) -> bytes4:
    v: uint256 = convert(slice(signature, 64, 1), uint256)
    if ecrecover(digest, v, extract32(signature, 0), extract32(signature, 32)) == self.owner:
        return 0x1626BA7E
    return 0xFFFFFFFF


@external
@view
def supportsInterface(interface_id: bytes4) -> bool:
    if self.mode == BURNS_ERC165:
        h: bytes32 = keccak256(b"")
        for i: uint256 in range(1_000_000_000):
            h = keccak256(h)
        return h == empty(bytes32)
    return interface_id == 0x01FFC9A7 or interface_id == _REFUND_ID


@external
def refundPayment(
    to: address,
    amount: uint256,
    valid_after: uint256,
    valid_before: uint256,
    nonce: bytes32,
    refund: uint256,
    refund_valid_before: uint256,
    refund_nonce: bytes32,
    v: uint8,
    r: bytes32,
    s: bytes32,
):
    assert self.mode != REVERTS, "payer: no refunds here"
    for i: uint256 in range(1_000_000_000):
        self.burnt += 1
