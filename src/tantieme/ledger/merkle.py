"""Merkle trees in OpenZeppelin's "standard-v1" format.

A tree built here has the same root, proofs, multiproofs and JSON dump as one
built by `StandardMerkleTree` of `@openzeppelin/merkle-tree` (1.x) from the same
values, so OpenZeppelin's `MerkleProof.verify` (or a Vyper port of it) accepts
our proofs, and either library loads the other's dumps.

The format, as the contract sees it:

- **leaf** = `keccak256(bytes.concat(keccak256(abi.encode(values...))))`, the
  values ABI-encoded with the tree's `leaf_encoding` (double hashing keeps a leaf
  from ever being 64 bytes that could pass for an inner node);
- **inner node** = `keccak256(min(a, b) ‖ max(a, b))`, the pair sorted as
  256-bit numbers, so a proof is just the list of siblings, leaf to root;
- **shape**: a complete binary tree stored as an array, root at index 0, the
  children of node `i` at `2i + 1` and `2i + 2`; the `n` leaf hashes, sorted
  ascending, fill the last `n` slots in reverse (the smallest hash at the end).
  One leaf is its own root, with an empty proof. Odd counts need no padding:
  the array layout simply makes some leaves sit one level higher.

`values` keep the order they were given in; `tree_index` maps each to its slot.

Values are normalised on the way in: integers become `int` (decimal or `0x`
strings accepted), addresses checksummed strings, `bytes`/`bytesN` lowercase
`0x` hex strings, arrays and tuples Python tuples. In a dump, integers are
decimal strings (as OpenZeppelin's examples write them: JSON numbers are exact
only to 2**53), arrays are lists.
"""

from __future__ import annotations

import bisect
import functools
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from eth_utils import to_checksum_address
from sha3 import keccak_256

from tantieme.errors import LedgerError

if TYPE_CHECKING:  # eth_abi loads when a tree is built or checked, not when records are read
    from eth_abi.grammar import ABIType

__all__ = [
    "FORMAT",
    "MultiProof",
    "SortedLeaves",
    "StandardMerkleTree",
    "checksum_address",
    "node_hash",
    "process_multi_proof",
    "process_proof",
    "standard_leaf_hash",
    "verify",
    "verify_multi_proof",
]

FORMAT = "standard-v1"
"""The dump format written and read here, as named by OpenZeppelin."""

HexStr = str
Value = tuple[Any, ...]

# A converter turns one user value of an ABI type into its canonical form (what
# the tree keeps and dumps) and its form for eth_abi.
_Convert = Callable[[Any], tuple[Any, Any]]


# -- hashing ---------------------------------------------------------------


def to_hex(data: bytes) -> HexStr:
    """`0x`-prefixed lowercase hex of `data`."""
    return "0x" + data.hex()


def to_bytes32(node: bytes | str, what: str = "Merkle node") -> bytes:
    """`node` (32 bytes, or 64 hex digits with or without `0x`) as bytes."""
    if isinstance(node, str):
        try:
            node = bytes.fromhex(node[2:] if node[:2] in ("0x", "0X") else node)
        except ValueError:
            raise LedgerError(f"{what} must be 32 bytes of hex, got {node!r}") from None
    if not isinstance(node, bytes | bytearray) or len(node) != 32:
        raise LedgerError(f"{what} must be 32 bytes, got {node!r}")
    return bytes(node)


def keccak(data: bytes) -> bytes:
    """keccak256, by safe-pysha3: five times faster than eth-hash's default (pycryptodome),
    which counts when a deposit-mode batch's tree is rebuilt for every answer."""
    return keccak_256(data).digest()


def node_hash(a: bytes, b: bytes) -> bytes:
    """The parent of two nodes: keccak256 of the pair sorted ascending (commutative)."""
    return keccak(a + b if a <= b else b + a)


