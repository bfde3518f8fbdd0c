# pragma version ~=0.4.3
# pragma nonreentrancy off
"""
@title tantieme Interaction Ledger
@custom:contract-name interaction_ledger
@license GNU Affero General Public License v3.0 only
@notice Anchors batches of AI interaction records and settles each batch's
        fees in one transaction, against the payer's EIP-712 signature of
        the batch (`Batch` in `tantieme.ledger.records`):
        - `settle` / `settleWithPermit` (the batch's operator only) check
          the signed batch (deadline, nonce per payer and operator,
          signature, a root the operator never anchored, the split the
          payer signed is the current one), take `total` from the
          payer's prepaid deposit or allowance, and route it by that
          split: `commons_bps` of it to the commons pool (the machine
          tax), `operator_bps` to the node operator, and exactly the
          rest as one lump into the payer's pool at the router, with the
          signed Merkle root of each IP asset's cumulative amount, which
          the assets credit by proof (`RoyaltyRouter.credit`) and which
          keeps flowing upstream from there. O(1) gas: neither the
          records nor the assets cost anything on chain;
        - deposits: a payer prepays an operator by `deposit`,
          `depositWithPermit` (EIP-2612) or `depositWithAuthorization`
          (an EIP-3009 `receiveWithAuthorization` that anyone may submit,
          so an x402-style signed payment funds it), and takes it back by
          `requestWithdrawal` then, after `WITHDRAWAL_DELAY`, `withdraw`:
          settlement keeps drawing from the deposit meanwhile, so an
          operator that settles its payers' signed batches before their
          deadline is always paid;
        - `claimRecord` mints one record of a settled batch as an ERC-721
          Data Anchoring Token (DAT, id `uint256(record digest)`) to its
          payer: the ledger hashes the record itself and checks its leaf's
          Merkle proof (OpenZeppelin "standard-v1" tree) against the
          batch's root; the record's model is a registered MODEL, its
          operator the batch's, and a batch's DATs never claim more
          value or more records than it paid for;
        - `verifyRecord` checks a record's inclusion for anyone, free.
        The DAT collection is snekmate's `erc721` (enumerable; no permit);
        its EIP-712 domain ("tantieme InteractionLedger", "1") is the one
        batches and records are signed in (EIP-5267 `eip712Domain`). Rules
        and invariants: `SPEC.md`.
@custom:security Every function that moves tokens or mints is
                 `@nonreentrant` and follows checks-effects-interactions.
                 The token, registry and router are fixed at deployment and
                 trusted (tantieme's own). Only EOAs can pay: signatures are
                 checked with `ecrecover` (snekmate `ecdsa`, low-s only), no
                 EIP-1271. Per-batch amounts are bounded (total < 2**96 token
                 wei, count < 2**56 records) so an anchor packs in three
                 storage slots. Changing the split voids batches signed but
                 not yet settled (they carry the split they were signed
                 under). A deposit is earmarked for one operator (so a
                 payer cannot spend it twice across operators) and is
                 withdrawn only `WITHDRAWAL_DELAY` after a request, longer
                 than any batch deadline the SDK signs; a batch paid from
                 an allowance is paid only if the allowance still covers
                 it when it is settled.
"""


# @dev The AI token that fees are paid in.
from ethereum.ercs import IERC20


# @dev ERC-165 introspection, answered for what the ledger serves.
from ethereum.ercs import IERC165
implements: IERC165


# @dev The ERC-721 surface of the DAT collection, served by `erc721`.
from ethereum.ercs import IERC721
implements: IERC721


# @dev ERC-721 enumeration, served by `erc721`.
from snekmate.tokens.interfaces import IERC721Enumerable
implements: IERC721Enumerable


# @dev EIP-5267 `eip712Domain`, so wallets can discover the domain that
# batches and records are signed in.
from snekmate.utils.interfaces import IERC5267
implements: IERC5267


# @dev What the ledger calls on the router, and its wiring, checked once.
interface IRoyaltyRouter:
    def fund(key: bytes32, root: bytes32, amount: uint256) -> bytes32: nonpayable
    def poolId(funder: address, key: bytes32) -> bytes32: view
    def token() -> address: view
    def registry() -> address: view


# @dev The token's EIP-3009 transfer that the payee submits: how a payer's
# signed authorization becomes a deposit.
interface IEIP3009:
    def receiveWithAuthorization(
        from_: address,
        to: address,
        amount: uint256,
        valid_after: uint256,
        valid_before: uint256,
        nonce: bytes32,
        v: uint8,
        r: bytes32,
        s: bytes32,
    ): nonpayable


# @dev The renderer of a DAT's metadata JSON (`dat_metadata.vy`).
interface IDatMetadata:
    def tokenURI(ledger: address, token_id: uint256) -> String[_MAX_URI]: view


# @dev What the ledger reads from the registry: a DAT's model is a MODEL.
interface IPAssetRegistry:
    def exists(asset_id: uint256) -> bool: view
    def assetKind(asset_id: uint256) -> uint8: view


# @dev The owner (the DAO, later) sets the split and the commons pool.
from snekmate.auth import ownable
initializes: ownable


# @dev The audited ERC-721 of the DATs; it also initializes the EIP-712
# domain separator that batch and record signatures are checked in.
from snekmate.tokens import erc721
initializes: erc721[ownable := ownable]


# @dev Stateless secp256k1 recovery that rejects high-s signatures.
from snekmate.utils import ecdsa


# @dev Stateless OpenZeppelin-compatible (sorted-pair) Merkle proofs.
from snekmate.utils import merkle_proof_verification


