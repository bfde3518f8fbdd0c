// The pinned EIP-712 vectors (eip712_vectors.json), recomputed by independent
// tools: ethers' TypedDataEncoder and Wallet (RFC 6979 signatures) for the
// domain, the `Interaction` record and the `Batch`, and OpenZeppelin's
// StandardMerkleTree for the record's leaf and the batch's asset tree.
//
//   node eip712_ethers.cjs eip712_vectors.json    > OUT.json   (tests/ledger/test_records.py)
//
// Needs ethers 6.17.0 and @openzeppelin/merkle-tree 1.0.8 (pinned devDependencies
// in package.json).
'use strict';
const fs = require('fs');
const { TypedDataEncoder, Wallet, id } = require('ethers');
const { StandardMerkleTree } = require('@openzeppelin/merkle-tree');

// anvil's development key #0 (public; never holds value): the vectors' signer.
const SIGNER_KEY = '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80';

// The type string "Name(type a,type b,...)" as ethers' field list.
const fields = type => type.slice(type.indexOf('(') + 1, -1).split(',').map(f => {
  const [t, name] = f.split(' ');
  return { name, type: t };
});

async function main(file) {
  const vectors = JSON.parse(fs.readFileSync(file, 'utf8'));
  const domain = vectors.domain;
  const wallet = new Wallet(SIGNER_KEY);
  const out = {
    signer: wallet.address,
    domainSeparator: TypedDataEncoder.hashDomain(domain),
  };
  for (const [name, primary, key] of [['interaction', 'Interaction', 'record'], ['batch', 'Batch', 'batch']]) {
    const vector = vectors[name];
    const types = { [primary]: fields(vector.type) };
    const message = vector[key];
    out[name] = {
      typehash: id(vector.type),
      structHash: TypedDataEncoder.hashStruct(primary, types, message),
      digest: TypedDataEncoder.hash(domain, types, message),
      signature: await wallet.signTypedData(domain, types, message),
    };
  }
  const record = vectors.interaction;
  out.interaction.leafHash = StandardMerkleTree.of([record.leaf], record.leafEncoding).leafHash(record.leaf);
  const assets = vectors.assets;
  const tree = StandardMerkleTree.of(assets.leaves, assets.leafEncoding);
  const multi = tree.getMultiProof(assets.leaves.map((_, i) => i));
  out.assets = {
    leafHashes: assets.leaves.map(leaf => tree.leafHash(leaf)),
    root: tree.root,
    multiproofVerifies: StandardMerkleTree.verifyMultiProof(tree.root, assets.leafEncoding, assets.multiproof),
    multiproof: { leaves: multi.leaves, proof: multi.proof, proofFlags: multi.proofFlags },
  };
  process.stdout.write(JSON.stringify(out) + '\n');
}

main(process.argv[2]).catch(err => {
  process.stderr.write(String(err.stack || err) + '\n');
  process.exit(1);
});
