"""Interaction records (Data Anchoring Tokens) and batches, as EIP-712 structs.

Every answer becomes an `InteractionRecord` that the payer signs; a batch of a
payer's records is rolled into a Merkle tree whose root the payer signs as a
`Batch`, and the `InteractionLedger` contract settles the batch's fees in one
transaction against that signature. The batch also carries the split the payer
agrees to (commons pool, its share and the operator's) and the root of the
payer's *asset tree*: what each IP asset is owed from this payer through this
operator, cumulatively, this batch included. Both structs share one EIP-712
domain:

    EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)
    name = "tantieme InteractionLedger", version = "1",
    chainId = the chain's id, verifyingContract = the InteractionLedger's address

The type strings below are what the contract hashes; keep them byte-identical
(no spaces after commas, fields in this order). Arrays are encoded as EIP-712
says: keccak256 of the concatenated 32-byte words of their items.

**Merkle leaf of a record** (`RECORD_LEAF_ENCODING`), in a tree built by
`tantieme.ledger.merkle` (OpenZeppelin "standard-v1"):

    leaf = keccak256(bytes.concat(keccak256(abi.encode(
        bytes32 digest, address payer, uint256 model, uint256 fee))))

where `digest` is the record's EIP-712 digest (the hash the payer signed). The
leaf binds the record (through its digest, which also binds the chain and the
ledger) and exposes what the contract needs without the full record: who paid,
which model answered, and the fee. Whoever claims the record as an ERC-721 DAT
gives (digest, payer, model, fee) and a proof; the contract rebuilds the leaf,
checks the proof against the batch's root, and mints token id `uint256(digest)`.

**Asset tree** (`ASSET_LEAF_ENCODING`): one leaf per IP asset,

    leaf = keccak256(bytes.concat(keccak256(abi.encode(uint256 asset, uint256 amount))))

where `amount` is the asset's cumulative amount in token wei. Settling pays the
assets' part as one lump into the payer's pool at the `RoyaltyRouter`, whose
root the batch's `assetsRoot` becomes; each asset credits the increase since
its last credit by proof (`RoyaltyRouter.credit`), so one proof covers any
number of batches.

Serialisation (`to_json`/`from_json`) is canonical: sorted keys, no spaces,
EIP-712 field names, checksummed addresses, `0x` lowercase hex for bytes,
integers that may exceed 2**53 (uint64, uint256) as decimal strings and the
others (uint16, uint32) as JSON numbers, so JavaScript reads them exactly.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from eth_utils import is_checksum_address, to_checksum_address

from tantieme.addresses import ZERO_ADDRESS
from tantieme.errors import LedgerError
from tantieme.ledger.merkle import StandardMerkleTree, checksum_address, keccak, root_of_leaf_hashes, standard_leaf_hash

if TYPE_CHECKING:
    from eth_account.messages import SignableMessage

MAX_BPS = 10_000
"""Basis points in a whole: source weights sum to at most this."""

DOMAIN_NAME = "tantieme InteractionLedger"
DOMAIN_VERSION = "1"

DOMAIN_TYPE = "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
INTERACTION_TYPE = (
    "Interaction(address payer,address operator,uint256 model,bytes32 promptHash,"
    "bytes32 outputHash,uint256[] sources,uint16[] weights,uint32 promptTokens,"
    "uint32 completionTokens,uint256 fee,uint256 nonce,uint64 timestamp)"
)
BATCH_TYPE = (
    "Batch(bytes32 root,uint256 count,uint256 batchNonce,address operator,address commons,"
    "uint16 commonsBps,uint16 operatorBps,bytes32 assetsRoot,uint256 total,uint64 deadline)"
)

# keccak256 of the type strings (the tests pin these values, for the contract):
# 0x8b73c3c69bb8fe3d512ecc4cf759cc79239f7b179b0ffacaa9a75d522b39400f
DOMAIN_TYPEHASH = keccak(DOMAIN_TYPE.encode())
# 0x75cb0513988be613703ef5dbd0193eba8f17a150c2b3e800ce5232ddd05f25c7
INTERACTION_TYPEHASH = keccak(INTERACTION_TYPE.encode())
# 0xb06a003feccd155347aada72e9c352ed1ce35038ae3392828511b6733f2bd464
BATCH_TYPEHASH = keccak(BATCH_TYPE.encode())

RECORD_LEAF_ENCODING = ("bytes32", "address", "uint256", "uint256")
"""A record's Merkle leaf: (EIP-712 digest, payer, model, fee)."""