# @dev The DAT surface of `erc721` and the owner functions of `ownable`.
# Left out: `name` (ours is longer than `erc721` stores), `safe_mint`,
# `set_minter` and `is_minter` (DATs are only minted by `claimRecord`),
# `burn` (a DAT is the lasting record of an anchored answer), `erc721`'s
# `transfer_ownership` / `renounce_ownership` (they move the unused minter
# role; `ownable`'s are exported instead), `tokenURI` (ours renders the
# DAT's metadata JSON), `supportsInterface` (it reports
# snekmate's EIP-4494 variant, ours is below) and `permit` / `nonces`:
# snekmate's NFT permit takes `(v, r, s)` where EIP-4494 takes `bytes`, and
# its nonces do not change on transfer, so a permit the owner signed and
# left unused comes back to life when the DAT returns to it. DATs have no
# permit; `DOMAIN_SEPARATOR` stays, as batches and records are signed in it.
exports: (
    erc721.balanceOf,
    erc721.ownerOf,
    erc721.approve,
    erc721.getApproved,
    erc721.setApprovalForAll,
    erc721.isApprovedForAll,
    erc721.transferFrom,
    erc721.safeTransferFrom,
    erc721.symbol,
    erc721.totalSupply,
    erc721.tokenByIndex,
    erc721.tokenOfOwnerByIndex,
    erc721.DOMAIN_SEPARATOR,
    erc721.eip712Domain,
    ownable.owner,
    ownable.transfer_ownership,
    ownable.renounce_ownership,
)


# @dev What the payer signs (EIP-712 `Batch`, field for field as
# `tantieme.ledger.records.BATCH_TYPE`); the payer is whoever signed.
struct Batch:
    # @dev Merkle root of the batch's records (non-zero).
    root: bytes32
    # @dev Number of records under the root (at least one).
    count: uint256
    # @dev The counter of this payer's batches with this operator:
    # `batchNonces(payer, operator)` when settled.
    batchNonce: uint256
    # @dev The node that served the answers and submits the batch; it
    # receives `operatorBps`.
    operator: address
    # @dev The commons pool the payer agreed to pay (`commons`).
    commons: address
    # @dev The commons pool's share the payer agreed to, in basis points.
    commonsBps: uint16
    # @dev The operator's share the payer agreed to, in basis points.
    operatorBps: uint16
    # @dev Merkle root of each IP asset's cumulative amount from this
    # payer through this operator, this batch included (leaves
    # `(uint256 asset, uint256 amount)`); non-zero if the assets get
    # anything.
    assetsRoot: bytes32
    # @dev What the payer pays in all, in token wei (non-zero).
    total: uint256
    # @dev Unix time in seconds after which the signature is void.
    deadline: uint64


# @dev One answer, as its payer signs it (EIP-712 `Interaction`, field
# for field as `tantieme.ledger.records.INTERACTION_TYPE`).
struct Interaction:
    # @dev Who paid for the answer.
    payer: address
    # @dev The node that served it.
    operator: address
    # @dev IP asset id of the model that answered.
    model: uint256
    # @dev Content hash of the prompt.
    promptHash: bytes32
    # @dev Content hash of the answer.
    outputHash: bytes32
    # @dev IP asset ids of the sources it drew on.
    sources: DynArray[uint256, MAX_SOURCES]
    # @dev Each source's share of the answer, in basis points.
    weights: DynArray[uint16, MAX_SOURCES]
    # @dev Prompt length in tokens.
    promptTokens: uint32
    # @dev Answer length in tokens.
    completionTokens: uint32
    # @dev The fee in token wei.
    fee: uint256
    # @dev Makes each of a payer's records unique.
    nonce: uint256
    # @dev Unix time in seconds of the answer.
    timestamp: uint64


# @dev A settled batch, as `batches` returns it.
struct Anchor:
    # @dev Merkle root of the batch's records.
    root: bytes32
    # @dev Who signed and paid.
    payer: address
    # @dev The node that was paid its fee.
    operator: address
    # @dev Number of records under the root, as signed.
    count: uint256
    # @dev What the payer paid in all, in token wei.
    total: uint256
    # @dev Unix time in seconds of the settlement.
    timestamp: uint64


# @dev A claimed record's DAT attributes, named after ERC-8028's (draft).
struct DatInfo:
    # @dev The DAT's class: the IP asset id of the model that answered.
    class_id: uint256
    # @dev The DAT's value: the record's fee in token wei.
    value: uint256
    # @dev The batch the record was settled in (never zero once claimed).
    batch_id: uint256


# @dev What a batch's claimed DATs add up to: at most its total and count.
struct Claimed:
    # @dev The claimed records' fees, summed, in token wei.
    value: uint256
    # @dev The number of claimed records.
    count: uint256


# @dev A requested withdrawal, as `withdrawals` returns it.
struct Withdrawal:
    # @dev What the payer asked for, in token wei (zero: none pending).
    amount: uint256
    # @dev Unix time in seconds from which `withdraw` pays it.
    ready_at: uint256


# @dev A settled batch in storage, packed in three slots (`_settle`
# writes it, `batches` and `_anchor` read it).
struct _StoredAnchor:
    # @dev Merkle root of the batch's records.
    root: bytes32
    # @dev payer (bits 0-159) | timestamp (160-199) | count (200-255).
    payer_word: uint256
    # @dev operator (bits 0-159) | total (160-255).
    operator_word: uint256


# @dev The ERC-165 interfaces the ledger serves: ERC-165, ERC-721 and its
# metadata and enumeration extensions, and ERC-4906 (events only; a DAT's
# metadata never changes). Not ERC-4494 (no permit, see `exports`).
_SUPPORTED_INTERFACES: constant(bytes4[5]) = [0x01FFC9A7, 0x80AC58CD, 0x5B5E139F, 0x780E9D63, 0x49064906]


