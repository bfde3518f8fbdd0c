# pragma version ~=0.4.3
# pragma nonreentrancy off
"""
@title tantieme IP Asset metadata
@custom:contract-name asset_metadata
@license GNU Affero General Public License v3.0 only
@notice Renders an IP asset's ERC-721 metadata JSON, the registry's
        `tokenURI`, from the registry's public views, so wallets,
        marketplaces and indexers read it without our servers:
        `data:application/json;base64,` and
        {"name", "description", "external_url" (the creator's metadata
        URI), "kind", "content_hash", "parents", "ancestor_count",
        "ai_consent" (effective: the asset's and every ancestor's current
        consent), "terms" (as the asset offers them, its own AI flags
        included; amounts as decimal strings), "royalty_vault"}.
        A separate contract because the registry would pass EIP-170's
        24,576-byte code limit with the renderer inside; it is stateless
        and serves any registry that asks (`tokenURI(registry, id)`).
"""


# @dev JSON, hex and base64 helpers.
from . import metadata_json


# @dev The licence terms as the registry returns them.
struct LicenseTerms:
    commercial_use: bool
    attribution: bool
    derivatives_allowed: bool
    derivatives_approval: bool
    derivatives_reciprocal: bool
    royalty_bps: uint16
    minting_fee: uint256
    expiration: uint64
    currency: address
    uri: String[256]
    ai_training: bool
    ai_fine_tuning: bool
    ai_retrieval: bool
    ai_output_commercial: bool


# @dev The registry views the metadata is made of.
interface IPAssetRegistry:
    def assetKind(asset_id: uint256) -> uint8: view
    def contentHash(asset_id: uint256) -> bytes32: view
    def metadataURI(asset_id: uint256) -> String[256]: view
    def parentsOf(asset_id: uint256) -> DynArray[uint256, 16]: view
    def ancestorCount(asset_id: uint256) -> uint256: view
    def licenseTerms(asset_id: uint256) -> LicenseTerms: view
    def aiConsent(asset_id: uint256) -> (bool, bool, bool, bool): view
    def royaltyVault(asset_id: uint256) -> address: view


@deploy
def __init__():
    """
    @dev Stateless: nothing to set up.
    """
    pass


@external
@view
def tokenURI(registry: address, asset_id: uint256) -> String[metadata_json.MAX_DATA_URI]:
    """
    @dev The metadata of `registry`'s asset `asset_id` as a data URI.
    @param registry The IP asset registry.
    @param asset_id The asset id (the registry reverts for an unknown one).
    @return String The data URI.
    """
    assets: IPAssetRegistry = IPAssetRegistry(registry)
    kind: String[7] = self._kind_name(staticcall assets.assetKind(asset_id))
    return metadata_json._data_uri(
        concat(
            '{"name":"tantieme IP Asset #',
            uint2str(asset_id),
            '","description":"A ',
            kind,
            " registered on tantieme. AI may use it only as its effective consent allows; "
            'its revenue flows to its owner and its sources.","external_url":"',
            metadata_json._escape(staticcall assets.metadataURI(asset_id)),
            '","kind":"',
            kind,
            '","content_hash":"',
            metadata_json._hex32(staticcall assets.contentHash(asset_id)),
            '","parents":',
            metadata_json._uint_list(staticcall assets.parentsOf(asset_id)),
            ',"ancestor_count":',
            uint2str(staticcall assets.ancestorCount(asset_id)),
            ',"ai_consent":',
            self._consent(assets, asset_id),
            ',"terms":',
            self._terms(staticcall assets.licenseTerms(asset_id)),
            ',"royalty_vault":"',
            metadata_json._address(staticcall assets.royaltyVault(asset_id)),
            '"}',
        )
    )


@internal
@view
def _consent(assets: IPAssetRegistry, asset_id: uint256) -> String[100]:
    """
    @dev The effective AI consent as a JSON object.
    @param assets The registry.
    @param asset_id The asset id.
    @return String The object.
    """
    training: bool = False
    fine_tuning: bool = False
    retrieval: bool = False
    output_commercial: bool = False
    training, fine_tuning, retrieval, output_commercial = staticcall assets.aiConsent(asset_id)
    return concat(
        '{"training":',
        metadata_json._bool(training),
        ',"fine_tuning":',
        metadata_json._bool(fine_tuning),
        ',"retrieval":',
        metadata_json._bool(retrieval),
        ',"output_commercial":',
        metadata_json._bool(output_commercial),
        "}",
    )


@internal
@pure
def _terms(terms: LicenseTerms) -> String[2_000]:
    """
    @dev Licence terms as a JSON object with the struct's field names;
         the minting fee (token wei) is a decimal string.
    @param terms The terms.
    @return String The object.
    """
    return concat(
        '{"commercial_use":',
        metadata_json._bool(terms.commercial_use),
        ',"attribution":',
        metadata_json._bool(terms.attribution),
        ',"derivatives_allowed":',
        metadata_json._bool(terms.derivatives_allowed),
        ',"derivatives_approval":',
        metadata_json._bool(terms.derivatives_approval),
        ',"derivatives_reciprocal":',
        metadata_json._bool(terms.derivatives_reciprocal),
        ',"royalty_bps":',
        uint2str(terms.royalty_bps),
        ',"minting_fee":"',
        uint2str(terms.minting_fee),
        '","expiration":',
        uint2str(terms.expiration),
        ',"currency":"',
        metadata_json._address(terms.currency),
        '","uri":"',
        metadata_json._escape(terms.uri),
        '","ai_training":',
        metadata_json._bool(terms.ai_training),
        ',"ai_fine_tuning":',
        metadata_json._bool(terms.ai_fine_tuning),
        ',"ai_retrieval":',
        metadata_json._bool(terms.ai_retrieval),
        ',"ai_output_commercial":',
        metadata_json._bool(terms.ai_output_commercial),
        "}",
    )


@internal
@pure
def _kind_name(kind: uint8) -> String[7]:
    """
    @dev The name of an asset kind (the registry's numbering).
    @param kind The kind (0 to 5).
    @return String "work", "dataset", "model", "prompt", "output" or "agent".
    """
    if kind == 0:
        return "work"
    if kind == 1:
        return "dataset"
    if kind == 2:
        return "model"
    if kind == 3:
        return "prompt"
    if kind == 4:
        return "output"
    return "agent"