def process_proof(leaf: bytes | str, proof: Sequence[bytes | str]) -> HexStr:
    """The root that `proof` rebuilds from the leaf hash `leaf` (`MerkleProof.processProof`)."""
    computed = to_bytes32(leaf, "leaf hash")
    for sibling in proof:
        computed = node_hash(computed, to_bytes32(sibling, "proof element"))
    return to_hex(computed)


@dataclass(frozen=True)
class MultiProof:
    """Several leaves proven at once (`MerkleProof.multiProofVerify`).

    `leaves` are values (for a tree's own multiproofs) or leaf hashes (for
    `process_multi_proof`), in the order the contract must consume them:
    the tree order, deepest and rightmost first — not the order asked for.
    """

    leaves: tuple[Any, ...]
    proof: tuple[HexStr, ...]
    proof_flags: tuple[bool, ...]

    def to_dict(self) -> dict[str, Any]:
        """The multiproof with OpenZeppelin's key names (`proofFlags`)."""
        return {
            "leaves": [_jsonable(leaf) for leaf in self.leaves],
            "proof": list(self.proof),
            "proofFlags": list(self.proof_flags),
        }


def process_multi_proof(multiproof: MultiProof) -> HexStr:
    """The root rebuilt from a multiproof whose `leaves` are leaf hashes.

    Follows `MerkleProof.processMultiProof`: a queue starts with the leaves;
    each flag hashes the queue's head with the next queued node (`True`) or with
    the next proof element (`False`).
    """
    leaves = [to_bytes32(leaf, "leaf hash") for leaf in multiproof.leaves]
    proof = [to_bytes32(node, "proof element") for node in multiproof.proof]
    flags = list(multiproof.proof_flags)
    if len(proof) < flags.count(False):
        raise LedgerError("invalid multiproof: fewer proof elements than unflagged steps")
    if len(leaves) + len(proof) != len(flags) + 1:
        raise LedgerError("invalid multiproof: leaves + proof must be one more than the flags")
    queue = leaves
    head = 0  # queue[head:] is still to consume; hashes are appended to it
    next_proof = 0
    for flag in flags:
        a = queue[head]
        head += 1
        if flag:
            b = queue[head]
            head += 1
        else:
            b = proof[next_proof]
            next_proof += 1
        queue.append(node_hash(a, b))
    if flags:
        return to_hex(queue[-1])
    return to_hex(leaves[0] if leaves else proof[0])


# -- values and their ABI encoding -----------------------------------------