# @dev Most sources a claimable record may cite.
MAX_SOURCES: public(constant(uint256)) = 64


# @dev Most siblings in a record's proof: trees of up to 2**32 records.
MAX_PROOF: public(constant(uint256)) = 32


# @dev Basis points in a whole.
BPS: public(constant(uint256)) = 10_000


# @dev EIP-712 type hash of `Batch`.
BATCH_TYPEHASH: public(constant(bytes32)) = keccak256(
    "Batch(bytes32 root,uint256 count,uint256 batchNonce,address operator,address commons,uint16 commonsBps,uint16 operatorBps,bytes32 assetsRoot,uint256 total,uint64 deadline)"
)


# @dev EIP-712 type hash of `Interaction`.
INTERACTION_TYPEHASH: public(constant(bytes32)) = keccak256(
    "Interaction(address payer,address operator,uint256 model,bytes32 promptHash,bytes32 outputHash,uint256[] sources,uint16[] weights,uint32 promptTokens,uint32 completionTokens,uint256 fee,uint256 nonce,uint64 timestamp)"
)


# @dev The DAT collection's name (longer than `erc721` can store).
_NAME: constant(String[29]) = "tantieme Data Anchoring Token"


# @dev The DAT collection's symbol.
_SYMBOL: constant(String[5]) = "DAT"


# @dev Longest `tokenURI`: a DAT's metadata document is about 1,000
# characters as a base64 data URI.
_MAX_URI: constant(uint256) = 2_048


# @dev The registry's kind of a model asset.
_MODEL: constant(uint8) = 2


# @dev The EIP-712 domain name and version of batches and records.
_EIP712_NAME: constant(String[26]) = "tantieme InteractionLedger"
_EIP712_VERSION: constant(String[1]) = "1"


# @dev How long a requested withdrawal waits, in seconds: two days, longer
# than the one-day deadline of the batches the SDK signs (and accepts), so
# a batch signed before a request settles before the withdrawal is ready.
WITHDRAWAL_DELAY: public(constant(uint256)) = 2 * 86_400


# @dev Exclusive bounds of the packed anchor fields.
_MAX_TOTAL: constant(uint256) = 2**96
_MAX_COUNT: constant(uint256) = 2**56


# @dev Bit offsets of the packed anchor fields.
_TIMESTAMP_SHIFT: constant(uint256) = 160
_COUNT_SHIFT: constant(uint256) = 200
_TOTAL_SHIFT: constant(uint256) = 160
_ADDRESS_MASK: constant(uint256) = 2**160 - 1
_TIMESTAMP_MASK: constant(uint256) = 2**40 - 1


# @dev The AI token.
token: public(immutable(IERC20))


# @dev The IP asset registry the router credits assets of.
registry: public(immutable(IPAssetRegistry))


# @dev The royalty router that receives the assets' part.
router: public(immutable(IRoyaltyRouter))


# @dev The renderer of each DAT's metadata JSON (`tokenURI`).
metadata: public(immutable(IDatMetadata))


# @dev The commons pool (machine tax) that receives `commons_bps`.
commons: public(address)


# @dev The commons pool's share of every batch total, in basis points.
commons_bps: public(uint16)


# @dev The operator's share of every batch total, in basis points.
operator_bps: public(uint16)


# @dev The next batch nonce of each payer with each operator (the number
# of batches that operator settled for it).
batchNonces: public(HashMap[address, HashMap[address, uint256]])


# @dev Each payer's prepaid deposit with each operator, in token wei
# (payer → operator → amount): only that operator's batches draw on it.
deposits: public(HashMap[address, HashMap[address, uint256]])


# @dev Each payer's pending withdrawal from its deposit with each operator
# (payer → operator): what it asked for and when it may take it.
withdrawals: public(HashMap[address, HashMap[address, Withdrawal]])


# @dev Number of settled batches; batch ids run from 1 to it.
batchCount: public(uint256)


# @dev The batch id of each root an operator anchored; zero if never.
batchOfRoot: public(HashMap[address, HashMap[bytes32, uint256]])


# @dev The attributes of each claimed DAT, by token id.
datInfo: public(HashMap[uint256, DatInfo])


# @dev Settled batches by id, packed.
_anchors: HashMap[uint256, _StoredAnchor]


# @dev What each batch's claimed DATs add up to.
claimed: public(HashMap[uint256, Claimed])


# @dev Emitted when a batch is settled and its root anchored.
event BatchSettled:
    batch_id: indexed(uint256)
    root: indexed(bytes32)
    payer: indexed(address)
    operator: address
    count: uint256
    total: uint256
    commons: uint256
    operator_fee: uint256
    assets_root: bytes32
    uri: String[256]


# @dev Emitted when a record of a batch is claimed as a DAT.
event RecordClaimed:
    token_id: indexed(uint256)
    batch_id: indexed(uint256)
    payer: indexed(address)
    model: uint256
    fee: uint256


# @dev Emitted when a payer prepays an operator.
event Deposited:
    payer: indexed(address)
    operator: indexed(address)
    amount: uint256


# @dev Emitted when a payer asks to take back (part of) a deposit.
event WithdrawalRequested:
    payer: indexed(address)
    operator: indexed(address)
    amount: uint256
    ready_at: uint256


# @dev Emitted when a payer takes back prepaid tokens.
event Withdrawn:
    payer: indexed(address)
    operator: indexed(address)
    amount: uint256