ASSET_LEAF_ENCODING = ("uint256", "uint256")
"""An asset tree's Merkle leaf: (IP asset id, cumulative amount in token wei)."""

# secp256k1's group order over 2: signatures with a larger s are the malleable
# twin of a valid one, and the contract's ecrecover wrapper refuses them.
_HALF_CURVE_ORDER = 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0


# -- field checks -------------------------------------------------------------


def _uint(value: Any, bits: int, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise LedgerError(f"{what} must be an integer, got {value!r}")
    if not 0 <= value < 2**bits:
        raise LedgerError(f"{what} must fit in uint{bits} (0 ≤ x < 2**{bits}), got {value}")
    return value


def _uints(values: Any, bits: int, what: str) -> tuple[int, ...]:
    if isinstance(values, str | bytes) or not isinstance(values, Iterable):
        raise LedgerError(f"{what} must be a list of integers, got {values!r}")
    return tuple(_uint(v, bits, f"{what}[{i}]") for i, v in enumerate(values))


def _address(value: Any, what: str, *, nonzero: bool = True) -> str:
    if isinstance(value, bytes | bytearray) and len(value) == 20:
        value = "0x" + bytes(value).hex()
    if isinstance(value, str) and value in _CHECKSUMMED:  # the common case: a known good address
        return value
    if not isinstance(value, str) or len(value) != 42 or value[:2] != "0x":
        raise LedgerError(f"{what} must be a 0x-prefixed 20-byte address, got {value!r}")
    try:
        int(value[2:], 16)
    except ValueError:
        raise LedgerError(f"{what} must be hex, got {value!r}") from None
    body = value[2:]
    if body != body.lower() and body != body.upper() and not is_checksum_address(value):
        raise LedgerError(f"{what} has a wrong EIP-55 checksum (a typo?): {value}")
    address = to_checksum_address(value)
    if nonzero and address == ZERO_ADDRESS:
        raise LedgerError(f"{what} must not be the zero address")
    if len(_CHECKSUMMED) < 4096:
        _CHECKSUMMED.add(address)
    return address


# Checksummed, non-zero addresses already validated (checksumming is slow).
_CHECKSUMMED: set[str] = set()


def _bytes32(value: Any, what: str) -> bytes:
    if isinstance(value, str):
        text = value[2:] if value[:2] == "0x" else None
        try:
            value = bytes.fromhex(text) if text is not None else None
        except ValueError:
            value = None
        if value is None:
            raise LedgerError(f"{what} must be 0x-prefixed hex of 32 bytes")
    if not isinstance(value, bytes | bytearray) or len(value) != 32:
        raise LedgerError(f"{what} must be 32 bytes, got {value!r}")
    return bytes(value)


def _signature(value: Any) -> bytes:
    if isinstance(value, str):
        try:
            value = bytes.fromhex(value[2:] if value[:2] == "0x" else value)
        except ValueError:
            raise LedgerError("signature must be hex") from None
    if not isinstance(value, bytes | bytearray) or len(value) != 65:
        raise LedgerError("signature must be 65 bytes (r ‖ s ‖ v)")
    value = bytes(value)
    if value[64] not in (27, 28):
        raise LedgerError(f"signature v must be 27 or 28, got {value[64]}")
    s = int.from_bytes(value[32:64], "big")
    if not 0 < s <= _HALF_CURVE_ORDER:
        raise LedgerError("signature s is not in the lower half of the curve order (malleable)")
    return value


def _word(value: int) -> bytes:
    return value.to_bytes(32, "big")


def _address_word(address: str) -> bytes:
    return bytes(12) + bytes.fromhex(address[2:])


def _array_hash(values: Sequence[int]) -> bytes:
    """EIP-712 encoding of a uint array: keccak256 of its items' 32-byte words."""
    return keccak(b"".join(_word(v) for v in values))


def _hex(data: bytes) -> str:
    return "0x" + data.hex()


def _json_object(data: Mapping[str, Any] | str | bytes, what: str) -> Mapping[str, Any]:
    if isinstance(data, str | bytes):
        try:
            data = json.loads(data)
        except ValueError as e:
            raise LedgerError(f"{what} is not JSON: {e}") from None
    if not isinstance(data, Mapping):
        raise LedgerError(f"{what} must be a JSON object")
    return data


def _json_uint(value: Any, what: str) -> int:
    """An integer from JSON: a number, or a decimal string (canonical for wide ints)."""
    if isinstance(value, str) and value.isdigit() and value.isascii():
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise LedgerError(f"{what} must be an integer or a decimal string, got {value!r}")


def _canonical_json(data: Mapping[str, Any]) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _check_keys(data: Mapping[str, Any], expected: Iterable[str], what: str) -> None:
    expected = set(expected)
    missing, unknown = expected - data.keys(), data.keys() - expected
    if missing or unknown:
        raise LedgerError(
            f"{what}: missing fields {sorted(missing)}, unknown fields {sorted(unknown)}"
        )


def _signable(domain: Domain, struct_hash: bytes) -> SignableMessage:
    # EIP-712 as an EIP-191 version 0x01 message: 0x19 ‖ 0x01 ‖ domain ‖ struct.
    # eth_account loads here, on signing or recovering: reading records needs none of it.
    from eth_account.messages import SignableMessage

    return SignableMessage(version=b"\x01", header=domain.separator, body=struct_hash)


def _sign(account: Any, domain: Domain, struct_hash: bytes) -> bytes:
    """A 65-byte signature by `account` (a LocalAccount or a private key)."""
    if isinstance(account, str | bytes):
        account = _from_key(account)
    signed = account.sign_message(_signable(domain, struct_hash))
    return bytes(signed.signature)


def _recover(domain: Domain, struct_hash: bytes, signature: bytes | str) -> str:
    return _recover_digest(keccak(b"\x19\x01" + domain.separator + struct_hash), signature)


def _recover_digest(digest: bytes, signature: bytes | str) -> str:
    # secp256k1 recovery by coincurve (what eth_account uses too, minus its overhead:
    # a node checks two signatures per deposit-mode answer).
    from coincurve import PublicKey

    signature = _signature(signature)
    try:
        public = PublicKey.from_signature_and_message(
            signature[:64] + bytes([signature[64] - 27]), digest, hasher=None
        )
    except ValueError:
        raise LedgerError("signature does not recover to any key") from None
    return checksum_address(keccak(public.format(compressed=False)[1:])[-20:])


def _signer_address(account: Any) -> str:
    if isinstance(account, str | bytes):
        account = _from_key(account)
    return account.address


def _from_key(key: str | bytes) -> Any:
    from eth_account import Account

    return Account.from_key(key)


# -- the domain ---------------------------------------------------------------


@dataclass(frozen=True)
class Domain:
    """The EIP-712 domain: one InteractionLedger on one chain.

    A signature made for one domain recovers to some other address under any
    other chain id or ledger address, so records cannot be replayed across them.
    """

    chain_id: int
    verifying_contract: str
    name: str = DOMAIN_NAME
    version: str = DOMAIN_VERSION

    def __post_init__(self) -> None:
        _uint(self.chain_id, 256, "chain id")
        object.__setattr__(
            self, "verifying_contract", _address(self.verifying_contract, "ledger address")
        )
        if not isinstance(self.name, str) or not isinstance(self.version, str):
            raise LedgerError("domain name and version must be strings")

    @functools.cached_property
    def separator(self) -> bytes:
        """hashStruct(EIP712Domain): the contract's `DOMAIN_SEPARATOR`."""
        return keccak(
            DOMAIN_TYPEHASH
            + keccak(self.name.encode())
            + keccak(self.version.encode())
            + _word(self.chain_id)
            + _address_word(self.verifying_contract)
        )

    def as_dict(self) -> dict[str, Any]:
        """The domain as EIP-712 typed data (`eth_signTypedData_v4`'s `domain`)."""
        return {
            "name": self.name,
            "version": self.version,
            "chainId": self.chain_id,
            "verifyingContract": self.verifying_contract,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Domain:
        _check_keys(data, ("name", "version", "chainId", "verifyingContract"), "EIP-712 domain")
        return cls(
            chain_id=_json_uint(data["chainId"], "chainId"),
            verifying_contract=data["verifyingContract"],
            name=data["name"],
            version=data["version"],
        )


_DOMAIN_FIELDS = [
    {"name": "name", "type": "string"},
    {"name": "version", "type": "string"},
    {"name": "chainId", "type": "uint256"},
    {"name": "verifyingContract", "type": "address"},
]


def _typed_fields(type_string: str) -> list[dict[str, str]]:
    """[{"name", "type"}] from a type string such as "Batch(bytes32 root,...)"."""
    inner = type_string[type_string.index("(") + 1 : -1]
    return [
        {"name": name, "type": type_} for type_, name in (f.split(" ") for f in inner.split(","))
    ]


# -- interaction records ------------------------------------------------------

# Python field name → (EIP-712 name, JSON kind): "int" is a JSON number,
# "dec" a decimal string, "hex" 0x hex, "addr" a checksummed address,
# "[dec]"/"[int]" arrays of those.
_RECORD_FIELDS = {
    "payer": ("payer", "addr"),
    "operator": ("operator", "addr"),
    "model": ("model", "dec"),
    "prompt_hash": ("promptHash", "hex"),
    "output_hash": ("outputHash", "hex"),
    "sources": ("sources", "[dec]"),
    "weights": ("weights", "[int]"),
    "prompt_tokens": ("promptTokens", "int"),
    "completion_tokens": ("completionTokens", "int"),
    "fee": ("fee", "dec"),
    "nonce": ("nonce", "dec"),
    "timestamp": ("timestamp", "dec"),
}

_BATCH_FIELDS = {
    "root": ("root", "hex"),
    "count": ("count", "dec"),
    "batch_nonce": ("batchNonce", "dec"),
    "operator": ("operator", "addr"),
    "commons": ("commons", "addr"),
    "commons_bps": ("commonsBps", "int"),
    "operator_bps": ("operatorBps", "int"),
    "assets_root": ("assetsRoot", "hex"),
    "total": ("total", "dec"),
    "deadline": ("deadline", "dec"),
}


def _to_json_value(value: Any, kind: str) -> Any:
    if kind == "hex":
        return _hex(value)
    if kind == "dec":
        return str(value)
    if kind == "[dec]":
        return [str(v) for v in value]
    if kind == "[int]":
        return list(value)
    return value  # "int", "addr"


def _from_json_value(value: Any, kind: str, what: str) -> Any:
    if kind in ("dec", "int"):
        return _json_uint(value, what)
    if kind in ("[dec]", "[int]"):
        if not isinstance(value, list):
            raise LedgerError(f"{what} must be a list")
        return tuple(_json_uint(v, f"{what}[{i}]") for i, v in enumerate(value))
    return value  # "hex", "addr": checked by the dataclass


def _struct_to_dict(obj: Any, spec: Mapping[str, tuple[str, str]]) -> dict[str, Any]:
    return {name: _to_json_value(getattr(obj, attr), kind) for attr, (name, kind) in spec.items()}


def _struct_from_dict(
    cls: type, data: Mapping[str, Any], spec: Mapping[str, tuple[str, str]], what: str
) -> Any:
    _check_keys(data, (name for name, _ in spec.values()), what)
    return cls(
        **{attr: _from_json_value(data[name], kind, name) for attr, (name, kind) in spec.items()}
    )


@dataclass(frozen=True)
class InteractionRecord:
    """One answer: who paid whom, for which model's answer to what, from which sources.

    `model` and `sources` are IP asset ids in the `IPAssetRegistry`; `weights`
    are each source's share of the answer in basis points (parallel to
    `sources`, summing to at most 10,000; the rest, `own_share_bps`, is the
    model's own knowledge). `prompt_hash`/`output_hash` are 32-byte content
    hashes (bytes or 0x hex); `fee` is in AI-token wei; `timestamp` in unix
    seconds; `nonce` makes each of a payer's records unique.
    """

    payer: str
    operator: str
    model: int
    prompt_hash: bytes
    output_hash: bytes
    sources: tuple[int, ...]
    weights: tuple[int, ...]
    prompt_tokens: int
    completion_tokens: int
    fee: int
    nonce: int
    timestamp: int

    def __post_init__(self) -> None:
        set_ = functools.partial(object.__setattr__, self)
        set_("payer", _address(self.payer, "payer"))
        set_("operator", _address(self.operator, "operator"))
        _uint(self.model, 256, "model")
        set_("prompt_hash", _bytes32(self.prompt_hash, "prompt hash"))
        set_("output_hash", _bytes32(self.output_hash, "output hash"))
        set_("sources", _uints(self.sources, 256, "sources"))
        set_("weights", _uints(self.weights, 16, "weights"))
        if len(self.sources) != len(self.weights):
            raise LedgerError(
                f"sources and weights must pair up: {len(self.sources)} sources, "
                f"{len(self.weights)} weights"
            )
        if len(set(self.sources)) != len(self.sources):
            raise LedgerError(
                "a source is listed twice: give each source once, with its total weight"
            )
        if sum(self.weights) > MAX_BPS:
            raise LedgerError(
                f"source weights must sum to at most {MAX_BPS:,} basis points, "
                f"got {sum(self.weights):,}"
            )
        _uint(self.prompt_tokens, 32, "prompt tokens")
        _uint(self.completion_tokens, 32, "completion tokens")
        _uint(self.fee, 256, "fee")
        _uint(self.nonce, 256, "nonce")
        _uint(self.timestamp, 64, "timestamp")

    @property
    def own_share_bps(self) -> int:
        """The model's own-knowledge share: what the sources' weights leave of 10,000."""
        return MAX_BPS - sum(self.weights)

    # -- EIP-712

    def struct_hash(self) -> bytes:
        """hashStruct(Interaction): keccak256(typehash ‖ the fields' 32-byte encodings)."""
        return keccak(
            INTERACTION_TYPEHASH
            + _address_word(self.payer)
            + _address_word(self.operator)
            + _word(self.model)
            + self.prompt_hash
            + self.output_hash
            + _array_hash(self.sources)
            + _array_hash(self.weights)
            + _word(self.prompt_tokens)
            + _word(self.completion_tokens)
            + _word(self.fee)
            + _word(self.nonce)
            + _word(self.timestamp)
        )

    def digest(self, domain: Domain) -> bytes:
        """The EIP-712 hash the payer signs: keccak256(0x1901 ‖ domain separator ‖ struct hash)."""
        return keccak(b"\x19\x01" + domain.separator + self.struct_hash())

    def to_typed_data(self, domain: Domain) -> dict[str, Any]:
        """The record as EIP-712 typed data, for `eth_signTypedData_v4` or `encode_typed_data`."""
        message = _struct_to_dict(self, _RECORD_FIELDS)
        for name in ("model", "fee", "nonce", "timestamp"):
            message[name] = int(message[name])
        message["sources"] = list(self.sources)
        return {
            "types": {
                "EIP712Domain": _DOMAIN_FIELDS,
                "Interaction": _typed_fields(INTERACTION_TYPE),
            },
            "primaryType": "Interaction",
            "domain": domain.as_dict(),
            "message": message,
        }

    def sign(self, account: Any, domain: Domain) -> SignedRecord:
        """The record signed by its payer (`account`: a LocalAccount or private key)."""
        signer = _signer_address(account)
        if signer != self.payer:
            raise LedgerError(f"the payer {self.payer} must sign this record, not {signer}")
        return SignedRecord(self, _sign(account, domain, self.struct_hash()), self.digest(domain))

    def recover(self, signature: bytes | str, domain: Domain) -> str:
        """The address that made `signature` over this record in `domain`."""
        return _recover(domain, self.struct_hash(), signature)

    # -- storage

    def to_dict(self) -> dict[str, Any]:
        """The record as JSON-ready data with EIP-712 field names (see the module docs)."""
        return _struct_to_dict(self, _RECORD_FIELDS)

    def to_json(self) -> str:
        """Canonical JSON: the same record always gives the same text."""
        return _canonical_json(self.to_dict())

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> InteractionRecord:
        return _struct_from_dict(cls, data, _RECORD_FIELDS, "interaction record")

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | str | bytes) -> InteractionRecord:
        return cls.from_dict(_json_object(data, "interaction record"))


@dataclass(frozen=True)
class SignedRecord:
    """A record, its payer's 65-byte signature (r ‖ s ‖ v) and the digest signed."""

    record: InteractionRecord
    signature: bytes
    digest: bytes

    def __post_init__(self) -> None:
        if not isinstance(self.record, InteractionRecord):
            raise LedgerError("a signed record needs an InteractionRecord")
        object.__setattr__(self, "signature", _signature(self.signature))
        object.__setattr__(self, "digest", _bytes32(self.digest, "digest"))

    @property
    def token_id(self) -> int:
        """The ERC-721 id of this record's DAT: uint256(digest)."""
        return int.from_bytes(self.digest, "big")

    def recover(self, domain: Domain) -> str:
        """The address that signed this record in `domain`."""
        return self.record.recover(self.signature, domain)

    def verify(self, domain: Domain) -> bool:
        """Whether the digest is the record's in `domain` and the payer signed it there."""
        return (
            self.digest == self.record.digest(domain)
            and _recover_digest(self.digest, self.signature) == self.record.payer
        )

    def leaf(self) -> tuple[str, str, int, int]:
        """The record's Merkle leaf value: (digest, payer, model, fee), `RECORD_LEAF_ENCODING`."""
        return (_hex(self.digest), self.record.payer, self.record.model, self.record.fee)

    def to_dict(self) -> dict[str, Any]:
        return {
            "record": self.record.to_dict(),
            "signature": _hex(self.signature),
            "digest": _hex(self.digest),
        }

    def to_json(self) -> str:
        """Canonical JSON of the record, signature and digest."""
        return _canonical_json(self.to_dict())

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SignedRecord:
        _check_keys(data, ("record", "signature", "digest"), "signed record")
        record = data["record"]
        if not isinstance(record, Mapping):
            raise LedgerError("signed record: 'record' must be an object")
        return cls(InteractionRecord.from_dict(record), data["signature"], data["digest"])

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | str | bytes) -> SignedRecord:
        return cls.from_dict(_json_object(data, "signed record"))


