// A deposit-mode request's `X-Tantieme-Payer` header made by an independent tool: ethers
// hashes the body, writes the request text as docs/api.md gives it, and signs it (EIP-191).
//
//   node payer_auth_ethers.cjs '{"key", "method", "path", "body", "at", "operator", "chainId"}'
//
// Prints the header's value, PAYER:TIME:SIGNATURE. Needs ethers 6.17.0 (package.json).
'use strict';
const { Wallet, getAddress, sha256, toUtf8Bytes } = require('ethers');

async function main(input) {
  const a = JSON.parse(input);
  const wallet = new Wallet(a.key);
  const text = [
    'tantieme request',
    `${a.method.toUpperCase()} ${a.path}`,
    `body sha256: ${sha256(toUtf8Bytes(a.body)).slice(2)}`,
    `time: ${a.at}`,
    `operator: ${getAddress(a.operator)}`,
    `chain: ${a.chainId}`,
  ].join('\n');
  process.stdout.write(`${wallet.address}:${a.at}:${await wallet.signMessage(text)}\n`);
}

main(process.argv[2]).catch((e) => { console.error(e); process.exit(1); });