def _jsonable(value: Any) -> Any:
    """A canonical value as JSON: integers as decimal strings, tuples as lists."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, tuple | list):
        return [_jsonable(item) for item in value]
    return value


def _parse_int(value: Any, signed: bool, bits: int) -> int:
    if isinstance(value, str) and not isinstance(value, bool):
        text = value.strip()
        try:
            value = int(text, 16) if text[:2].lower() == "0x" else int(text, 10)
        except ValueError:
            raise LedgerError(f"not an integer: {value!r}") from None
    if not isinstance(value, int) or isinstance(value, bool):
        raise LedgerError(f"not an integer: {value!r}")
    low, high = (-(2 ** (bits - 1)), 2 ** (bits - 1)) if signed else (0, 2**bits)
    if not low <= value < high:
        raise LedgerError(f"{value} is out of range for {'int' if signed else 'uint'}{bits}")
    return value


def _parse_bytes(value: Any, size: int | None) -> bytes:
    if isinstance(value, str):
        text = value[2:] if value[:2] in ("0x", "0X") else value
        try:
            value = bytes.fromhex(text)
        except ValueError:
            raise LedgerError(f"not hex bytes: {value!r}") from None
    if not isinstance(value, bytes | bytearray):
        raise LedgerError(f"not bytes: {value!r}")
    if size is not None and len(value) != size:
        raise LedgerError(f"expected {size} bytes, got {len(value)}: 0x{bytes(value).hex()}")
    return bytes(value)


@functools.lru_cache(maxsize=4096)
def checksum_address(raw: bytes) -> str:
    """The EIP-55 checksummed address of 20 bytes, cached: a batch's leaves and signatures
    repeat a few payers many times, and each checksum costs a keccak."""
    return to_checksum_address(raw)


def _converter(abi_type: ABIType) -> _Convert:
    """A converter for one ABI type (arrays and tuples recurse)."""
    from eth_abi.grammar import BasicType, TupleType

    if abi_type.is_array:
        item = _converter(abi_type.item_type)
        dim = abi_type.arrlist[-1]
        length = dim[0] if dim else None
        name = abi_type.to_type_str()

        def convert_array(value: Any) -> tuple[Any, Any]:
            if not isinstance(value, list | tuple):
                raise LedgerError(f"{name} needs a list, got {value!r}")
            if length is not None and len(value) != length:
                raise LedgerError(f"{name} needs {length} items, got {len(value)}")
            pairs = [item(v) for v in value]
            return tuple(p[0] for p in pairs), [p[1] for p in pairs]

        return convert_array
    if isinstance(abi_type, TupleType):
        parts = [_converter(c) for c in abi_type.components]
        name = abi_type.to_type_str()

        def convert_tuple(value: Any) -> tuple[Any, Any]:
            if not isinstance(value, list | tuple) or len(value) != len(parts):
                raise LedgerError(f"{name} needs {len(parts)} components, got {value!r}")
            pairs = [part(v) for part, v in zip(parts, value, strict=True)]
            return tuple(p[0] for p in pairs), tuple(p[1] for p in pairs)

        return convert_tuple
    assert isinstance(abi_type, BasicType)
    base, sub = abi_type.base, abi_type.sub
    if base in ("uint", "int"):
        signed = base == "int"

        def convert_int(value: Any) -> tuple[Any, Any]:
            number = _parse_int(value, signed, sub)
            return number, number

        return convert_int
    if base == "address":

        def convert_address(value: Any) -> tuple[Any, Any]:
            raw = _parse_bytes(value, 20)
            return checksum_address(raw), raw

        return convert_address
    if base == "bool":

        def convert_bool(value: Any) -> tuple[Any, Any]:
            if not isinstance(value, bool):
                raise LedgerError(f"not a bool: {value!r}")
            return value, value

        return convert_bool
    if base == "bytes":

        def convert_bytes(value: Any) -> tuple[Any, Any]:
            raw = _parse_bytes(value, sub)
            return to_hex(raw), raw

        return convert_bytes
    if base == "string":

        def convert_string(value: Any) -> tuple[Any, Any]:
            if not isinstance(value, str):
                raise LedgerError(f"not a string: {value!r}")
            return value, value

        return convert_string
    raise LedgerError(f"unsupported leaf type {abi_type.to_type_str()!r}")


def _static_word(abi_type: ABIType) -> Callable[[Any], bytes] | None:
    """For a basic type whose ABI encoding is one 32-byte word, the encoder of
    its eth_abi argument; None for anything else (arrays, tuples, strings, bytes)."""
    from eth_abi.grammar import BasicType

    if abi_type.is_array or not isinstance(abi_type, BasicType):
        return None
    base, sub = abi_type.base, abi_type.sub
    if base == "uint":
        return lambda v: v.to_bytes(32, "big")
    if base == "int":
        return lambda v: (v % 2**256).to_bytes(32, "big")  # two's complement
    if base == "address":
        return lambda raw: bytes(12) + raw
    if base == "bool":
        return lambda v: bytes(31) + (b"\x01" if v else b"\x00")
    if base == "bytes" and sub is not None:
        return lambda raw: raw.ljust(32, b"\x00")
    return None


class _Encoding:
    """A leaf encoding, parsed once: normalises values and hashes leaves."""

    def __init__(self, leaf_encoding: Sequence[str]) -> None:
        from eth_abi.exceptions import ABITypeError, ParseError
        from eth_abi.grammar import normalize, parse

        if isinstance(leaf_encoding, str) or not all(isinstance(t, str) for t in leaf_encoding):
            raise LedgerError(
                f"leaf encoding must be a list of ABI type strings, got {leaf_encoding!r}"
            )
        self.types = list(leaf_encoding)  # as given: dumps keep them verbatim
        self.abi_types = [normalize(t) for t in self.types]
        try:
            parsed = [parse(t) for t in self.abi_types]
            for p in parsed:
                p.validate()
        except (ABITypeError, ParseError, ValueError) as e:
            raise LedgerError(f"invalid leaf encoding {leaf_encoding!r}: {e}") from None
        self._converters = [_converter(p) for p in parsed]
        # When every field is one static word (the ledger's leaves are), abi.encode
        # is just their concatenation: 10x faster than eth_abi's generic encoder.
        words = [_static_word(p) for p in parsed]
        self._words = words if all(w is not None for w in words) else None

    def prepare(self, value: Sequence[Any]) -> tuple[Value, list[Any]]:
        """`value` as (canonical tuple, eth_abi arguments)."""
        if isinstance(value, str | bytes) or not isinstance(value, Sequence):
            raise LedgerError(f"a leaf value must be a list or tuple, got {value!r}")
        if len(value) != len(self._converters):
            raise LedgerError(
                f"leaf value has {len(value)} fields but the encoding {self.types} has "
                f"{len(self._converters)}"
            )
        pairs = [convert(v) for convert, v in zip(self._converters, value, strict=True)]
        return tuple(p[0] for p in pairs), [p[1] for p in pairs]

    def encode(self, value: Sequence[Any]) -> bytes:
        """abi.encode(value...)."""
        return self.encode_prepared(self.prepare(value)[1])

    def encode_prepared(self, abi_args: list[Any]) -> bytes:
        if self._words is not None:
            return b"".join(word(a) for word, a in zip(self._words, abi_args, strict=True))
        from eth_abi import encode as abi_encode

        return abi_encode(self.abi_types, abi_args)

    def leaf_hash(self, value: Sequence[Any]) -> bytes:
        """keccak256(keccak256(abi.encode(value...)))."""
        return self.hash_prepared(self.prepare(value)[1])

    def hash_prepared(self, abi_args: list[Any]) -> bytes:
        return keccak(keccak(self.encode_prepared(abi_args)))


@functools.lru_cache(maxsize=64)
def _cached_encoding(leaf_encoding: tuple[str, ...]) -> _Encoding:
    return _Encoding(leaf_encoding)


def _encoding(leaf_encoding: Sequence[str]) -> _Encoding:
    """The parsed encoding, cached: the static `verify` is called once per proof."""
    if (
        isinstance(leaf_encoding, str)
        or not isinstance(leaf_encoding, Sequence)
        or not all(isinstance(t, str) for t in leaf_encoding)
    ):
        raise LedgerError(
            f"leaf encoding must be a list of ABI type strings, got {leaf_encoding!r}"
        )
    return _cached_encoding(tuple(leaf_encoding))


def _tree_of(leaves: Sequence[bytes]) -> list[bytes]:
    """The tree array (root first) over `leaves` in their leaf order, as OpenZeppelin lays it out."""
    size = 2 * len(leaves) - 1
    tree: list[bytes] = [b""] * size
    for leaf_index, leaf in enumerate(leaves):
        tree[size - 1 - leaf_index] = leaf
    for i in range(size - 1 - len(leaves), -1, -1):
        tree[i] = node_hash(tree[2 * i + 1], tree[2 * i + 2])
    return tree


def _root_of_sorted(leaves: Sequence[bytes]) -> bytes:
    """The root of `_tree_of(leaves)`, hashing level by level without the array.

    In the array layout, the last level holds the `b = 2n - 2^D` smallest leaves
    (`2^D` the largest power of two below `2n`), pairs of neighbours in
    descending order; the level above is complete: those pairs' parents, then
    the other leaves, descending. From there every level halves.
    """
    n = len(leaves)
    if n == 1:
        return leaves[0]
    b = 2 * n - (1 << ((2 * n - 1).bit_length() - 1))
    k = keccak_256
    bottom = leaves[b - 1 :: -1]
    level = [k(x + y).digest() if x < y else k(y + x).digest() for x, y in zip(bottom[0::2], bottom[1::2])]
    level += leaves[: b - 1 : -1]
    while len(level) > 1:
        level = [k(x + y).digest() if x < y else k(y + x).digest() for x, y in zip(level[0::2], level[1::2])]
    return level[0]


def root_of_leaf_hashes(leaf_hashes: Sequence[bytes]) -> HexStr:
    """The root of the (sorted) standard tree whose leaves hash to `leaf_hashes`: what
    `StandardMerkleTree.of(values, encoding).root` gives, from the leaves' hashes alone."""
    if not leaf_hashes:
        raise LedgerError("a Merkle tree needs at least one value")
    return to_hex(_root_of_sorted(sorted(leaf_hashes)))