# @dev Emitted when the owner changes the split.
event SplitChanged:
    commons_bps: uint16
    operator_bps: uint16


# @dev Emitted when the owner changes the commons pool.
event CommonsChanged:
    previous_commons: indexed(address)
    new_commons: indexed(address)


@deploy
@payable
def __init__(
    token_: address,
    registry_: address,
    router_: address,
    commons_: address,
    commons_bps_: uint16,
    operator_bps_: uint16,
    metadata_: address,
):
    """
    @dev Fixes the token, registry and router (checking that the router
         pays in that token for that registry), sets the split, and
         approves the router for every token the ledger will route. The
         deployer becomes `owner`.
    @param token_ The AI token.
    @param registry_ The IP asset registry.
    @param router_ The royalty router.
    @param commons_ The commons pool (machine tax), non-zero.
    @param commons_bps_ The commons pool's share in basis points.
    @param operator_bps_ The operator's share in basis points; the two
           shares sum to at most 10,000.
    @param metadata_ The DAT metadata renderer (`dat_metadata.vy`).
    """
    assert token_ != empty(address), "ledger: token is the zero address"
    assert registry_ != empty(address), "ledger: registry is the zero address"
    assert metadata_ != empty(address), "ledger: metadata renderer is the zero address"
    assert staticcall IRoyaltyRouter(router_).token() == token_, "ledger: router pays in another token"
    assert staticcall IRoyaltyRouter(router_).registry() == registry_, "ledger: router serves another registry"
    token = IERC20(token_)
    registry = IPAssetRegistry(registry_)
    router = IRoyaltyRouter(router_)
    metadata = IDatMetadata(metadata_)

    ownable.__init__()
    # The ERC-721 name is ours (`name`); the module keeps an empty one.
    erc721.__init__("", _SYMBOL, "", _EIP712_NAME, _EIP712_VERSION)

    self._set_commons(commons_)
    self._set_split(commons_bps_, operator_bps_)

    # The router pulls the assets' part from the ledger; the token does
    # not spend a maximal allowance, so this is the only approval.
    assert extcall token.approve(router_, max_value(uint256), default_return_value=True), "ledger: approve failed"


# SETTLING #


@external
@nonreentrant
def settle(batch: Batch, payer: address, v: uint8, r: bytes32, s: bytes32, uri: String[256]) -> uint256:
    """
    @dev Settles a batch signed by `payer`: anchors its root and pays
         `batch.total` from the payer's deposit if it covers it, else from
         the payer's allowance to the ledger: the commons pool and the
         operator get the split the payer signed (which must be the
         current one), the assets the rest, into the payer's pool with
         this operator at the router under `batch.assetsRoot`. Only the
         batch's operator may submit it (so the payer cannot cancel it
         by settling another batch first; `uri` is not signed).
    @param batch The batch, as the payer signed it (EIP-712 `Batch`).
    @param payer The payer, who signed the batch.
    @param v The secp256k1 signature parameter `v` (27 or 28).
    @param r The secp256k1 signature parameter `r`.
    @param s The secp256k1 signature parameter `s` (low half only).
    @param uri Where the batch's records and tree are published (logged
           only, at most 256 characters).
    @return uint256 The batch id (from 1).
    """
    return self._settle(batch, payer, v, r, s, uri)


@external
@nonreentrant
def settleWithPermit(
    batch: Batch,
    payer: address,
    v: uint8,
    r: bytes32,
    s: bytes32,
    uri: String[256],
    permit_value: uint256,
    permit_deadline: uint256,
    pv: uint8,
    pr: bytes32,
    ps: bytes32,
) -> uint256:
    """
    @dev `settle`, after the payer's EIP-2612 permit of the ledger, in
         one transaction. A failed permit (already used, front-run,
         expired) is tolerated if the deposit or the allowance still
         covers the batch total.
    @param batch The batch, as the payer signed it (EIP-712 `Batch`).
    @param payer The payer, who signed the batch and the permit.
    @param v The batch signature parameter `v` (27 or 28).
    @param r The batch signature parameter `r`.
    @param s The batch signature parameter `s` (low half only).
    @param uri Where the batch's records and tree are published (logged
           only, at most 256 characters).
    @param permit_value The allowance the permit grants the ledger, in
           token wei.
    @param permit_deadline Unix time in seconds until which the permit
           is valid.
    @param pv The permit signature parameter `v`.
    @param pr The permit signature parameter `r`.
    @param ps The permit signature parameter `s`.
    @return uint256 The batch id (from 1).
    """
    permitted: bool = raw_call(
        token.address,
        abi_encode(
            payer,
            self,
            permit_value,
            permit_deadline,
            pv,
            pr,
            ps,
            method_id=method_id("permit(address,address,uint256,uint256,uint8,bytes32,bytes32)"),
        ),
        revert_on_failure=False,
    )
    if not permitted:
        assert (
            self.deposits[payer][batch.operator] >= batch.total or staticcall token.allowance(payer, self) >= batch.total
        ), "ledger: permit failed and allowance is too low"
    return self._settle(batch, payer, v, r, s, uri)


# DEPOSITS #


@external
@nonreentrant
def deposit(operator: address, amount: uint256):
    """
    @dev Prepays `amount` for the caller's batches with `operator`; pulls
         it from the caller, who approved the ledger.
    @param operator The operator whose batches may draw on it, non-zero.
    @param amount The amount in token wei, non-zero.
    """
    self._deposit(msg.sender, operator, amount)
    self._pull(msg.sender, amount)


