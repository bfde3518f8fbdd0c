# pragma version ~=0.4.3
# pragma nonreentrancy off
"""
@title tantieme IP Asset Registry
@custom:contract-name ip_asset_registry
@license GNU Affero General Public License v3.0 only
@notice Every registered work, dataset, model, prompt, output or agent is
        an ERC-721 token (with ERC-4906 `MetadataUpdate` events and
        ERC-2981 `royaltyInfo`) that carries a content hash, a metadata
        URI, up to 16 parents and PIL-like licence terms with explicit AI
        consent, deny by default (an all-zero `LicenseTerms` grants
        nothing). The registry enforces the derivative rules on chain
        (see `SPEC.md`), sells licence tokens whose fees are paid into the
        asset's royalties through the `RoyaltyRouter`, and lets owners
        tighten, never widen, their AI consent. It also:
        - makes registration front-running-proof by commit-reveal
          (`commitRegistration`, then `register` in a later block);
        - lets consent only narrow down the derivative graph: an asset's
          effective AI consent (`aiConsent`) is its own flags and every
          ancestor's current flags, and no derivative may grant an AI use
          an ancestor refuses;
        - ends derivative approvals when an asset changes hands;
        - names a royalty vault per asset in `royaltyInfo` (an EIP-1167
          proxy it deploys with CREATE2 on first use) whose tokens the
          router sweeps into the asset's royalties;
        - answers `tokenURI` with ERC-721 metadata JSON as a data URI.

        The ERC-721 core is our own minimal, non-enumerable one: snekmate's
        `erc721` is enumerable and keeps a separate token URI string; one
        mint with a 60-character URI costs 217,287 gas by itself, which
        leaves no room for the asset's data in a 225,000 budget (figures in
        `SPEC.md`). Asset data is packed:
        - `_core[id]`: owner, kind, parent count, ancestor count, terms
          flags, royalty bps and the first parent id (one slot),
        - `_record[content_hash]`: the asset id, metadata URI length,
          terms URI reference, expiration and minting fee (one slot, the
          same one that makes a content hash unique),
        - the metadata URI as raw 32-byte words (its length lives above),
        - further parents four to a slot,
        - terms URIs stored once each and shared by reference: licence
          texts are templates, so most assets cite one already stored.
@custom:security `register` makes no external call; `mintLicense` calls the
                 router (which pulls tokens from the caller) after all its
                 effects and is `@nonreentrant`. `safeTransferFrom` calls the
                 receiver after the transfer is complete. Asset ids are
                 below 2**53, minting fees below 2**98 token wei and the
                 ancestor count at most 1,024, all checked; every walk up
                 the graph visits at most `ancestorCount` entries.
"""


# @dev ERC-165 introspection (`supportsInterface`).
from ethereum.ercs import IERC165
implements: IERC165


# @dev ERC-721 metadata (`name`, `symbol`, `tokenURI`); not declared with
# `implements`, whose `tokenURI` returns at most 512 bytes (the ABI type,
# `string`, is the same).


# @dev ERC-4906 `MetadataUpdate` and `BatchMetadataUpdate`, emitted when AI
# consent is tightened (descendants' effective consent follows).
from snekmate.tokens.interfaces import IERC4906
implements: IERC4906


# @dev ERC-2981 `royaltyInfo`, pointing marketplaces at the router.
from snekmate.extensions.interfaces import IERC2981
implements: IERC2981


# @dev The ERC-721 `Transfer` event, logged by `register`.
from ethereum.ercs import IERC721


# @dev The minimal ERC-721 core shared with the agent identity registry:
# balances, approvals, operators, moves and the receiver check. Owners are
# packed into `_core` here. Its functions are `nonpayable`, as
# OpenZeppelin's are, so we do not declare `implements: IERC721` (it
# demands `payable`).
from . import erc721_core
initializes: erc721_core


# @dev The owner-independent ERC-721 functions of `erc721_core`; the rest
# of ERC-721 is below.
exports: (erc721_core.balanceOf, erc721_core.setApprovalForAll, erc721_core.isApprovedForAll)


# @dev The bound of `tokenURI`'s data URI.
from . import metadata_json


# @dev The router's licence-fee entry point and its wiring, checked once.
interface IRoyaltyRouter:
    def payFrom(payer: address, asset_id: uint256, amount: uint256): nonpayable
    def token() -> address: view
    def registry() -> address: view


# @dev The renderer of `tokenURI` (a separate contract: the registry
# would pass EIP-170's 24,576-byte code limit with it).
interface IAssetMetadata:
    def tokenURI(registry: address, asset_id: uint256) -> String[metadata_json.MAX_DATA_URI]: view


# @dev What the registry asks of a royalty vault once it is deployed.
interface IRoyaltyVault:
    def initialize(token: address, router: address): nonpayable


# @dev PIL-like licence terms with AI consent first-class. Deny by
# default: the all-false, all-zero struct grants no right at all.
struct LicenseTerms:
    # @dev The asset (and derivatives) may be used commercially.
    commercial_use: bool
    # @dev Derivatives must credit the asset.
    attribution: bool
    # @dev Derivatives may name this asset as a parent.
    derivatives_allowed: bool
    # @dev Each derivative registrant needs the owner's prior approval.
    derivatives_approval: bool
    # @dev Derivatives must carry exactly these terms.
    derivatives_reciprocal: bool
    # @dev Share of each derivative's revenue owed to this asset, in
    # basis points (at most 10,000).
    royalty_bps: uint16
    # @dev Price of one licence token, in token wei (below 2**98).
    minting_fee: uint256
    # @dev Unix time in seconds when the terms lapse; 0 means never.
    expiration: uint64
    # @dev Payment token: must be the AI token; the zero address means
    # the AI token (views always return the AI token's address).
    currency: address
    # @dev URI of the licence text.
    uri: String[256]
    # @dev The asset may be used to train models.
    ai_training: bool
    # @dev The asset (a model) may be fine-tuned into other models.
    ai_fine_tuning: bool
    # @dev The asset may be retrieved and quoted to answer questions.
    ai_retrieval: bool
    # @dev AI outputs derived from the asset may be used commercially.
    ai_output_commercial: bool


# @dev Asset kinds.
WORK: public(constant(uint8)) = 0
DATASET: public(constant(uint8)) = 1
MODEL: public(constant(uint8)) = 2
PROMPT: public(constant(uint8)) = 3
OUTPUT: public(constant(uint8)) = 4
AGENT: public(constant(uint8)) = 5