def record_leaf_hash(signed: SignedRecord) -> str:
    """The leaf hash of a signed record, as the contract computes it."""
    return _leaf_hash(signed.leaf())


@functools.lru_cache(maxsize=2**15)
def _leaf_hash(leaf: tuple[str, str, int, int]) -> str:
    # cached: a deposit-mode batch hashes its records' leaves again with every answer
    return standard_leaf_hash(RECORD_LEAF_ENCODING, leaf)


def record_tree(records: Sequence[SignedRecord]) -> StandardMerkleTree:
    """The batch tree of signed records (leaves as `RECORD_LEAF_ENCODING`).

    Proofs are indexed as `records` is: `tree.get_proof(i)` proves `records[i]`.
    """
    if not records:
        raise LedgerError("a batch needs at least one record")
    digests = [r.digest for r in records]
    if len(set(digests)) != len(digests):
        raise LedgerError("a record appears twice in the batch (same digest)")
    return StandardMerkleTree.of([r.leaf() for r in records], RECORD_LEAF_ENCODING)


# -- batches ------------------------------------------------------------------


def asset_tree(owed: Mapping[int, int]) -> StandardMerkleTree:
    """The asset tree of cumulative amounts `owed` (IP asset id → token wei).

    Leaves are `ASSET_LEAF_ENCODING` values in ascending asset order; assets
    owed nothing are left out.
    """
    leaves = [
        (_uint(asset, 256, "asset"), _uint(amount, 256, f"amount of asset {asset}"))
        for asset, amount in sorted(owed.items())
        if amount
    ]
    if not leaves:
        raise LedgerError("an asset tree needs at least one asset owed something")
    return StandardMerkleTree.of(leaves, ASSET_LEAF_ENCODING)


