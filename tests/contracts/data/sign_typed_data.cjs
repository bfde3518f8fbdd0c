// EIP-712 signatures made by ethers (an implementation independent of the
// contracts' and of eth-account), for the DAO's interop test:
//
//   node sign_typed_data.cjs < REQUEST.json > SIGNATURES.json   (tests/contracts/test_dao_interop.py)
//
// REQUEST: {"key": "0x…", "messages": [{"domain", "types", "message"}, …]}
// (types without EIP712Domain); prints the 65-byte signatures r ‖ s ‖ v, in order.
// Needs ethers 6.17.0 (a pinned devDependency in package.json).
'use strict';
const fs = require('fs');
const { Wallet } = require('ethers');

async function main() {
  const request = JSON.parse(fs.readFileSync(0, 'utf8'));
  const wallet = new Wallet(request.key);
  const out = [];
  for (const { domain, types, message } of request.messages) {
    out.push(await wallet.signTypedData(domain, types, message));
  }
  process.stdout.write(JSON.stringify(out));
}

main().catch(error => { console.error(error); process.exit(1); });
