# pragma version ~=0.4.3
"""
@title ERC-1271 test wallet
@notice A contract wallet for the tests. A signature is valid when it is
        one 65-byte secp256k1 signature (`r ‖ s ‖ v`) per owner, in order:
        65 bytes for one owner, 130 for two (a 2-of-2 multisig). `refuse`
        makes it reject everything, as a wallet may change its mind.
"""

from snekmate.utils import ecdsa


# @dev The keys that must all sign, in order.
owners: public(DynArray[address, 4])


# @dev When set, no signature is valid.
refuse: public(bool)


@deploy
def __init__(owners_: DynArray[address, 4]):
    self.owners = owners_


@external
def set_refuse(refuse_: bool):
    self.refuse = refuse_


@external
@view
def isValidSignature(digest: bytes32, signature: Bytes[1024]) -> bytes4:
    if self.refuse or len(signature) != 65 * len(self.owners):
        return 0xFFFFFFFF
    for i: uint256 in range(len(self.owners), bound=4):
        if ecdsa._recover_sig(digest, slice(signature, 65 * i, 65)) != self.owners[i]:
            return 0xFFFFFFFF
    return 0x1626BA7E
