"""Processes that use the embedded chain, for the crash, lock and restart tests.

    python chainproc.py hold          # open; on each stdin line "tx" send one; exit at EOF
    python chainproc.py mine          # send transfers forever, printing each block number
    python chainproc.py store ARTIFACT.json
"""

from __future__ import annotations

import json
import os
import sys

from tantieme.chain import connect, dev_account

RECIPIENT = dev_account(1).address


def hold() -> None:
    with connect() as conn:
        print("ready", os.getpid(), flush=True)
        for line in sys.stdin:
            if line.strip() == "tx":
                receipt = conn.transact({"to": RECIPIENT, "value": 1}, gas=21_000)
                print(receipt["blockNumber"], flush=True)


def mine() -> None:
    with connect() as conn:
        value = 1
        while True:
            receipt = conn.transact({"to": RECIPIENT, "value": value}, gas=21_000)
            print(receipt["blockNumber"], flush=True)
            value += 1


def store(artifact_path: str) -> None:
    artifact = json.loads(open(artifact_path).read())
    with connect() as conn:
        deployed = conn.transact({"data": artifact["bytecode"]})
        contract = conn.w3.eth.contract(address=deployed["contractAddress"], abi=artifact["abi"])
        first = conn.transact(contract.functions.store(5))
        second = conn.transact(contract.functions.store(42), gas=100_000)
        print(
            json.dumps(
                {
                    "address": contract.address,
                    "first": first["transactionHash"].to_0x_hex(),
                    "second": second["transactionHash"].to_0x_hex(),
                    "second_block": second["blockNumber"],
                }
            )
        )


if __name__ == "__main__":
    command, *args = sys.argv[1:]
    {"hold": hold, "mine": mine, "store": store}[command](*args)
