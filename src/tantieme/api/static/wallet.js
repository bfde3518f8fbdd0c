// tantieme: tighten a work's AI consent with the browser's wallet (EIP-1193 `window.ethereum`).
// The node cannot sign for a creator: each button carries the registry transaction the node
// built (`setAIConsent` calldata); the wallet signs and sends it; the page reloads once it is
// mined and shows the consent read from the chain. Without a wallet (or without script) the
// page shows the same change as a `tantieme consent` command.
"use strict";
(() => {
  const wallet = window.ethereum;
  if (!wallet || typeof wallet.request !== "function") return;
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  async function mined(hash) {
    for (;;) {
      const receipt = await wallet.request({ method: "eth_getTransactionReceipt", params: [hash] });
      if (receipt) return receipt;
      await sleep(1000);
    }
  }

  async function tighten(button, status) {
    const { owner, to, calldata, chain } = button.dataset;
    const [account] = await wallet.request({ method: "eth_requestAccounts" });
    if (!account || account.toLowerCase() !== owner.toLowerCase()) {
      status.textContent = `only the work's owner ${owner} may tighten its consent; the wallet's account is ${account}`;
      return;
    }
    const chainId = parseInt(await wallet.request({ method: "eth_chainId" }), 16);
    if (chainId !== Number(chain)) {
      status.textContent = `the wallet is on chain ${chainId}; switch it to this node's chain ${chain}`;
      return;
    }
    status.textContent = "confirm in the wallet…";
    const hash = await wallet.request({ method: "eth_sendTransaction", params: [{ from: account, to, data: calldata }] });
    status.textContent = `sent ${hash}; waiting for its block…`;
    const receipt = await mined(hash);
    if (Number(receipt.status) !== 1) {
      status.textContent = `transaction ${hash} reverted: nothing changed`;
      return;
    }
    location.reload();
  }

  for (const button of document.querySelectorAll("button.tighten[data-calldata]")) {
    const status = button.closest(".tighten-option").querySelector(".tx-status");
    button.hidden = false;
    button.parentElement.querySelector(".without-wallet").hidden = true;
    button.addEventListener("click", () => {
      button.disabled = true;
      tighten(button, status)
        .catch((error) => { status.textContent = `not sent: ${(error && error.message) || error}`; })
        .finally(() => { button.disabled = false; });
    });
  }
})();
