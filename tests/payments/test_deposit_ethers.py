"""A payer's deposit signatures made by an independent tool (ethers, `data/deposit_ethers.cjs`)
are the ones tantieme makes, and the ledger takes them on a real chain (embedded and anvil):
`depositWithPermit` sent by the payer, `depositWithAuthorization` submitted by the node."""

from __future__ import annotations

import json
import time
from pathlib import Path

from tantieme.chain.accounts import DEV_PRIVATE_KEYS, dev_account
from tantieme.chain.permit import sign_permit, sign_receive_authorization
from tantieme.payments import deposit

DATA = Path(__file__).parent / "data"
PAYER_INDEX = 5
PAYER = dev_account(PAYER_INDEX)
AMOUNT = 3 * 10**17


def test_deposit_signatures_by_ethers__the_same_as_ours__the_ledger_takes_them(node, nodejs):
    node.faucet(PAYER.address)
    payer = node.as_account(PAYER)
    token = node.token.functions
    name, version, chain_id, verifying = token.eip712Domain().call()[1:5]
    ledger, operator = node.deployment.ledger, node.address
    deadline = valid_before = int(time.time()) + 3_600
    salt = "0x" + "5a" * 32
    permit_nonce = token.nonces(PAYER.address).call()
    ethers = nodejs(DATA / "deposit_ethers.cjs", json.dumps({
        "key": DEV_PRIVATE_KEYS[PAYER_INDEX],
        "token": {"name": name, "version": version, "chainId": chain_id, "verifyingContract": verifying},
        "ledger": ledger, "operator": operator, "amount": str(AMOUNT), "permitNonce": permit_nonce,
        "deadline": deadline, "validBefore": valid_before, "salt": salt,
    }))
    assert ethers["payer"] == PAYER.address
    assert bytes.fromhex(ethers["nonce"][2:]) == deposit.authorization_nonce(operator, bytes.fromhex(salt[2:]))

    def vrs(signature: dict) -> tuple[int, bytes, bytes]:
        return signature["v"], bytes.fromhex(signature["r"][2:]), bytes.fromhex(signature["s"][2:])

    domain = token.eip712Domain().call()
    permit, authorization = vrs(ethers["permit"]), vrs(ethers["authorization"])
    assert permit == sign_permit(PAYER, domain, ledger, AMOUNT, permit_nonce, deadline)
    assert authorization == sign_receive_authorization(
        PAYER, domain, ledger, AMOUNT, 0, valid_before, bytes.fromhex(ethers["nonce"][2:])
    )

    # The payer sends its permit deposit itself; the node submits the authorization for it.
    payer.conn.transact(node.ledger.functions.depositWithPermit(operator, AMOUNT, deadline, *permit), gas=200_000)
    by_ethers = deposit.DepositAuthorization.from_dict({
        "payer": PAYER.address, "operator": operator, "amount": str(AMOUNT), "validBefore": str(valid_before),
        "salt": salt, "signature": ethers["authorization"]["serialized"],
    })
    before = node.balance(PAYER.address)
    deposit.submit_deposit(node, by_ethers)
    assert node.ledger.functions.deposits(PAYER.address, operator).call() == 2 * AMOUNT
    assert node.balance(PAYER.address) == before - AMOUNT
