// tantieme: send a transaction the node built with the browser's wallet (EIP-1193 `window.ethereum`).
// The node cannot sign for anyone: each `button.wallet-tx` carries a transaction the node built
// (`data-to`, `data-calldata`) and the one account that may send it (`data-from`: a work's owner
// tightening its consent, a commons member claiming its dividend). The script checks the wallet's
// account is that one and that the wallet is on this node's chain (`data-chain`), tries the call
// (`eth_call`: one that would revert is not sent, and says why), has the wallet sign and send it,
// and reloads the page once it is mined, showing what the chain now says. A `button.wallet-account`
// opens its `data-href` followed by the wallet's account. Without a wallet (or without script)
// each page shows the same change as a `tantieme` command and the raw transaction.
"use strict";
(() => {
  const wallet = window.ethereum;
  if (!wallet || typeof wallet.request !== "function") return;
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  const account = async () => (await wallet.request({ method: "eth_requestAccounts" }))[0];

  async function mined(hash) {
    for (;;) {
      const receipt = await wallet.request({ method: "eth_getTransactionReceipt", params: [hash] });
      if (receipt) return receipt;
      await sleep(1000);
    }
  }

  async function send(button, status) {
    const { from, only, to, calldata, chain } = button.dataset;
    const sender = await account();
    if (!sender || sender.toLowerCase() !== from.toLowerCase()) {
      status.textContent = `${only}; the wallet's account is ${sender}`;
      return;
    }
    const chainId = parseInt(await wallet.request({ method: "eth_chainId" }), 16);
    if (chainId !== Number(chain)) {
      status.textContent = `the wallet is on chain ${chainId}; switch it to this node's chain ${chain}`;
      return;
    }
    const transaction = { from: sender, to, data: calldata };
    try {
      await wallet.request({ method: "eth_call", params: [transaction, "latest"] });
    } catch (error) {
      status.textContent = `not sent, it would fail: ${(error && error.message) || error}`;
      return;
    }
    status.textContent = "confirm in the wallet…";
    const hash = await wallet.request({ method: "eth_sendTransaction", params: [transaction] });
    status.textContent = `sent ${hash}; waiting for its block…`;
    const receipt = await mined(hash);
    if (Number(receipt.status) !== 1) {
      status.textContent = `transaction ${hash} reverted: nothing changed`;
      return;
    }
    location.reload();
  }

  function offer(button, action) {
    const option = button.closest(".wallet-option");
    const status = option.querySelector(".tx-status");
    button.hidden = false;
    option.querySelector(".without-wallet").hidden = true;
    button.addEventListener("click", () => {
      button.disabled = true;
      action(button, status)
        .catch((error) => { status.textContent = `not sent: ${(error && error.message) || error}`; })
        .finally(() => { button.disabled = false; });
    });
  }

  for (const button of document.querySelectorAll("button.wallet-tx[data-calldata]")) offer(button, send);
  for (const button of document.querySelectorAll("button.wallet-account[data-href]")) {
    offer(button, async () => { location.href = button.dataset.href + (await account()); });
  }
})();