# @dev Most parents an asset may name (the ABI enforces it).
MAX_PARENTS: public(constant(uint256)) = 16


# @dev Most ancestors an asset may have, counted with multiplicity
# (Story Protocol's bound); see `ancestorCount`.
MAX_ANCESTORS: public(constant(uint256)) = 1024


# @dev Basis points in a whole.
BPS: public(constant(uint256)) = 10_000


# @dev How long a registration commitment stays usable, in seconds.
COMMITMENT_MAX_AGE: public(constant(uint256)) = 86_400


# @dev Largest URI, metadata or licence text, in bytes.
MAX_URI: constant(uint256) = 256


# @dev The ERC-721 collection name and symbol.
_NAME: constant(String[25]) = "tantieme IP Asset"
_SYMBOL: constant(String[5]) = "TIPA"


# @dev ERC-165 identifiers: ERC-165, ERC-721, ERC-721 metadata, ERC-4906,
# ERC-2981.
_SUPPORTED_INTERFACES: constant(bytes4[5]) = [0x01FFC9A7, 0x80AC58CD, 0x5B5E139F, 0x49064906, 0x2A55205A]


# @dev Flag bits of `LicenseTerms`' booleans inside `_core`.
_F_COMMERCIAL: constant(uint256) = 1
_F_ATTRIBUTION: constant(uint256) = 2
_F_DERIVATIVES: constant(uint256) = 4
_F_APPROVAL: constant(uint256) = 8
_F_RECIPROCAL: constant(uint256) = 16
_F_AI_TRAINING: constant(uint256) = 32
_F_AI_FINE_TUNING: constant(uint256) = 64
_F_AI_RETRIEVAL: constant(uint256) = 128
_F_AI_OUTPUT_COMMERCIAL: constant(uint256) = 256
_F_AI: constant(uint256) = 32 | 64 | 128 | 256


# @dev Vyper's EIP-1167 proxy creation code around the implementation
# address (`create_minimal_proxy_to`), for the vaults' CREATE2 addresses.
_PROXY_CODE_HEAD: constant(bytes19) = 0x602D3D8160093D39F3363D3D373D3D3D363D73
_PROXY_CODE_TAIL: constant(bytes15) = 0x5AF43D82803E903D91602B57FD5BF3


# @dev `_core` layout, low bits first: owner (160), kind (4), number of
# parents (5), ancestor count (11), flags (9), royalty bps (14), first
# parent id (53).
_ADDRESS_MASK: constant(uint256) = 2**160 - 1
_KIND_SHIFT: constant(uint256) = 160
_NPARENTS_SHIFT: constant(uint256) = 164
_ANCESTORS_SHIFT: constant(uint256) = 169
_FLAGS_SHIFT: constant(uint256) = 180
_BPS_SHIFT: constant(uint256) = 189
_PARENT_SHIFT: constant(uint256) = 203


# @dev `_record` layout, low bits first: asset id (53), metadata URI
# length (9), terms URI reference (32), expiration (64), minting fee (98).
_ID_MASK: constant(uint256) = 2**53 - 1
_URI_LEN_SHIFT: constant(uint256) = 53
_TERMS_REF_SHIFT: constant(uint256) = 62
_EXPIRATION_SHIFT: constant(uint256) = 94
_FEE_SHIFT: constant(uint256) = 158


# @dev Field masks shared by both layouts.
_MASK_4: constant(uint256) = 2**4 - 1
_MASK_5: constant(uint256) = 2**5 - 1
_MASK_9: constant(uint256) = 2**9 - 1
_MASK_11: constant(uint256) = 2**11 - 1
_MASK_14: constant(uint256) = 2**14 - 1
_MASK_32: constant(uint256) = 2**32 - 1
_MASK_64: constant(uint256) = 2**64 - 1


# @dev Largest asset id and minting fee (token wei) the layouts hold.
_MAX_ASSET_ID: constant(uint256) = 2**53 - 1
_MAX_MINTING_FEE: constant(uint256) = 2**98 - 1


# @dev The AI token, the only licence currency.
token: public(immutable(address))


# @dev The account that deployed the registry and wires the router.
_DEPLOYER: immutable(address)


# @dev The royalty vault every asset's vault is a minimal proxy of.
royaltyVaultImplementation: public(immutable(address))


# @dev The contract that renders `tokenURI`.
assetMetadata: public(immutable(address))


# @dev keccak256 of a vault proxy's creation code (CREATE2 addresses).
_VAULT_CODE_HASH: immutable(bytes32)


# @dev The royalty router, set once by the deployer.
royaltyRouter: public(address)


# @dev The id the next asset gets (ids run from 1; set at deployment, so
# that no registration pays for a fresh counter slot).
_next_asset_id: uint256


# @dev Unused licence tokens per holder and asset.
licenseBalance: public(HashMap[address, HashMap[uint256, uint256]])


# @dev Registration commitments by registrant: the commit's block number
# (high bits) and timestamp (low 64 bits); zero when none.
_commitments: HashMap[address, HashMap[bytes32, uint256]]


# @dev Derivative approvals: the parent's owner epoch at approval plus
# one; an approval stands while the epoch is unchanged (zero: none).
_derivative_approvals: HashMap[uint256, HashMap[address, uint256]]


# @dev Times each asset changed hands (its owner epoch).
_owner_epochs: HashMap[uint256, uint256]


# @dev Packed core of each asset, see the layout above; zero when the
# asset does not exist (an owner is never the zero address).
_core: HashMap[uint256, uint256]


# @dev Packed record of each registered content hash, see the layout
# above; zero when the hash is unregistered.
_record: HashMap[bytes32, uint256]


# @dev Content hash of each asset.
_content_hash: HashMap[uint256, bytes32]


# @dev Metadata URI of each asset as 32-byte words, the last one padded
# with zeros; its length is in `_record`.
_uri_words: HashMap[uint256, HashMap[uint256, bytes32]]


# @dev Parents after the first, four 64-bit ids to a slot.
_more_parents: HashMap[uint256, HashMap[uint256, uint256]]


# @dev Reference of each stored terms URI, by its keccak256 hash.
_terms_ref_of: HashMap[bytes32, uint256]


# @dev Stored terms URIs by reference; reference 0 is the empty URI.
_terms_uris: HashMap[uint256, String[MAX_URI]]


# @dev Reference the next new terms URI gets (starts at 1, set at
# deployment so that no registration pays for a fresh counter slot).
_next_terms_ref: uint256