class SortedLeaves:
    """The leaf hashes of a standard tree that grows one value at a time, kept sorted, and
    its root: the `StandardMerkleTree.of(values, encoding).root` of the values so far.

    A new leaf takes its place by binary search (the values are not encoded and hashed
    again, nor sorted). The root is then hashed again from the leaves: in OpenZeppelin's
    array layout a leaf inserted among sorted ones moves every later leaf by one slot,
    which pairs it with a new neighbour, so no inner node above the insertion survives it
    (n - 1 hashes, level by level, a few hundred microseconds for a thousand leaves).
    """

    def __init__(self, leaf_hashes: Sequence[bytes | str] = ()) -> None:
        self._leaves = sorted(to_bytes32(h, "leaf hash") for h in leaf_hashes)

    def __len__(self) -> int:
        return len(self._leaves)

    def with_leaf(self, leaf_hash: bytes | str) -> SortedLeaves:
        """These leaves and `leaf_hash` (a new object: this one is left as it is)."""
        grown = SortedLeaves()
        grown._leaves = list(self._leaves)
        bisect.insort(grown._leaves, to_bytes32(leaf_hash, "leaf hash"))
        return grown

    @property
    def root(self) -> HexStr:
        if not self._leaves:
            raise LedgerError("a Merkle tree needs at least one value")
        return to_hex(_root_of_sorted(self._leaves))


