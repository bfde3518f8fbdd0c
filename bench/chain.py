"""Embedded chain figures: throughput, startup on 1,000 blocks, log queries.

    python bench/chain.py

Not collected by pytest (no `test_` prefix). Uses a throwaway directory.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tantieme.chain import artifacts, connect, dev_account, open_embedded
from tantieme.chain.deploy import TOKEN_EIP712_VERSION, TOKEN_NAME, TOKEN_SYMBOL

N = 300


def main() -> None:
    root = Path(tempfile.mkdtemp())
    directory = root / "chain"
    token_artifact = artifacts.load("ai_token")
    with connect(directory=directory) as conn:
        w3, to = conn.w3, dev_account(1).address
        factory = w3.eth.contract(abi=token_artifact.abi, bytecode=token_artifact.bytecode)
        deploy = factory.constructor(TOKEN_NAME, TOKEN_SYMBOL, TOKEN_NAME, TOKEN_EIP712_VERSION)
        address = conn.transact(deploy, gas=8_000_000)["contractAddress"]
        contract = w3.eth.contract(address=address, abi=token_artifact.abi)
        conn.transact(contract.functions.mint(conn.account.address, 10**30), gas=200_000)
        cases = (
            ("ETH transfer, explicit gas", lambda i: {"to": to, "value": 1}, 21_000),
            ("ETH transfer, estimated gas", lambda i: {"to": to, "value": 1}, None),
            ("token transfer, explicit gas", lambda i: contract.functions.transfer(to, i + 1), 60_000),
            ("token transfer, estimated gas", lambda i: contract.functions.transfer(to, i + 1), None),
        )
        for label, make, gas in cases:
            start = time.perf_counter()
            for i in range(N):
                conn.transact(make(i), gas=gas)
            elapsed = time.perf_counter() - start
            print(f"{label:30s} {N / elapsed:6.1f} tx/s  {elapsed / N * 1000:5.1f} ms/tx")
        call = {"from": conn.account.address, "to": address, "data": "0x"}
        call["data"] = contract.functions.transfer(to, 7)._encode_transaction_data()
        start = time.perf_counter()
        for _ in range(50):
            w3.eth.estimate_gas(call)
        print(f"{'eth_estimateGas':30s} {(time.perf_counter() - start) / 50 * 1000:5.1f} ms/call")
        while w3.eth.block_number < 1_000:
            conn.transact({"to": to, "value": 1}, gas=21_000)
        first = w3.eth.get_block(2)["transactions"][0]
    blocks = 0
    start = time.perf_counter()
    with open_embedded(directory) as chain:
        blocks = chain.w3.eth.block_number
        opened = time.perf_counter() - start
        start = time.perf_counter()
        chain.w3.eth.get_transaction_receipt(first)
        receipt = time.perf_counter() - start
        start = time.perf_counter()
        logs = chain.w3.eth.get_logs({"fromBlock": 0, "toBlock": "latest", "address": address})
        all_logs = time.perf_counter() - start
        start = time.perf_counter()
        other = "0x" + "00" * 12 + dev_account(5).address[2:].lower()
        none = chain.w3.eth.get_logs({"fromBlock": 0, "toBlock": "latest", "topics": [None, other]})
        no_logs = time.perf_counter() - start
    print(f"open a chain of {blocks} blocks    {opened * 1000:5.1f} ms (after imports)")
    cold = subprocess.run(
        [
            sys.executable,
            "-c",
            "import time; t = time.perf_counter(); from tantieme.chain import open_embedded; "
            f"c = open_embedded({str(directory)!r}); c.w3.eth.block_number; c.close(); "
            "print(time.perf_counter() - t)",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    print(f"{'new process: import + open':30s} {float(cold.stdout) * 1000:5.0f} ms")
    print(f"{'receipt of block 2':30s} {receipt * 1000:5.1f} ms")
    print(f"get_logs 0..{blocks}, {len(logs)} logs      {all_logs * 1000:5.0f} ms")
    print(f"get_logs 0..{blocks}, {len(none)} logs (bloom) {no_logs * 1000:5.0f} ms")
    size = sum(f.stat().st_size for f in directory.iterdir())
    print(f"{'database size':30s} {size / 2**20:5.1f} MiB")
    shutil.rmtree(root)


if __name__ == "__main__":
    main()