@external
@nonreentrant
def depositWithPermit(operator: address, amount: uint256, deadline: uint256, v: uint8, r: bytes32, s: bytes32):
    """
    @dev `deposit`, after the caller's EIP-2612 permit of the ledger for
         `amount`, in one transaction. A failed permit (already used,
         front-run) is tolerated if the allowance still covers `amount`.
    @param operator The operator whose batches may draw on it, non-zero.
    @param amount The amount in token wei, non-zero; the permit's value.
    @param deadline Unix time in seconds until which the permit is valid.
    @param v The permit signature parameter `v`.
    @param r The permit signature parameter `r`.
    @param s The permit signature parameter `s`.
    """
    permitted: bool = raw_call(
        token.address,
        abi_encode(
            msg.sender,
            self,
            amount,
            deadline,
            v,
            r,
            s,
            method_id=method_id("permit(address,address,uint256,uint256,uint8,bytes32,bytes32)"),
        ),
        revert_on_failure=False,
    )
    if not permitted:
        assert staticcall token.allowance(msg.sender, self) >= amount, "ledger: permit failed and allowance is too low"
    self._deposit(msg.sender, operator, amount)
    self._pull(msg.sender, amount)


@external
@nonreentrant
def depositWithAuthorization(
    payer: address,
    operator: address,
    amount: uint256,
    valid_after: uint256,
    valid_before: uint256,
    salt: bytes32,
    v: uint8,
    r: bytes32,
    s: bytes32,
):
    """
    @dev Deposits `amount` for `payer` with `operator` by the payer's
         EIP-3009 `ReceiveWithAuthorization` to the ledger, which anyone
         may submit (the payer needs no gas). The authorization's nonce is
         `keccak256(abi.encode(operator, salt))`, so the signature names
         the operator and nobody can earmark the tokens for another.
    @param payer The payer, who signed the authorization.
    @param operator The operator whose batches may draw on it, non-zero.
    @param amount The amount in token wei, non-zero.
    @param valid_after Unix time in seconds after which it is valid.
    @param valid_before Unix time in seconds before which it is valid.
    @param salt The payer's 32 bytes that make the nonce unique.
    @param v The signature parameter `v` (27 or 28).
    @param r The signature parameter `r`.
    @param s The signature parameter `s` (low half only).
    """
    self._deposit(payer, operator, amount)
    extcall IEIP3009(token.address).receiveWithAuthorization(
        payer, self, amount, valid_after, valid_before, keccak256(abi_encode(operator, salt)), v, r, s
    )


@external
def requestWithdrawal(operator: address, amount: uint256):
    """
    @dev Asks to take back `amount` of the caller's deposit with
         `operator`; `withdraw` pays it from `WITHDRAWAL_DELAY` seconds
         on. A new request replaces a pending one and restarts the delay.
         The operator's batches keep drawing on the deposit meanwhile.
    @param operator The operator the deposit is for.
    @param amount The amount in token wei, non-zero, at most the deposit.
    """
    assert amount != 0, "ledger: zero amount"
    assert self.deposits[msg.sender][operator] >= amount, "ledger: deposit too low"
    ready_at: uint256 = block.timestamp + WITHDRAWAL_DELAY
    self.withdrawals[msg.sender][operator] = Withdrawal(amount=amount, ready_at=ready_at)
    log WithdrawalRequested(payer=msg.sender, operator=operator, amount=amount, ready_at=ready_at)


@external
@nonreentrant
def withdraw(operator: address) -> uint256:
    """
    @dev Sends the caller its requested withdrawal from its deposit with
         `operator`, once the delay has passed: what it asked for, or
         what settlements left of the deposit if that is less.
    @param operator The operator the deposit is for.
    @return uint256 The amount sent, in token wei.
    """
    request: Withdrawal = self.withdrawals[msg.sender][operator]
    assert request.amount != 0, "ledger: no withdrawal requested"
    assert block.timestamp >= request.ready_at, "ledger: withdrawal not ready"
    balance: uint256 = self.deposits[msg.sender][operator]
    amount: uint256 = min(request.amount, balance)
    # Cannot underflow: `amount` is at most `balance`.
    self.deposits[msg.sender][operator] = unsafe_sub(balance, amount)
    self.withdrawals[msg.sender][operator] = empty(Withdrawal)
    log Withdrawn(payer=msg.sender, operator=operator, amount=amount)
    self._push(msg.sender, amount)
    return amount


# DATA ANCHORING TOKENS #


@external
@nonreentrant
def claimRecord(batch_id: uint256, record: Interaction, proof: DynArray[bytes32, MAX_PROOF]) -> uint256:
    """
    @dev Mints a record settled in batch `batch_id` as a DAT to its payer,
         who must be the caller and the batch's payer. The contract hashes
         the record itself (EIP-712 `Interaction` in this ledger's domain),
         so a digest can only be claimed through a record naming its own
         payer and the batch's operator; the leaf (digest, payer, model,
         fee) must be in the batch's tree, the model a registered MODEL
         asset. Each record is claimed once, and a batch's DATs add up to
         at most its total and its record count: a DAT proves a payment.
    @param batch_id The batch the record was settled in.
    @param record The record, as the payer signed it (EIP-712
           `Interaction`, `tantieme.ledger.records.InteractionRecord`).
    @param proof The sibling hashes from the record's leaf up to the root.
    @return uint256 The DAT's token id: `uint256(record digest)`.
    """
    anchor: Anchor = self._anchor(batch_id)
    assert anchor.root != empty(bytes32), "ledger: unknown batch"
    assert msg.sender == anchor.payer, "ledger: caller is not the payer"
    assert record.payer == anchor.payer, "ledger: record of another payer"
    assert record.operator == anchor.operator, "ledger: record of another operator"
    digest: bytes32 = self._record_digest(record)
    token_id: uint256 = convert(digest, uint256)
    assert self.datInfo[token_id].batch_id == 0, "ledger: record already claimed"
    assert merkle_proof_verification._verify(
        proof, anchor.root, self._record_leaf(digest, anchor.payer, record.model, record.fee)
    ), "ledger: invalid proof"
    assert (
        staticcall registry.exists(record.model) and staticcall registry.assetKind(record.model) == _MODEL
    ), "ledger: model is not a registered model"
    claimed: Claimed = self.claimed[batch_id]
    claimed.value += record.fee
    claimed.count += 1
    assert claimed.value <= anchor.total, "ledger: claims exceed the batch total"
    assert claimed.count <= anchor.count, "ledger: claims exceed the batch count"
    self.claimed[batch_id] = claimed

    self.datInfo[token_id] = DatInfo(class_id=record.model, value=record.fee, batch_id=batch_id)
    log RecordClaimed(token_id=token_id, batch_id=batch_id, payer=anchor.payer, model=record.model, fee=record.fee)
    erc721._safe_mint(anchor.payer, token_id, b"")
    return token_id