def standard_leaf_hash(leaf_encoding: Sequence[str], value: Sequence[Any]) -> HexStr:
    """The standard leaf hash of `value`: `keccak256(bytes.concat(keccak256(abi.encode(...))))`."""
    return to_hex(_encoding(leaf_encoding).leaf_hash(value))


def verify(
    root: bytes | str,
    leaf_encoding: Sequence[str],
    value: Sequence[Any],
    proof: Sequence[bytes | str],
) -> bool:
    """Whether `proof` shows `value` to be in the tree of `root`, knowing only its encoding."""
    leaf = _encoding(leaf_encoding).leaf_hash(value)
    return process_proof(leaf, proof) == to_hex(to_bytes32(root, "root"))


def verify_multi_proof(
    root: bytes | str, leaf_encoding: Sequence[str], multiproof: MultiProof
) -> bool:
    """Whether a multiproof (leaves given as values) proves them all in the tree of `root`."""
    encoding = _encoding(leaf_encoding)
    hashed = MultiProof(
        tuple(encoding.leaf_hash(v) for v in multiproof.leaves),
        multiproof.proof,
        multiproof.proof_flags,
    )
    return process_multi_proof(hashed) == to_hex(to_bytes32(root, "root"))


# The class's `verify` and `verify_multi_proof` shadow these names in its body.
_verify_static = verify
_verify_multi_proof_static = verify_multi_proof