def asset_root(owed: Mapping[int, int]) -> str:
    """`asset_tree(owed).root`, hashed straight from the amounts (a deposit-mode node
    computes it for every answer's voucher)."""
    leaves = [
        _asset_leaf(_uint(asset, 256, "asset"), _uint(amount, 256, f"amount of asset {asset}"))
        for asset, amount in owed.items()
        if amount
    ]
    if not leaves:
        raise LedgerError("an asset tree needs at least one asset owed something")
    return root_of_leaf_hashes(leaves)


@functools.lru_cache(maxsize=2**16)
def _asset_leaf(asset: int, amount: int) -> bytes:
    # cached: each answer changes the amounts of its own few assets only
    return keccak(keccak(_word(asset) + _word(amount)))


# -- batches ------------------------------------------------------------------


@dataclass(frozen=True)
class Batch:
    """What the payer authorises for a batch: its root, the split, and the assets' tree.

    `root` is the batch tree's root (32 bytes or 0x hex) over `count` records;
    `batch_nonce` counts the payer's batches with this `operator` (replay
    protection), the node that served the answers and alone may settle them;
    `commons`, `commons_bps` and `operator_bps` are the split the payer agrees
    to (the contract pays exactly that, and refuses it once the rules differ);
    `assets_root` the root of the payer's asset tree with this operator after
    this batch (`asset_tree`: cumulative amounts); `total` what the payer pays
    in all, in AI-token wei (non-zero); `deadline` the unix time after which
    the signature is void. The payer is not a field: it is whoever signed.
    """

    root: bytes
    count: int
    batch_nonce: int
    operator: str
    commons: str
    commons_bps: int
    operator_bps: int
    assets_root: bytes
    total: int
    deadline: int

    def __post_init__(self) -> None:
        set_ = functools.partial(object.__setattr__, self)
        set_("root", _bytes32(self.root, "batch root"))
        _uint(self.count, 256, "record count")
        if self.count == 0:
            raise LedgerError("a batch needs at least one record (count ≥ 1)")
        _uint(self.batch_nonce, 256, "batch nonce")
        set_("operator", _address(self.operator, "operator"))
        set_("commons", _address(self.commons, "commons pool"))
        _uint(self.commons_bps, 16, "commons share")
        _uint(self.operator_bps, 16, "operator share")
        if self.commons_bps + self.operator_bps > MAX_BPS:
            raise LedgerError(
                f"the split exceeds {MAX_BPS:,} basis points: commons {self.commons_bps:,} "
                f"+ operator {self.operator_bps:,}"
            )
        set_("assets_root", _bytes32(self.assets_root, "assets root"))
        _uint(self.total, 256, "total")
        if self.total == 0:
            raise LedgerError("a batch pays something: its total must be at least 1 wei")
        _uint(self.deadline, 64, "deadline")

    def struct_hash(self) -> bytes:
        """hashStruct(Batch)."""
        return keccak(
            BATCH_TYPEHASH
            + self.root
            + _word(self.count)
            + _word(self.batch_nonce)
            + _address_word(self.operator)
            + _address_word(self.commons)
            + _word(self.commons_bps)
            + _word(self.operator_bps)
            + self.assets_root
            + _word(self.total)
            + _word(self.deadline)
        )

    def digest(self, domain: Domain) -> bytes:
        """The EIP-712 hash the payer signs."""
        return keccak(b"\x19\x01" + domain.separator + self.struct_hash())

    def to_typed_data(self, domain: Domain) -> dict[str, Any]:
        """The batch as EIP-712 typed data."""
        message = _struct_to_dict(self, _BATCH_FIELDS)
        for name in ("count", "batchNonce", "total", "deadline"):
            message[name] = int(message[name])
        return {
            "types": {"EIP712Domain": _DOMAIN_FIELDS, "Batch": _typed_fields(BATCH_TYPE)},
            "primaryType": "Batch",
            "domain": domain.as_dict(),
            "message": message,
        }

    def sign(self, account: Any, domain: Domain) -> SignedBatch:
        """The batch signed by the payer (`account`: a LocalAccount or private key)."""
        return SignedBatch(self, _sign(account, domain, self.struct_hash()), self.digest(domain))

    def recover(self, signature: bytes | str, domain: Domain) -> str:
        """The payer: the address that made `signature` over this batch in `domain`."""
        return _recover(domain, self.struct_hash(), signature)

    def to_dict(self) -> dict[str, Any]:
        return _struct_to_dict(self, _BATCH_FIELDS)

    def to_json(self) -> str:
        return _canonical_json(self.to_dict())

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Batch:
        return _struct_from_dict(cls, data, _BATCH_FIELDS, "batch")

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | str | bytes) -> Batch:
        return cls.from_dict(_json_object(data, "batch"))