# @dev Emitted when an asset is registered (its terms: `licenseTerms`).
event AssetRegistered:
    asset_id: indexed(uint256)
    owner: indexed(address)
    kind: indexed(uint8)
    content_hash: bytes32
    uri: String[MAX_URI]
    parents: DynArray[uint256, MAX_PARENTS]


# @dev Emitted the first time a terms URI is stored.
event TermsUriStored:
    terms_ref: indexed(uint256)
    uri: String[MAX_URI]


# @dev Emitted when a parent's owner approves or revokes a registrant.
event DerivativeApproval:
    parent_id: indexed(uint256)
    registrant: indexed(address)
    approved: bool


# @dev Emitted when licence tokens are sold.
event LicenseMinted:
    asset_id: indexed(uint256)
    payer: indexed(address)
    receiver: indexed(address)
    amount: uint256
    fee: uint256


# @dev Emitted when a derivative registration consumes a licence token.
event LicenseConsumed:
    parent_id: indexed(uint256)
    holder: indexed(address)
    child_id: indexed(uint256)


# @dev Emitted when an owner clears AI consent flags.
event AIConsentTightened:
    asset_id: indexed(uint256)
    ai_training: bool
    ai_fine_tuning: bool
    ai_retrieval: bool
    ai_output_commercial: bool


# @dev Emitted when an asset's royalty vault is deployed.
event RoyaltyVaultDeployed:
    asset_id: indexed(uint256)
    vault: address


# @dev Emitted once, when the router is wired.
event RoyaltyRouterSet:
    router: indexed(address)


@deploy
def __init__(token_: address, vault_implementation_: address, asset_metadata_: address):
    """
    @dev The deployer may later wire the router, once.
    @param token_ The AI token, the only licence currency.
    @param vault_implementation_ The `royalty_vault` every asset's vault
           proxies to.
    @param asset_metadata_ The `asset_metadata` renderer of `tokenURI`.
    """
    assert token_ != empty(address), "registry: token is the zero address"
    assert vault_implementation_.is_contract, "registry: vault implementation has no code"
    assert asset_metadata_.is_contract, "registry: metadata renderer has no code"
    token = token_
    _DEPLOYER = msg.sender
    royaltyVaultImplementation = vault_implementation_
    assetMetadata = asset_metadata_
    _VAULT_CODE_HASH = keccak256(concat(_PROXY_CODE_HEAD, convert(vault_implementation_, bytes20), _PROXY_CODE_TAIL))
    self._next_terms_ref = 1
    self._next_asset_id = 1


# ASSETS #


@external
def commitRegistration(commitment: bytes32):
    """
    @dev First step of registration: commits the caller to a content hash
         without revealing it. `register` accepts the hash from the next
         block on, for `COMMITMENT_MAX_AGE` seconds; committing again
         restarts the clock. No event: a commitment reveals nothing.
    @param commitment keccak256(abi.encode(registrant, content_hash, salt))
           with the caller as registrant and a secret 32-byte salt.
    """
    assert commitment != empty(bytes32), "registry: zero commitment"
    self._commitments[msg.sender][commitment] = (block.number << 64) | block.timestamp


@external
def register(
    kind: uint8,
    content_hash: bytes32,
    uri: String[MAX_URI],
    parents: DynArray[uint256, MAX_PARENTS],
    terms: LicenseTerms,
    salt: bytes32,
) -> uint256:
    """
    @dev Registers an asset and mints it to the caller, who committed to
         `content_hash` with `salt` in an earlier block
         (`commitRegistration`), so that nobody who sees this transaction
         can register the hash first. With parents it is a derivative:
         every derivative and consent rule is checked here and a
         commercial derivative consumes one licence token of each parent
         from the caller.
    @param kind WORK, DATASET, MODEL, PROMPT, OUTPUT or AGENT (0 to 5).
    @param content_hash The 32-byte hash of the content; unique, non-zero.
    @param uri The metadata URI (at most 256 bytes), `external_url` in
           `tokenURI`.
    @param parents Distinct existing assets this one derives from.
    @param terms The licence terms offered to derivatives and AI.
    @param salt The 32-byte secret of the commitment.
    @return uint256 The new asset id (ids start at 1).
    """
    assert kind <= AGENT, "registry: unknown kind"
    assert content_hash != empty(bytes32), "registry: zero content hash"
    self._use_commitment(keccak256(abi_encode(msg.sender, content_hash, salt)))
    assert self._record[content_hash] == 0, "registry: duplicate content hash"
    flags: uint256 = self._validate_terms(terms)
    terms_ref: uint256 = self._store_terms_uri(terms.uri)

    asset_id: uint256 = self._next_asset_id
    assert asset_id <= _MAX_ASSET_ID, "registry: asset ids exhausted"
    ancestors: uint256 = self._check_parents(asset_id, kind, parents, terms, flags, terms_ref)
    self._check_consent_narrows(parents, flags & _F_AI)

    first_parent: uint256 = 0
    if len(parents) != 0:
        first_parent = parents[0]
    self._core[asset_id] = (
        convert(msg.sender, uint256)
        | (convert(kind, uint256) << _KIND_SHIFT)
        | (len(parents) << _NPARENTS_SHIFT)
        | (ancestors << _ANCESTORS_SHIFT)
        | (flags << _FLAGS_SHIFT)
        | (convert(terms.royalty_bps, uint256) << _BPS_SHIFT)
        | (first_parent << _PARENT_SHIFT)
    )
    self._record[content_hash] = (
        asset_id
        | (len(uri) << _URI_LEN_SHIFT)
        | (terms_ref << _TERMS_REF_SHIFT)
        | (convert(terms.expiration, uint256) << _EXPIRATION_SHIFT)
        | (terms.minting_fee << _FEE_SHIFT)
    )
    self._content_hash[asset_id] = content_hash
    self._store_uri(asset_id, uri)
    self._store_more_parents(asset_id, parents)
    # Cannot overflow: asset ids are below 2**53.
    self._next_asset_id = unsafe_add(asset_id, 1)
    # `erc721_core._mint` inline: the internal call would cost 56 gas more.
    # Cannot overflow: there are fewer than 2**53 tokens.
    erc721_core._balances[msg.sender] = unsafe_add(erc721_core._balances[msg.sender], 1)
    log IERC721.Transfer(sender=empty(address), receiver=msg.sender, token_id=asset_id)
    log AssetRegistered(
        asset_id=asset_id, owner=msg.sender, kind=kind, content_hash=content_hash, uri=uri, parents=parents
    )
    return asset_id


