# pragma version ~=0.4.3
# pragma nonreentrancy off
"""
@title tantieme Data Anchoring Token metadata
@custom:contract-name dat_metadata
@license GNU Affero General Public License v3.0 only
@notice Renders a Data Anchoring Token's ERC-721 metadata JSON, the
        ledger's `tokenURI`, from the ledger's public views, so wallets,
        marketplaces and indexers read it without our servers:
        `data:application/json;base64,` and
        {"name", "description", "record_digest" (the record's EIP-712
        digest, the token id), "model" (its IP asset id), "fee" (token
        wei), "batch", "batch_root", "payer", "operator", "settled_at"
        (unix seconds)}; ids and amounts are decimal strings, as
        JavaScript holds numbers exactly only up to 2**53.
        A separate contract to keep the ledger under EIP-170's code size
        limit; stateless, it serves any ledger that asks
        (`tokenURI(ledger, token_id)`).
"""


# @dev JSON, hex and base64 helpers.
from . import metadata_json


# @dev A claimed record's DAT attributes, as the ledger's `datInfo` returns them.
struct DatInfo:
    class_id: uint256
    value: uint256
    batch_id: uint256


# @dev A settled batch, as the ledger's `batches` returns it.
struct Anchor:
    root: bytes32
    payer: address
    operator: address
    count: uint256
    total: uint256
    timestamp: uint64


# @dev The ledger views the metadata is made of.
interface InteractionLedger:
    def datInfo(token_id: uint256) -> DatInfo: view
    def batches(batch_id: uint256) -> Anchor: view


@deploy
def __init__():
    """
    @dev Stateless: nothing to set up.
    """
    pass


@external
@view
def tokenURI(ledger: address, token_id: uint256) -> String[metadata_json.MAX_DATA_URI]:
    """
    @dev The metadata of `ledger`'s DAT `token_id` as a data URI.
    @param ledger The interaction ledger.
    @param token_id The DAT's id: its record's EIP-712 digest.
    @return String The data URI.
    """
    info: DatInfo = staticcall InteractionLedger(ledger).datInfo(token_id)
    assert info.batch_id != 0, "dat_metadata: unknown DAT"
    anchor: Anchor = staticcall InteractionLedger(ledger).batches(info.batch_id)
    digest: String[66] = metadata_json._hex32(convert(token_id, bytes32))
    return metadata_json._data_uri(
        concat(
            '{"name":"tantieme DAT ',
            slice(digest, 0, 18),
            '","description":"A Data Anchoring Token: the payer-signed record of one AI answer, settled and paid '
            "for on tantieme. Its id is the record's EIP-712 digest; the record is in the batch's Merkle tree.",
            '","record_digest":"',
            digest,
            '","model":"',
            uint2str(info.class_id),
            '","fee":"',
            uint2str(info.value),
            '","batch":"',
            uint2str(info.batch_id),
            '","batch_root":"',
            metadata_json._hex32(anchor.root),
            '","payer":"',
            metadata_json._address(anchor.payer),
            '","operator":"',
            metadata_json._address(anchor.operator),
            '","settled_at":"',
            uint2str(anchor.timestamp),
            '"}',
        )
    )