# OWNER #


@external
def setSplit(commons_bps: uint16, operator_bps: uint16):
    """
    @dev Sets the commons pool's and the operator's shares of every batch
         total; the assets get the rest. Owner only. Batches signed under
         the previous split no longer settle.
    @param commons_bps The commons pool's share in basis points.
    @param operator_bps The operator's share in basis points; the two
           sum to at most 10,000.
    """
    ownable._check_owner()
    self._set_split(commons_bps, operator_bps)


@external
def setCommons(commons: address):
    """
    @dev Sets the commons pool that receives `commons_bps`. Owner only.
         Batches signed for the previous pool no longer settle.
    @param commons The new commons pool, non-zero.
    """
    ownable._check_owner()
    self._set_commons(commons)


# VIEWS #


@external
@view
def split(total: uint256) -> (uint256, uint256, uint256):
    """
    @dev The split of a batch total under the current shares: what
         `settle` requires, for the off-chain side to compute alike.
    @param total The batch total in token wei.
    @return uint256 The commons pool's part, `total * commons_bps // 10,000`.
    @return uint256 The operator's part, `total * operator_bps // 10,000`.
    @return uint256 The assets' part: the rest, rounding dust included.
    """
    return self._split(total)


@external
@view
def batches(batch_id: uint256) -> Anchor:
    """
    @dev A settled batch; all zero for an unknown id.
    @param batch_id The batch id (from 1).
    @return Anchor The root, payer, operator, record count, total (token
            wei) and settlement time (unix seconds).
    """
    return self._anchor(batch_id)


@external
@view
def batchDigest(batch: Batch) -> bytes32:
    """
    @dev The EIP-712 digest of `batch` in this ledger's domain: what its
         payer signs.
    @param batch The batch.
    @return bytes32 The 32-byte digest.
    """
    return self._batch_digest(batch)


@external
@view
def recordDigest(record: Interaction) -> bytes32:
    """
    @dev The EIP-712 digest of `record` in this ledger's domain: what its
         payer signs, and its DAT's token id.
    @param record The record.
    @return bytes32 The 32-byte digest.
    """
    return self._record_digest(record)


@external
@view
def verifyRecord(
    batch_id: uint256, digest: bytes32, model: uint256, fee: uint256, proof: DynArray[bytes32, MAX_PROOF]
) -> bool:
    """
    @dev Whether the record (digest, the batch's payer, model, fee) is in
         batch `batch_id`'s tree; false for an unknown batch.
    @param batch_id The batch id.
    @param digest The record's EIP-712 digest.
    @param model The IP asset id of the model that answered.
    @param fee The record's fee in token wei.
    @param proof The sibling hashes from the leaf up to the root.
    @return bool True if the proof rebuilds the batch's root.
    """
    anchor: Anchor = self._anchor(batch_id)
    if anchor.root == empty(bytes32):
        return False
    return merkle_proof_verification._verify(proof, anchor.root, self._record_leaf(digest, anchor.payer, model, fee))


@external
@view
def assetPool(payer: address, operator: address) -> bytes32:
    """
    @dev The router pool that a payer's batches with an operator pay the
         assets' part into: `router.credit` takes it.
    @param payer The payer.
    @param operator The operator.
    @return bytes32 The pool id at the router.
    """
    return staticcall router.poolId(self, self._pool_key(payer, operator))


@external
@pure
def recordLeaf(digest: bytes32, payer: address, model: uint256, fee: uint256) -> bytes32:
    """
    @dev A record's Merkle leaf, as the off-chain tree hashes it:
         `keccak256(keccak256(abi.encode(digest, payer, model, fee)))`.
    @param digest The record's EIP-712 digest.
    @param payer The record's payer.
    @param model The IP asset id of the model that answered.
    @param fee The record's fee in token wei.
    @return bytes32 The 32-byte leaf hash.
    """
    return self._record_leaf(digest, payer, model, fee)


@external
@view
def tokenURI(token_id: uint256) -> String[_MAX_URI]:
    """
    @dev ERC-721 metadata of a DAT: a `data:application/json;base64,` URI
         of its record digest, model, fee, batch, payer and operator
         (rendered by `metadata`).
    @param token_id The DAT's id.
    @return String The data URI.
    """
    assert self.datInfo[token_id].batch_id != 0, "ledger: unknown DAT"
    return staticcall metadata.tokenURI(self, token_id)


