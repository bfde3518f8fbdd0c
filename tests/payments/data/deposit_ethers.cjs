// A payer's deposit signatures made by an independent tool, ethers' Wallet (RFC 6979):
// the EIP-2612 `Permit` of the ledger and the EIP-3009 `ReceiveWithAuthorization`
// whose nonce names the operator, keccak256(abi.encode(operator, salt)).
//
//   node deposit_ethers.cjs '{"key", "token": {name, version, chainId, verifyingContract},
//                             "ledger", "operator", "amount", "permitNonce", "deadline",
//                             "validBefore", "salt"}'   > OUT.json   (tests/payments/test_deposit_http.py)
//
// Needs ethers 6.17.0 (a pinned devDependency in package.json).
'use strict';
const { AbiCoder, Signature, Wallet, keccak256 } = require('ethers');

async function main(input) {
  const a = JSON.parse(input);
  const wallet = new Wallet(a.key);
  const permit = await wallet.signTypedData(a.token, {
    Permit: [
      { name: 'owner', type: 'address' },
      { name: 'spender', type: 'address' },
      { name: 'value', type: 'uint256' },
      { name: 'nonce', type: 'uint256' },
      { name: 'deadline', type: 'uint256' },
    ],
  }, { owner: wallet.address, spender: a.ledger, value: a.amount, nonce: a.permitNonce, deadline: a.deadline });
  const nonce = keccak256(AbiCoder.defaultAbiCoder().encode(['address', 'bytes32'], [a.operator, a.salt]));
  const authorization = await wallet.signTypedData(a.token, {
    ReceiveWithAuthorization: [
      { name: 'from', type: 'address' },
      { name: 'to', type: 'address' },
      { name: 'value', type: 'uint256' },
      { name: 'validAfter', type: 'uint256' },
      { name: 'validBefore', type: 'uint256' },
      { name: 'nonce', type: 'bytes32' },
    ],
  }, { from: wallet.address, to: a.ledger, value: a.amount, validAfter: 0, validBefore: a.validBefore, nonce });
  const split = s => { const sig = Signature.from(s); return { v: sig.v, r: sig.r, s: sig.s, serialized: s }; };
  return { payer: wallet.address, nonce, permit: split(permit), authorization: split(authorization) };
}

main(process.argv[2]).then(out => console.log(JSON.stringify(out))).catch(e => { console.error(e); process.exit(1); });