# -- the tree ----------------------------------------------------------------


def _left(i: int) -> int:
    return 2 * i + 1


def _parent(i: int) -> int:
    return (i - 1) // 2


def _sibling(i: int) -> int:
    return i + 1 if i % 2 else i - 1


class _StaticOrBound:
    """A method called on the class with one signature and on an instance with another.

    Mirrors OpenZeppelin's API, where `StandardMerkleTree.verify(root, encoding,
    value, proof)` is static and `tree.verify(value, proof)` is not.
    """

    def __init__(self, static: Callable[..., Any], bound: Callable[..., Any]) -> None:
        self.static, self.bound = static, bound
        self.__doc__ = bound.__doc__

    def __get__(self, obj: object, owner: type | None = None) -> Callable[..., Any]:
        if obj is None:
            return self.static
        return self.bound.__get__(obj, owner)


class StandardMerkleTree:
    """A Merkle tree of ABI-encoded values, compatible with OpenZeppelin's.

    Build with `StandardMerkleTree.of(values, leaf_encoding)` or
    `StandardMerkleTree.load(dump)`. Indices (`get_proof(i)`, `at(i)`) refer to
    the order in which values were given, not to their place in the tree.

    >>> tree = StandardMerkleTree.of([("0x" + "11" * 20, 5), ("0x" + "22" * 20, 7)],
    ...                              ["address", "uint256"])
    >>> tree.verify(0, tree.get_proof(0))
    True
    """

    def __init__(self, tree: list[bytes], values: list[tuple[Value, int]], encoding: _Encoding):
        # Use `of` or `load`: this trusts its arguments.
        self._tree = tree
        self._values = values
        self._encoding = encoding
        self._lookup = {tree[index]: i for i, (_, index) in enumerate(values)}

    # -- construction

    @classmethod
    def of(
        cls,
        values: Sequence[Sequence[Any]],
        leaf_encoding: Sequence[str],
        *,
        sort_leaves: bool = True,
    ) -> StandardMerkleTree:
        """A tree of `values`, each ABI-encoded as `leaf_encoding`.

        `sort_leaves=False` keeps the leaves in the given order (OpenZeppelin's
        `sortLeaves` option): single proofs work the same, but multiproofs are
        harder to check on chain. The default, sorted, is what the ledger uses.
        """
        encoding = _encoding(leaf_encoding)
        if len(values) == 0:
            raise LedgerError("a Merkle tree needs at least one value")
        canonical: list[Value] = []
        hashes: list[bytes] = []
        for value in values:
            canon, args = encoding.prepare(value)
            canonical.append(canon)
            hashes.append(encoding.hash_prepared(args))
        order = range(len(values))
        if sort_leaves:
            order = sorted(order, key=hashes.__getitem__)  # stable, as JS's sort
        tree = _tree_of([hashes[i] for i in order])
        slots = [0] * len(values)
        for leaf_index, value_index in enumerate(order):
            slots[value_index] = len(tree) - 1 - leaf_index
        return cls(tree, list(zip(canonical, slots, strict=True)), encoding)

    @classmethod
    def load(cls, data: Mapping[str, Any] | str | bytes) -> StandardMerkleTree:
        """A tree from a "standard-v1" dump (a dict, or its JSON text), checked in full."""
        if isinstance(data, str | bytes):
            try:
                data = json.loads(data)
            except ValueError as e:
                raise LedgerError(f"a Merkle tree dump must be JSON: {e}") from None
        if not isinstance(data, Mapping):
            raise LedgerError("a Merkle tree dump must be a JSON object")
        if data.get("format") != FORMAT:
            raise LedgerError(
                f"unknown Merkle tree format {data.get('format')!r}, expected {FORMAT!r}"
            )
        if "leafEncoding" not in data:
            raise LedgerError("the Merkle tree dump has no leafEncoding")
        encoding = _encoding(data["leafEncoding"])
        raw_tree, raw_values = data.get("tree"), data.get("values")
        if not isinstance(raw_tree, list) or not raw_tree:
            raise LedgerError("the Merkle tree dump has no tree nodes")
        if not isinstance(raw_values, list):
            raise LedgerError("the Merkle tree dump has no values list")
        tree = [to_bytes32(node, "tree node") for node in raw_tree]
        values: list[tuple[Value, int]] = []
        for entry in raw_values:
            if not isinstance(entry, Mapping) or not {"value", "treeIndex"} <= entry.keys():
                raise LedgerError(f"a dumped value needs 'value' and 'treeIndex', got {entry!r}")
            index = entry["treeIndex"]
            if not isinstance(index, int) or isinstance(index, bool):
                raise LedgerError(f"treeIndex must be an integer, got {index!r}")
            if not 0 <= index < len(tree) or _left(index) < len(tree):
                raise LedgerError(
                    f"value {len(values)} does not point at a leaf (treeIndex {index})"
                )
            values.append((encoding.prepare(entry["value"])[0], index))
        loaded = cls(tree, values, encoding)
        loaded.validate()
        return loaded

    def dump(self) -> dict[str, Any]:
        """The tree in "standard-v1" form; `json.dumps` it to share it."""
        return {
            "format": FORMAT,
            "leafEncoding": list(self._encoding.types),
            "tree": [to_hex(node) for node in self._tree],
            "values": [
                {"value": _jsonable(value), "treeIndex": index} for value, index in self._values
            ],
        }

    def validate(self) -> None:
        """Check every value against its leaf and every inner node against its children."""
        for i in range(len(self._values)):
            self._check_value(i)
        tree = self._tree
        for i in range(len(tree)):
            left = _left(i)
            if left + 1 < len(tree):
                if tree[i] != node_hash(tree[left], tree[left + 1]):
                    raise LedgerError(f"Merkle tree node {i} is not the hash of its children")
            elif left < len(tree):
                raise LedgerError(f"Merkle tree node {i} has a single child: not a complete tree")

    # -- reading

    @property
    def root(self) -> HexStr:
        """The root, to publish on chain."""
        return to_hex(self._tree[0])

    @property
    def leaf_encoding(self) -> list[str]:
        return list(self._encoding.types)

    def __len__(self) -> int:
        return len(self._values)

    def at(self, index: int) -> Value:
        """The `index`-th value, in the order given."""
        return self._values[self._index(index)][0]

    def entries(self) -> Iterator[tuple[int, Value]]:
        """(index, value) for every value, in the order given."""
        for i, (value, _) in enumerate(self._values):
            yield i, value

    def tree_index(self, index: int) -> int:
        """Where the `index`-th value's leaf sits in the node array."""
        return self._values[self._index(index)][1]

    def leaf_hash(self, value: Sequence[Any]) -> HexStr:
        """The leaf hash of `value` under this tree's encoding."""
        return to_hex(self._encoding.leaf_hash(value))

    def leaf_lookup(self, value: Sequence[Any]) -> int:
        """The index of `value` (the last one, if given twice)."""
        found = self._lookup.get(self._encoding.leaf_hash(value))
        if found is None:
            raise LedgerError(f"value {value!r} is not in the tree")
        return found

    def render(self) -> str:
        """The tree drawn as text (node index and hash per line), for debugging."""
        lines = []
        stack: list[tuple[int, list[bool]]] = [(0, [])]  # (node, "more siblings below" per level)
        while stack:
            i, path = stack.pop()
            indent = "".join("│  " if more else "   " for more in path[:-1])
            branch = ("├─ " if path[-1] else "└─ ") if path else ""
            lines.append(f"{indent}{branch}{i}) {to_hex(self._tree[i])}")
            left = _left(i)
            if left + 1 < len(self._tree):
                stack.append((left + 1, [*path, False]))
                stack.append((left, [*path, True]))
        return "\n".join(lines)

    # -- proofs

    def get_proof(self, leaf: int | Sequence[Any]) -> list[HexStr]:
        """The siblings from the leaf of `leaf` (an index or a value) up to the root."""
        index = self._index_of(leaf)
        node = self._values[index][1]
        proof = []
        while node > 0:
            proof.append(to_hex(self._tree[_sibling(node)]))
            node = _parent(node)
        return proof

    def get_multi_proof(self, leaves: Sequence[int | Sequence[Any]]) -> MultiProof:
        """One proof for several values (indices or values), for `multiProofVerify`.

        The returned `leaves` are values, reordered as the contract must take them.
        """
        indices = [self._index_of(leaf) for leaf in leaves]
        nodes = sorted((self._values[i][1] for i in indices), reverse=True)
        if len(set(nodes)) != len(nodes):
            raise LedgerError("cannot prove the same value twice in one multiproof")
        queue = list(nodes)
        head = 0
        proof: list[HexStr] = []
        flags: list[bool] = []
        while head < len(queue) and queue[head] > 0:
            node = queue[head]
            head += 1
            sibling = _sibling(node)
            if head < len(queue) and queue[head] == sibling:
                flags.append(True)
                head += 1
            else:
                flags.append(False)
                proof.append(to_hex(self._tree[sibling]))
            queue.append(_parent(node))
        if not nodes:
            proof.append(to_hex(self._tree[0]))
        slot_to_index = {slot: i for i, (_, slot) in enumerate(self._values)}
        return MultiProof(
            tuple(self._values[slot_to_index[n]][0] for n in nodes), tuple(proof), tuple(flags)
        )

    def _verify(self, leaf: int | Sequence[Any], proof: Sequence[bytes | str]) -> bool:
        """Whether `proof` shows `leaf` (an index or a value) to be in this tree."""
        if isinstance(leaf, int) and not isinstance(leaf, bool):
            leaf = self.at(leaf)
        return process_proof(self._encoding.leaf_hash(leaf), proof) == self.root

    def _verify_multi_proof(self, multiproof: MultiProof) -> bool:
        """Whether `multiproof` (leaves as values or indices) proves its leaves in this tree."""
        hashed = MultiProof(
            tuple(
                self._encoding.leaf_hash(self.at(v) if isinstance(v, int) else v)
                for v in multiproof.leaves
            ),
            multiproof.proof,
            multiproof.proof_flags,
        )
        return process_multi_proof(hashed) == self.root

    verify = _StaticOrBound(_verify_static, _verify)
    verify_multi_proof = _StaticOrBound(_verify_multi_proof_static, _verify_multi_proof)

    # -- helpers

    def _index(self, index: int) -> int:
        if not isinstance(index, int) or isinstance(index, bool):
            raise LedgerError(f"index must be an integer, got {index!r}")
        if not 0 <= index < len(self._values):
            raise LedgerError(f"index {index} is out of bounds (the tree has {len(self)} values)")
        return index

    def _index_of(self, leaf: int | Sequence[Any]) -> int:
        if isinstance(leaf, int) and not isinstance(leaf, bool):
            index = self._index(leaf)
        else:
            index = self.leaf_lookup(leaf)
        # No per-call re-check of the value against its leaf (OpenZeppelin does one):
        # `of` builds the nodes from the values and `load` validates them all.
        return index

    def _check_value(self, index: int) -> None:
        value, node = self._values[index]
        if not 0 <= node < len(self._tree) or _left(node) < len(self._tree):
            raise LedgerError(f"value {index} does not point at a leaf (treeIndex {node})")
        if self._tree[node] != self._encoding.leaf_hash(value):
            raise LedgerError(f"value {index} does not match its leaf in the tree")