@dataclass(frozen=True)
class SignedBatch:
    """A batch, the payer's 65-byte signature and the digest signed."""

    batch: Batch
    signature: bytes
    digest: bytes

    def __post_init__(self) -> None:
        if not isinstance(self.batch, Batch):
            raise LedgerError("a signed batch needs a Batch")
        object.__setattr__(self, "signature", _signature(self.signature))
        object.__setattr__(self, "digest", _bytes32(self.digest, "digest"))

    def recover(self, domain: Domain) -> str:
        """The payer: who signed this batch in `domain`."""
        return self.batch.recover(self.signature, domain)

    def verify(self, domain: Domain, payer: str) -> bool:
        """Whether the digest is the batch's in `domain` and `payer` signed it there."""
        return self.digest == self.batch.digest(domain) and self.recover(domain) == _address(
            payer, "payer"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "batch": self.batch.to_dict(),
            "signature": _hex(self.signature),
            "digest": _hex(self.digest),
        }

    def to_json(self) -> str:
        return _canonical_json(self.to_dict())

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SignedBatch:
        _check_keys(data, ("batch", "signature", "digest"), "signed batch")
        batch = data["batch"]
        if not isinstance(batch, Mapping):
            raise LedgerError("signed batch: 'batch' must be an object")
        return cls(Batch.from_dict(batch), data["signature"], data["digest"])

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | str | bytes) -> SignedBatch:
        return cls.from_dict(_json_object(data, "signed batch"))


def batch_digest(batch: Batch, domain: Domain) -> bytes:
    """The EIP-712 hash of `batch` in `domain` (what the payer signs)."""
    return batch.digest(domain)


def sign_batch(batch: Batch, account: Any, domain: Domain) -> SignedBatch:
    """`batch` signed by the payer `account` (a LocalAccount or a private key)."""
    return batch.sign(account, domain)


__all__ = [
    "ASSET_LEAF_ENCODING",
    "BATCH_TYPE",
    "BATCH_TYPEHASH",
    "DOMAIN_NAME",
    "DOMAIN_TYPE",
    "DOMAIN_TYPEHASH",
    "DOMAIN_VERSION",
    "INTERACTION_TYPE",
    "INTERACTION_TYPEHASH",
    "MAX_BPS",
    "RECORD_LEAF_ENCODING",
    "Batch",
    "Domain",
    "InteractionRecord",
    "SignedBatch",
    "SignedRecord",
    "asset_root",
    "asset_tree",
    "batch_digest",
    "record_leaf_hash",
    "record_tree",
    "sign_batch",
]