@external
def approveDerivative(parent_id: uint256, registrant: address, approved: bool):
    """
    @dev Lets (or stops) `registrant` name `parent_id` as a parent when
         its terms require approval. The approval stands until revoked or
         until the asset changes hands.
    @param parent_id The caller's asset.
    @param registrant The account that will register the derivative.
    @param approved True to approve, False to revoke.
    """
    self._check_asset_owner(parent_id)
    stored: uint256 = 0
    if approved:
        # Cannot overflow: an epoch grows by one per transfer.
        stored = unsafe_add(self._owner_epochs[parent_id], 1)
    self._derivative_approvals[parent_id][registrant] = stored
    log DerivativeApproval(parent_id=parent_id, registrant=registrant, approved=approved)


@external
def setAIConsent(asset_id: uint256, training: bool, fine_tuning: bool, retrieval: bool, output_commercial: bool):
    """
    @dev Tightens the asset's own AI consent: flags may be cleared, never
         set again once cleared. It narrows the effective consent of every
         descendant too, for all future use (`aiConsent`).
    @param asset_id The caller's asset.
    @param training Consent to training models.
    @param fine_tuning Consent to fine-tuning (for models).
    @param retrieval Consent to retrieval-augmented answers.
    @param output_commercial Consent to commercial use of AI outputs.
    """
    core: uint256 = self._check_asset_owner(asset_id)
    flags: uint256 = (core >> _FLAGS_SHIFT) & _MASK_9
    wanted: uint256 = self._ai_flags(training, fine_tuning, retrieval, output_commercial)
    assert wanted & ~flags == 0, "registry: consent can only be tightened"

    new_flags: uint256 = (flags & ~_F_AI) | wanted
    self._core[asset_id] = (core & ~(_MASK_9 << _FLAGS_SHIFT)) | (new_flags << _FLAGS_SHIFT)
    log AIConsentTightened(
        asset_id=asset_id,
        ai_training=training,
        ai_fine_tuning=fine_tuning,
        ai_retrieval=retrieval,
        ai_output_commercial=output_commercial,
    )
    log IERC4906.MetadataUpdate(_tokenId=asset_id)
    # Descendants have later ids; their effective consent (in their
    # metadata) narrows with this one when flags were cleared.
    # Cannot underflow: `_next_asset_id` starts at 1.
    last: uint256 = unsafe_sub(self._next_asset_id, 1)
    if new_flags != flags and asset_id < last:
        log IERC4906.BatchMetadataUpdate(_fromTokenId=asset_id + 1, _toTokenId=last)


@external
def registerTermsUri(uri: String[MAX_URI]) -> uint256:
    """
    @dev Stores a licence text URI ahead of use (anyone may; idempotent),
         as a deployment does for the standard licence texts: assets that
         cite a stored terms URI pay a lookup instead of storing it.
    @param uri The terms URI (at most 256 bytes).
    @return uint256 Its reference (0 for the empty URI).
    """
    return self._store_terms_uri(uri)


# LICENCES #


@external
@nonreentrant
def mintLicense(asset_id: uint256, amount: uint256, receiver: address):
    """
    @dev Sells `amount` licence tokens of `asset_id` to `receiver`. The
         caller pays `minting_fee * amount` token wei into the asset's
         royalties through the router (approve the router once). A licence
         is what a commercial derivative consumes, so only assets whose
         terms allow commercial use and derivatives sell them.
    @param asset_id The licensed asset.
    @param amount Number of licence tokens.
    @param receiver Who holds the licence tokens.
    """
    core: uint256 = self._core[asset_id]
    assert core != 0, "registry: unknown asset"
    assert amount != 0, "registry: zero amount"
    assert receiver != empty(address), "registry: receiver is the zero address"
    record: uint256 = self._record[self._content_hash[asset_id]]
    assert not self._expired(record), "registry: license terms expired"
    flags: uint256 = (core >> _FLAGS_SHIFT) & _MASK_9
    assert flags & _F_COMMERCIAL != 0, "registry: terms forbid commercial use"
    assert flags & _F_DERIVATIVES != 0, "registry: terms forbid derivatives"
    fee: uint256 = (record >> _FEE_SHIFT) * amount

    self.licenseBalance[receiver][asset_id] += amount
    log LicenseMinted(asset_id=asset_id, payer=msg.sender, receiver=receiver, amount=amount, fee=fee)

    if fee != 0:
        router: address = self.royaltyRouter
        assert router != empty(address), "registry: royalty router not set"
        extcall IRoyaltyRouter(router).payFrom(msg.sender, asset_id, fee)


# WIRING #


@external
def setRoyaltyRouter(router: address):
    """
    @dev Wires the royalty router, once; only the deployer. The router
         must be built for this registry and the AI token.
    @param router The `RoyaltyRouter`.
    """
    assert msg.sender == _DEPLOYER, "registry: caller is not the deployer"
    assert self.royaltyRouter == empty(address), "registry: royalty router already set"
    assert router != empty(address), "registry: router is the zero address"
    assert staticcall IRoyaltyRouter(router).registry() == self, "registry: router is for another registry"
    assert staticcall IRoyaltyRouter(router).token() == token, "registry: router pays another token"
    self.royaltyRouter = router
    log RoyaltyRouterSet(router=router)


@external
def deployRoyaltyVault(asset_id: uint256) -> address:
    """
    @dev Deploys the asset's royalty vault at its CREATE2 address (the
         one `royaltyInfo` names from registration on) and lets the router
         sweep it; anyone may, once the router is wired. The router calls
         it on the first `sweep`.
    @param asset_id The asset.
    @return address The vault.
    """
    self._existing_core(asset_id)
    router: address = self.royaltyRouter
    assert router != empty(address), "registry: royalty router not set"
    assert not self._vault_of(asset_id).is_contract, "registry: royalty vault already deployed"
    vault: address = create_minimal_proxy_to(royaltyVaultImplementation, salt=convert(asset_id, bytes32))
    extcall IRoyaltyVault(vault).initialize(token, router)
    log RoyaltyVaultDeployed(asset_id=asset_id, vault=vault)
    return vault


# VIEWS #


@external
@view
def totalAssets() -> uint256:
    """
    @dev Number of registered assets; ids run from 1 to `totalAssets`.
    @return uint256 The count.
    """
    # Cannot underflow: `_next_asset_id` starts at 1.
    return unsafe_sub(self._next_asset_id, 1)


@external
@view
def exists(asset_id: uint256) -> bool:
    """
    @dev Whether the asset is registered.
    @param asset_id The asset id.
    @return bool True if registered.
    """
    return self._core[asset_id] != 0