@external
@view
def supportsInterface(interface_id: bytes4) -> bool:
    """
    @dev ERC-165: whether the ledger serves `interface_id`.
    @param interface_id The 4-byte interface identifier.
    @return bool True for ERC-165, ERC-721 (with metadata and
            enumeration) and ERC-4906.
    """
    return interface_id in _SUPPORTED_INTERFACES


@external
@pure
def name() -> String[29]:
    """
    @dev The DAT collection's name.
    @return String The name.
    """
    return _NAME


# INTERNAL #


@internal
def _settle(batch: Batch, payer: address, v: uint8, r: bytes32, s: bytes32, uri: String[256]) -> uint256:
    """
    @dev Checks the batch and its signature, anchors it, then moves the
         tokens: in from the deposit or the allowance, out to the commons
         pool, the operator and the router.
    @param batch The signed batch.
    @param payer The payer.
    @param v The signature parameter `v`.
    @param r The signature parameter `r`.
    @param s The signature parameter `s`.
    @param uri Where the batch is published (logged only).
    @return uint256 The batch id.
    """
    assert block.timestamp <= convert(batch.deadline, uint256), "ledger: batch deadline passed"
    assert msg.sender == batch.operator, "ledger: caller is not the operator"
    nonce: uint256 = self.batchNonces[payer][msg.sender]
    assert batch.batchNonce == nonce, "ledger: wrong batch nonce"
    assert batch.root != empty(bytes32), "ledger: empty root"
    assert self.batchOfRoot[msg.sender][batch.root] == 0, "ledger: root already anchored"
    assert batch.count != 0, "ledger: empty batch"
    assert batch.count < _MAX_COUNT, "ledger: count too large"
    assert batch.total != 0, "ledger: zero total"
    assert batch.total < _MAX_TOTAL, "ledger: total too large"
    assert batch.commons == self.commons, "ledger: commons is not the current one"
    assert (
        batch.commonsBps == self.commons_bps and batch.operatorBps == self.operator_bps
    ), "ledger: split is not the current one"

    commons_fee: uint256 = 0
    operator_fee: uint256 = 0
    to_assets: uint256 = 0
    commons_fee, operator_fee, to_assets = self._split(batch.total)
    assert to_assets == 0 or batch.assetsRoot != empty(bytes32), "ledger: empty assets root"

    digest: bytes32 = self._batch_digest(batch)
    assert ecdsa._recover_vrs(
        digest, convert(v, uint256), convert(r, uint256), convert(s, uint256)
    ) == payer, "ledger: invalid signature"

    # Anchor.
    self.batchNonces[payer][msg.sender] = nonce + 1
    batch_id: uint256 = self.batchCount + 1
    self.batchCount = batch_id
    self.batchOfRoot[msg.sender][batch.root] = batch_id
    self._anchors[batch_id] = _StoredAnchor(
        root=batch.root,
        # The timestamp fits in 40 bits until the year 36812.
        payer_word=convert(payer, uint256) | (block.timestamp << _TIMESTAMP_SHIFT) | (batch.count << _COUNT_SHIFT),
        operator_word=convert(batch.operator, uint256) | (batch.total << _TOTAL_SHIFT),
    )

    # Fund: the deposit if it covers the total, else the allowance.
    balance: uint256 = self.deposits[payer][msg.sender]
    if balance >= batch.total:
        # Cannot underflow: checked just above.
        self.deposits[payer][msg.sender] = unsafe_sub(balance, batch.total)
    else:
        self._pull(payer, batch.total)

    log BatchSettled(
        batch_id=batch_id,
        root=batch.root,
        payer=payer,
        operator=batch.operator,
        count=batch.count,
        total=batch.total,
        commons=commons_fee,
        operator_fee=operator_fee,
        assets_root=batch.assetsRoot,
        uri=uri,
    )

    # Route.
    self._push(batch.commons, commons_fee)
    self._push(batch.operator, operator_fee)
    if to_assets != 0:
        extcall router.fund(self._pool_key(payer, batch.operator), batch.assetsRoot, to_assets)
    return batch_id


@internal
@view
def _split(total: uint256) -> (uint256, uint256, uint256):
    """
    @dev Splits `total` into the commons pool's, the operator's and the
         assets' parts; the parts sum to `total` exactly.
    @param total The amount in token wei.
    @return uint256 The commons pool's part (rounded down).
    @return uint256 The operator's part (rounded down).
    @return uint256 The assets' part (the rest).
    """
    commons_fee: uint256 = self._bps_of(total, convert(self.commons_bps, uint256))
    operator_fee: uint256 = self._bps_of(total, convert(self.operator_bps, uint256))
    # Cannot underflow: the two shares sum to at most 10,000 bps.
    return commons_fee, operator_fee, unsafe_sub(unsafe_sub(total, commons_fee), operator_fee)


