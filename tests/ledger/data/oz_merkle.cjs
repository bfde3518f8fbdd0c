// OpenZeppelin's own StandardMerkleTree, run on our data: the reference that
// tests/ledger/test_merkle.py compares tantieme.ledger.merkle against.
//
//   node oz_merkle.cjs fixture            > oz_standard_tree.json   (the committed fixture)
//   node oz_merkle.cjs check IN.json      > OUT.json                (the interop test)
//
// Needs @openzeppelin/merkle-tree 1.0.8 (a pinned devDependency in package.json;
// elsewhere set NODE_PATH to a node_modules that has it).
'use strict';
const fs = require('fs');
const { StandardMerkleTree } = require('@openzeppelin/merkle-tree');
const VERSION = require('@openzeppelin/merkle-tree/package.json').version;

const RECORD_LEAF = ['bytes32', 'address', 'uint256', 'uint256'];
const MIXED = ['address', 'uint256', 'string', 'bool', 'bytes', 'uint16[]', 'int64', 'bytes4'];

// Deterministic, reviewable values. Addresses are all digits, so they are their
// own EIP-55 checksum and the dump is byte-identical to ours.
const byte = i => (i % 256).toString(16).padStart(2, '0');
const digit = i => String(i % 10);
const recordValue = i => [
  '0x' + byte(17 * i + 1).repeat(32), // record digest
  '0x' + digit(i + 1).repeat(40), // payer
  String(1000 + (i % 3)), // model asset id
  String(BigInt(i + 1) * 10n ** 15n), // fee in wei
];
const mixedValue = i => [
  '0x' + digit(i + 3).repeat(40),
  String(2n ** 255n - BigInt(i)),
  ['', 'bread', 'bees and honey', 'Grüße 🐝', 'x'.repeat(70), 'a,b'][i % 6],
  i % 2 === 0,
  '0x' + 'ab'.repeat(i * 7),
  Array.from({ length: i % 4 }, (_, k) => String(k * 1000 + i)),
  String(i % 2 ? -(2n ** 63n) + BigInt(i) : 2n ** 62n + BigInt(i)),
  '0x' + byte(i).repeat(4),
];

function describe(name, tree, options, multiIndices) {
  const dump = tree.dump();
  const multi = tree.getMultiProof(multiIndices);
  return {
    name,
    options,
    root: tree.root,
    dump,
    proofs: dump.values.map((_, i) => tree.getProof(i)),
    leafHashes: dump.values.map(({ value }) => tree.leafHash(value)),
    multiproof: { indices: multiIndices, leaves: multi.leaves, proof: multi.proof, proofFlags: multi.proofFlags },
    render: tree.render(),
  };
}

function fixture() {
  const range = n => Array.from({ length: n }, (_, i) => i);
  const cases = [
    describe('records-7', StandardMerkleTree.of(range(7).map(recordValue), RECORD_LEAF), {}, [0, 3, 5]),
    describe('records-1', StandardMerkleTree.of([recordValue(0)], RECORD_LEAF), {}, [0]),
    describe('mixed-6', StandardMerkleTree.of(range(6).map(mixedValue), MIXED), {}, [1, 2, 4]),
    describe(
      'unsorted-5',
      StandardMerkleTree.of(range(5).map(i => [String(i * 3)]), ['uint256'], { sortLeaves: false }),
      { sortLeaves: false },
      [4, 0],
    ),
  ];
  return {
    generator: {
      library: `@openzeppelin/merkle-tree@${VERSION}`,
      script: 'tests/ledger/data/oz_merkle.cjs',
      command: 'node tests/ledger/data/oz_merkle.cjs fixture > tests/ledger/data/oz_standard_tree.json',
    },
    cases,
  };
}

// For each case built by tantieme: load our dump into OZ (which validates it),
// rebuild the tree from the values with OZ, and report OZ's view of both.
function check(input) {
  return input.cases.map(c => {
    const loaded = StandardMerkleTree.load(c.dump);
    const built = StandardMerkleTree.of(
      c.dump.values.map(v => v.value),
      c.dump.leafEncoding,
      c.options,
    );
    const ourProofsVerify = c.proofs.map((proof, i) =>
      StandardMerkleTree.verify(c.root, c.dump.leafEncoding, c.dump.values[i].value, proof),
    );
    const ourMultiVerifies = StandardMerkleTree.verifyMultiProof(c.root, c.dump.leafEncoding, c.multiproof);
    const multi = built.getMultiProof(c.multiproof.indices);
    return {
      name: c.name,
      loadedRoot: loaded.root,
      builtRoot: built.root,
      builtDump: built.dump(),
      builtProofs: c.dump.values.map((_, i) => built.getProof(i)),
      loadedProofs: c.dump.values.map((_, i) => loaded.getProof(i)),
      builtMultiproof: { leaves: multi.leaves, proof: multi.proof, proofFlags: multi.proofFlags },
      ourProofsVerify,
      ourMultiVerifies,
      render: built.render(),
    };
  });
}

const [mode, file] = process.argv.slice(2);
if (mode === 'fixture') {
  process.stdout.write(JSON.stringify(fixture(), null, 1) + '\n');
} else if (mode === 'check') {
  process.stdout.write(JSON.stringify({ library: VERSION, results: check(JSON.parse(fs.readFileSync(file, 'utf8'))) }) + '\n');
} else {
  process.stderr.write('usage: node oz_merkle.cjs fixture | check IN.json\n');
  process.exit(2);
}
