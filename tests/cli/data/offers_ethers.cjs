// The model offers as an independent tool reads them: ethers calls the offer registry's
// `activeCount` and pages through `activeOffers` (64 at a time) over JSON-RPC.
//
//   node offers_ethers.cjs RPC_URL REGISTRY
//
// Prints a JSON list of offers with the contract's field names, numbers as decimal strings.
// Needs ethers 6.17.0 (package.json).
'use strict';
const { Contract, JsonRpcProvider } = require('ethers');

const ABI = [
  'function activeCount() view returns (uint256)',
  'function activeOffers(uint256 start, uint256 count) view returns ((uint256 agentId, uint256 model, '
    + 'uint256 pricePromptPerMillion, uint256 priceCompletionPerMillion, string endpoint, uint32 p95LatencyMs, '
    + 'uint8 consent, bool active)[])',
];

async function main(url, address) {
  const registry = new Contract(address, ABI, new JsonRpcProvider(url));
  const count = await registry.activeCount();
  const offers = [];
  for (let start = 0n; start < count; start += 64n) {
    for (const offer of await registry.activeOffers(start, 64n)) {
      offers.push(Object.fromEntries(Object.entries(offer.toObject()).map(([k, v]) => [k, typeof v === 'boolean' ? v : v.toString()])));
    }
  }
  process.stdout.write(JSON.stringify(offers) + '\n');
}

main(process.argv[2], process.argv[3]).catch((e) => { console.error(e); process.exit(1); });