@internal
@pure
def _bps_of(amount: uint256, bps: uint256) -> uint256:
    """
    @dev `floor(amount * bps / 10,000)` exactly, without overflow.
    @param amount The amount in token wei.
    @param bps The share in basis points (at most 10,000).
    @return uint256 The share in token wei.
    """
    return (amount // BPS) * bps + (amount % BPS) * bps // BPS


@internal
@view
def _batch_digest(batch: Batch) -> bytes32:
    """
    @dev `hashTypedDataV4(hashStruct(batch))` in this ledger's domain.
    @param batch The batch.
    @return bytes32 The 32-byte EIP-712 digest.
    """
    struct_hash: bytes32 = keccak256(
        abi_encode(
            BATCH_TYPEHASH,
            batch.root,
            batch.count,
            batch.batchNonce,
            batch.operator,
            batch.commons,
            batch.commonsBps,
            batch.operatorBps,
            batch.assetsRoot,
            batch.total,
            batch.deadline,
        )
    )
    return erc721.eip712_domain_separator._hash_typed_data_v4(struct_hash)


@internal
@view
def _record_digest(record: Interaction) -> bytes32:
    """
    @dev `hashTypedDataV4(hashStruct(record))` in this ledger's domain.
    @param record The record.
    @return bytes32 The 32-byte EIP-712 digest.
    """
    struct_hash: bytes32 = keccak256(
        abi_encode(
            INTERACTION_TYPEHASH,
            record.payer,
            record.operator,
            record.model,
            record.promptHash,
            record.outputHash,
            self._sources_hash(record.sources),
            self._weights_hash(record.weights),
            record.promptTokens,
            record.completionTokens,
            record.fee,
            record.nonce,
            record.timestamp,
        )
    )
    return erc721.eip712_domain_separator._hash_typed_data_v4(struct_hash)


@internal
@pure
def _sources_hash(values: DynArray[uint256, MAX_SOURCES]) -> bytes32:
    """
    @dev EIP-712 encoding of a record's `uint256[] sources`: keccak256
         of its items' 32-byte words, concatenated.
    @param values The array.
    @return bytes32 The 32-byte hash.
    """
    # `abi_encode` gives the tuple head (one offset word), the length
    # word, then the items: hash the items only.
    encoded: Bytes[32 * (MAX_SOURCES + 2)] = abi_encode(values)
    return keccak256(slice(encoded, 64, 32 * len(values)))


@internal
@pure
def _weights_hash(values: DynArray[uint16, MAX_SOURCES]) -> bytes32:
    """
    @dev EIP-712 encoding of a record's `uint16[] weights`: each item
         takes a whole 32-byte word, as in the ABI.
    @param values The array.
    @return bytes32 The 32-byte hash.
    """
    encoded: Bytes[32 * (MAX_SOURCES + 2)] = abi_encode(values)
    return keccak256(slice(encoded, 64, 32 * len(values)))


@internal
@pure
def _record_leaf(digest: bytes32, payer: address, model: uint256, fee: uint256) -> bytes32:
    """
    @dev A record's leaf in an OpenZeppelin "standard-v1" tree of
         ("bytes32", "address", "uint256", "uint256") values.
    @param digest The record's EIP-712 digest.
    @param payer The record's payer.
    @param model The model's IP asset id.
    @param fee The fee in token wei.
    @return bytes32 The 32-byte leaf hash.
    """
    return keccak256(keccak256(abi_encode(digest, payer, model, fee)))


@internal
@view
def _anchor(batch_id: uint256) -> Anchor:
    """
    @dev A settled batch, unpacked; all zero for an unknown id.
    @param batch_id The batch id.
    @return Anchor The batch.
    """
    stored: _StoredAnchor = self._anchors[batch_id]
    return Anchor(
        root=stored.root,
        payer=convert(stored.payer_word & _ADDRESS_MASK, address),
        operator=convert(stored.operator_word & _ADDRESS_MASK, address),
        count=stored.payer_word >> _COUNT_SHIFT,
        total=stored.operator_word >> _TOTAL_SHIFT,
        timestamp=convert((stored.payer_word >> _TIMESTAMP_SHIFT) & _TIMESTAMP_MASK, uint64),
    )


@internal
@pure
def _pool_key(payer: address, operator: address) -> bytes32:
    """
    @dev The ledger's key of a payer's router pool with an operator.
    @param payer The payer.
    @param operator The operator.
    @return bytes32 `keccak256(abi_encode(payer, operator))`.
    """
    return keccak256(abi_encode(payer, operator))


@internal
def _set_split(commons_bps: uint16, operator_bps: uint16):
    """
    @dev Sets the two shares, checking they fit in a whole.
    @param commons_bps The commons pool's share in basis points.
    @param operator_bps The operator's share in basis points.
    """
    assert convert(commons_bps, uint256) + convert(operator_bps, uint256) <= BPS, "ledger: split exceeds 10,000 bps"
    self.commons_bps = commons_bps
    self.operator_bps = operator_bps
    log SplitChanged(commons_bps=commons_bps, operator_bps=operator_bps)


@internal
def _set_commons(commons: address):
    """
    @dev Sets the commons pool.
    @param commons The commons pool, non-zero.
    """
    assert commons != empty(address), "ledger: commons is the zero address"
    log CommonsChanged(previous_commons=self.commons, new_commons=commons)
    self.commons = commons


@internal
def _deposit(payer: address, operator: address, amount: uint256):
    """
    @dev Credits `amount` to `payer`'s deposit with `operator` (the
         caller then brings the tokens in).
    @param payer The payer.
    @param operator The operator, non-zero.
    @param amount The amount in token wei, non-zero.
    """
    assert amount != 0, "ledger: zero amount"
    assert operator != empty(address), "ledger: operator is the zero address"
    self.deposits[payer][operator] += amount
    log Deposited(payer=payer, operator=operator, amount=amount)


@internal
def _pull(payer: address, amount: uint256):
    """
    @dev Pulls tokens from `payer` into the ledger.
    @param payer The payer, who approved the ledger.
    @param amount The amount in token wei.
    """
    assert extcall token.transferFrom(payer, self, amount, default_return_value=True), "ledger: transfer failed"


@internal
def _push(to: address, amount: uint256):
    """
    @dev Sends tokens out of the ledger, if any.
    @param to The receiver.
    @param amount The amount in token wei.
    """
    if amount != 0:
        assert extcall token.transfer(to, amount, default_return_value=True), "ledger: transfer failed"