@external
@view
def assetOfContent(content_hash: bytes32) -> uint256:
    """
    @dev The asset registered for a content hash.
    @param content_hash The 32-byte content hash.
    @return uint256 The asset id, 0 if none.
    """
    return self._record[content_hash] & _ID_MASK


@external
@view
def assetKind(asset_id: uint256) -> uint8:
    """
    @dev The asset's kind (WORK 0 ... AGENT 5).
    @param asset_id The asset id.
    @return uint8 The kind.
    """
    return convert((self._existing_core(asset_id) >> _KIND_SHIFT) & _MASK_4, uint8)


@external
@view
def contentHash(asset_id: uint256) -> bytes32:
    """
    @dev The asset's content hash.
    @param asset_id The asset id.
    @return bytes32 The 32-byte content hash.
    """
    self._existing_core(asset_id)
    return self._content_hash[asset_id]


@external
@view
def parentsOf(asset_id: uint256) -> DynArray[uint256, MAX_PARENTS]:
    """
    @dev The asset's parents, in registration order.
    @param asset_id The asset id.
    @return DynArray The parent ids.
    """
    return self._parents(asset_id, self._existing_core(asset_id))


@external
@view
def parentShares(asset_id: uint256) -> (DynArray[uint256, MAX_PARENTS], DynArray[uint256, MAX_PARENTS]):
    """
    @dev What the router needs to split revenue: the parents and the
         royalty each is owed (its own terms' `royalty_bps`).
    @param asset_id The asset id.
    @return DynArray The parent ids.
    @return DynArray Each parent's share in basis points.
    """
    parents: DynArray[uint256, MAX_PARENTS] = self._parents(asset_id, self._existing_core(asset_id))
    shares: DynArray[uint256, MAX_PARENTS] = []
    for parent: uint256 in parents:
        shares.append((self._core[parent] >> _BPS_SHIFT) & _MASK_14)
    return parents, shares


@external
@view
def ancestorCount(asset_id: uint256) -> uint256:
    """
    @dev Ancestors counted with multiplicity: the sum over the parents of
         (1 + the parent's count). An upper bound of the distinct
         ancestors; at most 1,024.
    @param asset_id The asset id.
    @return uint256 The count.
    """
    return (self._existing_core(asset_id) >> _ANCESTORS_SHIFT) & _MASK_11


@external
@view
def licenseTerms(asset_id: uint256) -> LicenseTerms:
    """
    @dev The asset's current licence terms, with its own AI consent as
         tightened (ancestors may narrow it further: `aiConsent`).
    @param asset_id The asset id.
    @return LicenseTerms The terms; `currency` is the AI token.
    """
    core: uint256 = self._existing_core(asset_id)
    record: uint256 = self._record[self._content_hash[asset_id]]
    flags: uint256 = (core >> _FLAGS_SHIFT) & _MASK_9
    return LicenseTerms(
        commercial_use=flags & _F_COMMERCIAL != 0,
        attribution=flags & _F_ATTRIBUTION != 0,
        derivatives_allowed=flags & _F_DERIVATIVES != 0,
        derivatives_approval=flags & _F_APPROVAL != 0,
        derivatives_reciprocal=flags & _F_RECIPROCAL != 0,
        royalty_bps=convert((core >> _BPS_SHIFT) & _MASK_14, uint16),
        minting_fee=record >> _FEE_SHIFT,
        expiration=convert((record >> _EXPIRATION_SHIFT) & _MASK_64, uint64),
        currency=token,
        uri=self._terms_uris[(record >> _TERMS_REF_SHIFT) & _MASK_32],
        ai_training=flags & _F_AI_TRAINING != 0,
        ai_fine_tuning=flags & _F_AI_FINE_TUNING != 0,
        ai_retrieval=flags & _F_AI_RETRIEVAL != 0,
        ai_output_commercial=flags & _F_AI_OUTPUT_COMMERCIAL != 0,
    )


@external
@view
def aiConsent(asset_id: uint256) -> (bool, bool, bool, bool):
    """
    @dev The asset's effective AI consent: what its own current flags and
         every ancestor's current flags all allow (its own flags alone are
         in `licenseTerms`). This is what AI may do with it now.
    @param asset_id The asset id.
    @return bool Training.
    @return bool Fine-tuning.
    @return bool Retrieval.
    @return bool Commercial use of outputs.
    """
    flags: uint256 = self._effective_ai(asset_id, self._existing_core(asset_id))
    return (
        flags & _F_AI_TRAINING != 0,
        flags & _F_AI_FINE_TUNING != 0,
        flags & _F_AI_RETRIEVAL != 0,
        flags & _F_AI_OUTPUT_COMMERCIAL != 0,
    )


@external
@view
def royaltyVault(asset_id: uint256) -> address:
    """
    @dev The asset's royalty vault: fixed from registration (a CREATE2
         address of this registry), deployed on first use. Tokens sent
         there are the asset's royalties once anyone calls the router's
         `sweep(asset_id)`.
    @param asset_id The asset id.
    @return address The vault.
    """
    self._existing_core(asset_id)
    return self._vault_of(asset_id)


@external
@view
def royaltyInfo(_tokenId: uint256, _salePrice: uint256) -> (address, uint256):
    """
    @dev ERC-2981: the royalty on a sale is the asset's `royalty_bps` of
         the price, payable to the asset's own royalty vault (never the
         zero address, wired or not). A plain AI token transfer there is
         credited to the asset by the router's `sweep`; `router.pay`
         credits at once.
    @param _tokenId The asset id.
    @param _salePrice The sale price, in any unit.
    @return address The asset's royalty vault.
    @return uint256 The royalty, in the unit of the price, rounded down.
    """
    bps: uint256 = (self._existing_core(_tokenId) >> _BPS_SHIFT) & _MASK_14
    # Exact floor(price * bps / 10,000) without overflow.
    return self._vault_of(_tokenId), (_salePrice // BPS) * bps + (_salePrice % BPS) * bps // BPS


@external
@view
def isDerivativeApproved(parent_id: uint256, registrant: address) -> bool:
    """
    @dev Whether the parent's current owner lets `registrant` name it as
         a parent (read when its terms require approval). Approvals end
         when the asset changes hands.
    @param parent_id The parent asset.
    @param registrant The would-be registrant.
    @return bool True if approved.
    """
    return self._is_approved(parent_id, registrant)


# ERC-721 #


@external
@view
def supportsInterface(interface_id: bytes4) -> bool:
    """
    @dev ERC-165: ERC-165, ERC-721, ERC-721 metadata, ERC-4906, ERC-2981.
    @param interface_id The 4-byte interface identifier.
    @return bool True if supported.
    """
    return interface_id in _SUPPORTED_INTERFACES


@external
@view
def name() -> String[25]:
    """
    @dev The collection name.
    @return String "tantieme IP Asset".
    """
    return _NAME


@external
@view
def symbol() -> String[5]:
    """
    @dev The collection symbol.
    @return String "TIPA".
    """
    return _SYMBOL


@external
@view
def tokenURI(_tokenId: uint256) -> String[metadata_json.MAX_DATA_URI]:
    """
    @dev The asset's ERC-721 metadata JSON as a base64 `data:` URI,
         rendered by the `asset_metadata` contract from this registry's
         views (kind, content hash, parents, effective AI consent, terms,
         royalty vault; the creator's metadata URI as `external_url`).
    @param _tokenId The asset id.
    @return String The data URI.
    """
    self._existing_core(_tokenId)
    return staticcall IAssetMetadata(assetMetadata).tokenURI(self, _tokenId)


@external
@view
def metadataURI(asset_id: uint256) -> String[MAX_URI]:
    """
    @dev The metadata URI the creator registered (`external_url` in
         `tokenURI`).
    @param asset_id The asset id.
    @return String The URI.
    """
    self._existing_core(asset_id)
    return self._uri(asset_id, self._record[self._content_hash[asset_id]])


@external
@view
def ownerOf(_tokenId: uint256) -> address:
    """
    @dev The asset's owner, who claims its royalties.
    @param _tokenId The asset id.
    @return address The owner.
    """
    return self._owner_of(self._existing_core(_tokenId))


@external
@view
def getApproved(_tokenId: uint256) -> address:
    """
    @dev The account approved to transfer the asset.
    @param _tokenId The asset id.
    @return address The approved account, or the zero address.
    """
    self._existing_core(_tokenId)
    return erc721_core._token_approvals[_tokenId]


@external
def approve(_approved: address, _tokenId: uint256):
    """
    @dev Approves `_approved` to transfer the asset; the owner or an
         operator of the owner may call it.
    @param _approved The account, or the zero address to clear.
    @param _tokenId The asset id.
    """
    erc721_core._approve(self._owner_of(self._existing_core(_tokenId)), _approved, _tokenId)


@external
def transferFrom(_from: address, _to: address, _tokenId: uint256):
    """
    @dev Transfers the asset (and the right to claim its royalties).
    @param _from The current owner.
    @param _to The new owner, not the zero address.
    @param _tokenId The asset id.
    """
    self._transfer(_from, _to, _tokenId)


@external
def safeTransferFrom(_from: address, _to: address, _tokenId: uint256, _data: Bytes[1024] = b""):
    """
    @dev Transfers the asset; a contract receiver must answer
         `onERC721Received`.
    @param _from The current owner.
    @param _to The new owner, not the zero address.
    @param _tokenId The asset id.
    @param _data Data passed to the receiver.
    """
    self._transfer(_from, _to, _tokenId)
    erc721_core._check_received(_from, _to, _tokenId, _data)


# INTERNAL: REGISTRATION #


@internal
@view
def _validate_terms(terms: LicenseTerms) -> uint256:
    """
    @dev Checks the terms an asset offers and packs their booleans.
    @param terms The terms.
    @return uint256 The flag bits.
    """
    assert convert(terms.royalty_bps, uint256) <= BPS, "registry: royalty bps exceeds 10000"
    assert terms.minting_fee <= _MAX_MINTING_FEE, "registry: minting fee too large"
    assert terms.currency == empty(address) or terms.currency == token, "registry: currency is not the AI token"
    assert (
        terms.expiration == 0 or convert(terms.expiration, uint256) > block.timestamp
    ), "registry: terms already expired"
    flags: uint256 = self._ai_flags(
        terms.ai_training, terms.ai_fine_tuning, terms.ai_retrieval, terms.ai_output_commercial
    )
    if terms.commercial_use:
        flags |= _F_COMMERCIAL
    if terms.attribution:
        flags |= _F_ATTRIBUTION
    if terms.derivatives_allowed:
        flags |= _F_DERIVATIVES
    if terms.derivatives_approval:
        flags |= _F_APPROVAL
    if terms.derivatives_reciprocal:
        flags |= _F_RECIPROCAL
    return flags


@internal
def _check_parents(
    child_id: uint256,
    kind: uint8,
    parents: DynArray[uint256, MAX_PARENTS],
    terms: LicenseTerms,
    flags: uint256,
    terms_ref: uint256,
) -> uint256:
    """
    @dev Enforces the derivative rules (`SPEC.md`) for each parent and
         consumes the licence tokens a commercial child needs.
    @param child_id The id the child will get.
    @param kind The child's kind.
    @param parents The parents.
    @param terms The child's terms.
    @param flags The child's packed flags.
    @param terms_ref The child's terms URI reference.
    @return uint256 The child's ancestor count.
    """
    total_bps: uint256 = 0
    ancestors: uint256 = 0
    commercial: bool = flags & _F_COMMERCIAL != 0
    for i: uint256 in range(len(parents), bound=MAX_PARENTS):
        parent: uint256 = parents[i]
        core: uint256 = self._core[parent]
        assert core != 0, "registry: unknown parent"
        for j: uint256 in range(i, bound=MAX_PARENTS):
            assert parents[j] != parent, "registry: duplicate parent"
        record: uint256 = self._record[self._content_hash[parent]]
        assert not self._expired(record), "registry: parent terms expired"

        parent_flags: uint256 = (core >> _FLAGS_SHIFT) & _MASK_9
        parent_bps: uint256 = (core >> _BPS_SHIFT) & _MASK_14
        assert parent_flags & _F_DERIVATIVES != 0, "registry: parent forbids derivatives"
        if parent_flags & _F_APPROVAL != 0 and msg.sender != self._owner_of(core):
            assert self._is_approved(parent, msg.sender), "registry: derivative not approved"
        if parent_flags & _F_RECIPROCAL != 0:
            assert (
                flags == parent_flags
                and convert(terms.royalty_bps, uint256) == parent_bps
                and terms.minting_fee == record >> _FEE_SHIFT
                and convert(terms.expiration, uint256) == (record >> _EXPIRATION_SHIFT) & _MASK_64
                and terms_ref == (record >> _TERMS_REF_SHIFT) & _MASK_32
            ), "registry: reciprocal terms mismatch"
        if kind == MODEL:
            # The lineage is checked against the parent's effective consent.
            parent_kind: uint256 = (core >> _KIND_SHIFT) & _MASK_4
            if parent_kind == convert(DATASET, uint256):
                assert self._effective_ai_of(parent, core, _F_AI_TRAINING) != 0, "registry: dataset forbids ai training"
            elif parent_kind == convert(MODEL, uint256):
                assert self._effective_ai_of(parent, core, _F_AI_FINE_TUNING) != 0, "registry: model forbids fine-tuning"
            else:
                raise "registry: model parent must be a dataset or model"
        if commercial:
            assert parent_flags & _F_COMMERCIAL != 0, "registry: parent forbids commercial use"
            held: uint256 = self.licenseBalance[msg.sender][parent]
            assert held != 0, "registry: license token required"
            # Cannot underflow: `held` is non-zero.
            self.licenseBalance[msg.sender][parent] = unsafe_sub(held, 1)
            log LicenseConsumed(parent_id=parent, holder=msg.sender, child_id=child_id)

        # Cannot overflow: at most 16 terms, each at most 10,000 and 1,025.
        total_bps = unsafe_add(total_bps, parent_bps)
        ancestors = unsafe_add(ancestors, unsafe_add(1, (core >> _ANCESTORS_SHIFT) & _MASK_11))

    assert total_bps <= BPS, "registry: parents royalty exceeds 10000"
    assert ancestors <= MAX_ANCESTORS, "registry: too many ancestors"
    return ancestors


@internal
@view
def _check_consent_narrows(parents: DynArray[uint256, MAX_PARENTS], wanted: uint256):
    """
    @dev Reverts if the child would grant an AI use that one of its
         ancestors (parents included) refuses now. Called once the
         ancestor count is known to be at most 1,024.
    @param parents The child's parents.
    @param wanted The child's AI flag bits.
    """
    if wanted == 0 or len(parents) == 0:
        return
    missing: uint256 = wanted & ~self._inherited_ai(parents, wanted)
    assert missing & _F_AI_TRAINING == 0, "registry: an ancestor refuses ai training"
    assert missing & _F_AI_FINE_TUNING == 0, "registry: an ancestor refuses ai fine-tuning"
    assert missing & _F_AI_RETRIEVAL == 0, "registry: an ancestor refuses ai retrieval"
    assert missing & _F_AI_OUTPUT_COMMERCIAL == 0, "registry: an ancestor refuses commercial ai output"


@internal
def _use_commitment(commitment: bytes32):
    """
    @dev Spends the caller's commitment, which must be from an earlier
         block and at most `COMMITMENT_MAX_AGE` seconds old.
    @param commitment keccak256(abi.encode(caller, content_hash, salt)).
    """
    committed: uint256 = self._commitments[msg.sender][commitment]
    assert committed != 0, "registry: no commitment"
    assert committed >> 64 < block.number, "registry: commitment too recent"
    assert block.timestamp <= (committed & _MASK_64) + COMMITMENT_MAX_AGE, "registry: commitment expired"
    self._commitments[msg.sender][commitment] = 0


@internal
def _store_terms_uri(uri: String[MAX_URI]) -> uint256:
    """
    @dev Returns the reference of a terms URI, storing it the first time
         it is seen; the empty URI is reference 0.
    @param uri The terms URI.
    @return uint256 Its reference.
    """
    if len(uri) == 0:
        return 0
    key: bytes32 = keccak256(uri)
    ref: uint256 = self._terms_ref_of[key]
    if ref == 0:
        ref = self._next_terms_ref
        assert ref <= _MASK_32, "registry: terms URI references exhausted"
        self._next_terms_ref = ref + 1
        self._terms_ref_of[key] = ref
        self._terms_uris[ref] = uri
        log TermsUriStored(terms_ref=ref, uri=uri)
    return ref


@internal
def _store_uri(asset_id: uint256, uri: String[MAX_URI]):
    """
    @dev Stores the metadata URI as whole 32-byte words, no length word.
    @param asset_id The asset id.
    @param uri The metadata URI.
    """
    length: uint256 = len(uri)
    padded: Bytes[MAX_URI + 32] = concat(convert(uri, Bytes[MAX_URI]), empty(bytes32))
    for i: uint256 in range(8):
        if i * 32 >= length:
            break
        self._uri_words[asset_id][i] = extract32(padded, i * 32)


@internal
def _store_more_parents(asset_id: uint256, parents: DynArray[uint256, MAX_PARENTS]):
    """
    @dev Stores the parents after the first, four 64-bit ids to a slot.
    @param asset_id The asset id.
    @param parents The parents (all below 2**53, as they exist).
    """
    word: uint256 = 0
    for i: uint256 in range(1, MAX_PARENTS):
        if i >= len(parents):
            break
        slot: uint256 = (i - 1) // 4
        word |= parents[i] << (((i - 1) % 4) * 64)
        if (i - 1) % 4 == 3 or i == len(parents) - 1:
            self._more_parents[asset_id][slot] = word
            word = 0


# INTERNAL: READING #


@internal
@view
def _parents(asset_id: uint256, core: uint256) -> DynArray[uint256, MAX_PARENTS]:
    """
    @dev Unpacks an asset's parents.
    @param asset_id The asset id.
    @param core The asset's packed core.
    @return DynArray The parent ids.
    """
    count: uint256 = (core >> _NPARENTS_SHIFT) & _MASK_5
    parents: DynArray[uint256, MAX_PARENTS] = []
    if count == 0:
        return parents
    parents.append(core >> _PARENT_SHIFT)
    word: uint256 = 0
    for i: uint256 in range(1, MAX_PARENTS):
        if i >= count:
            break
        if (i - 1) % 4 == 0:
            word = self._more_parents[asset_id][(i - 1) // 4]
        parents.append((word >> (((i - 1) % 4) * 64)) & _MASK_64)
    return parents


@internal
@view
def _effective_ai(asset_id: uint256, core: uint256) -> uint256:
    """
    @dev The asset's effective AI flags: its own, narrowed by every
         ancestor's current flags.
    @param asset_id The asset id.
    @param core The asset's packed core.
    @return uint256 The AI flag bits.
    """
    return self._effective_ai_of(asset_id, core, _F_AI)


@internal
@view
def _effective_ai_of(asset_id: uint256, core: uint256, wanted: uint256) -> uint256:
    """
    @dev The effective AI flags among `wanted`: the asset's own, narrowed
         by every ancestor's current flags.
    @param asset_id The asset id.
    @param core The asset's packed core.
    @param wanted The AI flag bits asked about.
    @return uint256 Those of them the asset and all its ancestors allow.
    """
    own: uint256 = (core >> _FLAGS_SHIFT) & wanted
    if own == 0:
        return 0
    return self._inherited_ai(self._parents(asset_id, core), own)


@internal
@view
def _inherited_ai(parents: DynArray[uint256, MAX_PARENTS], wanted: uint256) -> uint256:
    """
    @dev The AI flags among `wanted` that `parents` and all their
         ancestors allow: a depth-first walk of every path up the graph,
         which stops once nothing is left. It visits each ancestor once
         per path, so at most the ancestor count (1,024) entries. The
         stack packs four 64-bit ids to a word (8 KiB of memory, not 32).
    @param parents Where the walk starts.
    @param wanted The AI flag bits asked about.
    @return uint256 Those of them every ancestor allows.
    """
    flags: uint256 = wanted
    stack: uint256[MAX_ANCESTORS // 4] = empty(uint256[MAX_ANCESTORS // 4])
    size: uint256 = 0
    for parent: uint256 in parents:
        stack[size // 4] |= parent << (64 * (size % 4))
        size += 1
    for _: uint256 in range(MAX_ANCESTORS):
        if size == 0 or flags == 0:
            break
        size -= 1
        offset: uint256 = 64 * (size % 4)
        node: uint256 = (stack[size // 4] >> offset) & _MASK_64
        stack[size // 4] &= ~(_MASK_64 << offset)
        core: uint256 = self._core[node]
        flags &= core >> _FLAGS_SHIFT
        # Push the node's parents: the first from its core, the rest packed
        # four to a slot, as `_parents` reads them.
        count: uint256 = (core >> _NPARENTS_SHIFT) & _MASK_5
        word: uint256 = core >> _PARENT_SHIFT
        for i: uint256 in range(MAX_PARENTS):
            if i == count:
                break
            if i != 0:
                if (i - 1) % 4 == 0:
                    word = self._more_parents[node][(i - 1) // 4]
                stack[size // 4] |= ((word >> (((i - 1) % 4) * 64)) & _MASK_64) << (64 * (size % 4))
            else:
                stack[size // 4] |= word << (64 * (size % 4))
            size += 1
    return flags


@internal
@view
def _is_approved(parent_id: uint256, registrant: address) -> bool:
    """
    @dev Whether the parent's owner approved `registrant` since the asset
         last changed hands.
    @param parent_id The parent asset.
    @param registrant The would-be registrant.
    @return bool True if approved in the current owner epoch.
    """
    stored: uint256 = self._derivative_approvals[parent_id][registrant]
    # Cannot overflow: an epoch grows by one per transfer.
    return stored != 0 and stored == unsafe_add(self._owner_epochs[parent_id], 1)


@internal
@view
def _vault_of(asset_id: uint256) -> address:
    """
    @dev The CREATE2 address of the asset's royalty vault proxy, deployed
         by this registry with the asset id as salt.
    @param asset_id The asset id.
    @return address The vault's address.
    """
    digest: bytes32 = keccak256(
        concat(0xFF, convert(self, bytes20), convert(asset_id, bytes32), _VAULT_CODE_HASH)
    )
    return convert(convert(slice(digest, 12, 20), bytes20), address)


@internal
@view
def _existing_core(asset_id: uint256) -> uint256:
    """
    @dev The asset's packed core; reverts if it does not exist.
    @param asset_id The asset id.
    @return uint256 The packed core.
    """
    core: uint256 = self._core[asset_id]
    assert core != 0, "registry: unknown asset"
    return core


@internal
@view
def _uri(asset_id: uint256, record: uint256) -> String[MAX_URI]:
    """
    @dev Reads back the metadata URI stored as words.
    @param asset_id The asset id.
    @param record The asset's packed record (holds the length).
    @return String The URI.
    """
    length: uint256 = (record >> _URI_LEN_SHIFT) & _MASK_9
    words: bytes32[8] = empty(bytes32[8])
    for i: uint256 in range(8):
        if i * 32 >= length:
            break
        words[i] = self._uri_words[asset_id][i]
    return convert(slice(abi_encode(words), 0, length), String[MAX_URI])


@internal
@view
def _check_asset_owner(asset_id: uint256) -> uint256:
    """
    @dev Reverts unless the caller owns the asset.
    @param asset_id The asset id.
    @return uint256 The asset's packed core.
    """
    core: uint256 = self._existing_core(asset_id)
    assert msg.sender == self._owner_of(core), "registry: caller is not the asset owner"
    return core


@internal
@pure
def _owner_of(core: uint256) -> address:
    """
    @dev The owner field of a packed core.
    @param core The packed core.
    @return address The owner.
    """
    return convert(convert(core & _ADDRESS_MASK, uint160), address)


@internal
@view
def _expired(record: uint256) -> bool:
    """
    @dev Whether a record's terms have lapsed.
    @param record The packed record.
    @return bool True once the expiration time is reached.
    """
    expiration: uint256 = (record >> _EXPIRATION_SHIFT) & _MASK_64
    return expiration != 0 and block.timestamp >= expiration


@internal
@pure
def _ai_flags(training: bool, fine_tuning: bool, retrieval: bool, output_commercial: bool) -> uint256:
    """
    @dev Packs the four AI consent booleans.
    @param training Consent to training.
    @param fine_tuning Consent to fine-tuning.
    @param retrieval Consent to retrieval.
    @param output_commercial Consent to commercial use of outputs.
    @return uint256 The AI flag bits.
    """
    flags: uint256 = 0
    if training:
        flags |= _F_AI_TRAINING
    if fine_tuning:
        flags |= _F_AI_FINE_TUNING
    if retrieval:
        flags |= _F_AI_RETRIEVAL
    if output_commercial:
        flags |= _F_AI_OUTPUT_COMMERCIAL
    return flags


# INTERNAL: ERC-721 #


@internal
def _transfer(owner: address, to: address, token_id: uint256):
    """
    @dev Moves an asset; the caller must be its owner, approved for it,
         or an operator of the owner.
    @param owner The current owner.
    @param to The new owner.
    @param token_id The asset id.
    """
    core: uint256 = self._existing_core(token_id)
    erc721_core._move(owner, self._owner_of(core), to, token_id)
    self._core[token_id] = (core & ~_ADDRESS_MASK) | convert(to, uint256)
    # Derivative approvals of the previous owner end here. Cannot
    # overflow: an epoch grows by one per transfer.
    self._owner_epochs[token_id] = unsafe_add(self._owner_epochs[token_id], 1)
