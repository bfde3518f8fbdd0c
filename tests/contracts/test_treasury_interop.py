"""An agent treasury (ERC-1271) checked by a tool that is not ours (Foundry's `cast`) on anvil:
`cast` computes the EIP-3009 `TransferWithAuthorization` digest itself (domain from the token's
name, version, chain and address), signs it with the agent's key as typed data, and asks the
treasury's `isValidSignature`: refused until the agent approves that payment (cast sends it and
decodes the `PaymentApproved` event's digest), accepted then; another signer, another amount,
or a pause make it invalid, and a pause kills the approval for good. `cast` finally submits the
token's `transferWithAuthorization` from the treasury, which the token checks through ERC-1271."""

from __future__ import annotations

import json
import os

from tantieme.agents import treasury
from tantieme.chain.accounts import DEV_PRIVATE_KEYS, dev_account
from tantieme.node import Node

from .interop import cast_events, reverted

AGENT, PAYEE, STRANGER = 6, 7, 8
TAI = 10**18
AMOUNT = TAI // 4
MAGIC, INVALID = "0x1626ba7e", "0xffffffff"
DOMAIN_TYPE = "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
TRANSFER_FIELDS = [("from", "address"), ("to", "address"), ("value", "uint256"), ("validAfter", "uint256"),
                   ("validBefore", "uint256"), ("nonce", "bytes32")]
TRANSFER_TYPE = "TransferWithAuthorization(" + ",".join(f"{kind} {name}" for name, kind in TRANSFER_FIELDS) + ")"


def test_treasury__erc1271_checked_by_cast_against_its_own_digest(initialised_anvil, cast):
    rpc = ("--rpc-url", initialised_anvil)
    agent, payee = dev_account(AGENT).address, dev_account(PAYEE).address
    with Node.open() as node:
        address, _ = treasury.fund(node, TAI)
        treasury.set_limits(node, daily=TAI, per_payment=TAI // 2, allow=[payee], agent=agent)
        token = node.deployment.token
        valid_before = node.conn.w3.eth.get_block("latest")["timestamp"] + 3_600

    def text(*args: object) -> str:
        return cast(*map(str, args), as_json=False)

    def call(target: str, signature: str, *args: object) -> list:
        return cast("call", target, signature, *map(str, args), *rpc)

    def send(key: int, target: str, signature: str, *args: object, ok: bool = True):
        return cast("send", target, signature, *map(str, args), "--private-key", DEV_PRIVATE_KEYS[key], *rpc, ok=ok)

    # cast's own digest, from the token's public name and version.
    (name,), (version,) = call(token, "name()(string)"), call(token, "version()(string)")
    chain_id = text("chain-id", *rpc)
    domain = text("keccak", text("abi-encode", "f(bytes32,bytes32,bytes32,uint256,address)",
                                 text("keccak", DOMAIN_TYPE), text("keccak", name), text("keccak", version), chain_id,
                                 token))
    assert call(token, "DOMAIN_SEPARATOR()(bytes32)") == [domain]

    def digest(amount: int, nonce: str) -> str:
        fields = text("abi-encode", "f(bytes32,address,address,uint256,uint256,uint256,bytes32)",
                      text("keccak", TRANSFER_TYPE), address, payee, amount, 0, valid_before, nonce)
        return text("keccak", text("concat-hex", "0x1901", domain, text("keccak", fields)))

    def signed(key: int, amount: int, nonce: str) -> str:
        """The authorization as a wallet signs it: EIP-712 typed data, hashed by cast."""
        typed = {
            "types": {"EIP712Domain": [{"name": n, "type": t} for n, t in (
                ("name", "string"), ("version", "string"), ("chainId", "uint256"), ("verifyingContract", "address"))],
                      "TransferWithAuthorization": [{"name": n, "type": t} for n, t in TRANSFER_FIELDS]},
            "primaryType": "TransferWithAuthorization",
            "domain": {"name": name, "version": version, "chainId": int(chain_id), "verifyingContract": token},
            "message": {"from": address, "to": payee, "value": str(amount), "validAfter": "0",
                        "validBefore": str(valid_before), "nonce": nonce},
        }
        signature = text("wallet", "sign", "--data", json.dumps(typed), "--private-key", DEV_PRIVATE_KEYS[key])
        assert signature == text("wallet", "sign", "--no-hash", digest(amount, nonce), "--private-key",
                                 DEV_PRIVATE_KEYS[key])  # the typed data is the digest computed above
        return signature

    def check(amount: int, nonce: str, signature: str) -> str:
        (answer,) = call(address, "isValidSignature(bytes32,bytes)(bytes4)", digest(amount, nonce), signature)
        return answer

    def approve(nonce: str) -> None:
        receipt = send(AGENT, address, "approvePayment(address,uint256,uint256,uint256,bytes32)", payee, AMOUNT, 0,
                       valid_before, nonce)
        assert receipt["status"] == "0x1"

    first, second = ("0x" + os.urandom(32).hex() for _ in range(2))
    signature = signed(AGENT, AMOUNT, first)
    assert check(AMOUNT, first, signature) == INVALID  # not approved yet
    assert reverted(send(STRANGER, address, "approvePayment(address,uint256,uint256,uint256,bytes32)", payee, AMOUNT,
                         0, valid_before, first, ok=False)) == "treasury: caller is not the agent"
    approve(first)
    approved = cast_events(cast, address, "PaymentApproved(address indexed,bytes32 indexed,uint256,uint256,uint256,"
                           "bytes32,uint256)", "(uint256,uint256,uint256,bytes32,uint256)", rpc)
    assert [(indexed, data[:4]) for indexed, data in approved] == [
        ([payee, first], [AMOUNT, 0, valid_before, digest(AMOUNT, first)])]
    assert check(AMOUNT, first, signature) == MAGIC
    assert check(AMOUNT, first, signed(STRANGER, AMOUNT, first)) == INVALID
    assert check(AMOUNT + 1, first, signed(AGENT, AMOUNT + 1, first)) == INVALID

    # Paused, the approval dies, and stays dead after resuming: the token refuses it.
    with Node.open() as node:
        treasury.set_limits(node, paused=True)
        assert check(AMOUNT, first, signature) == INVALID
        treasury.set_limits(node, paused=False)
    assert check(AMOUNT, first, signature) == INVALID
    transfer = "transferWithAuthorization(address,address,uint256,uint256,uint256,bytes32,uint8,bytes32,bytes32)"

    def collect(nonce: str, signature: str, ok: bool = True):
        r, s, v = signature[2:66], signature[66:130], int(signature[130:], 16)
        return send(PAYEE, token, transfer, address, payee, AMOUNT, 0, valid_before, nonce, v, "0x" + r, "0x" + s,
                    ok=ok)

    assert reverted(collect(first, signature, ok=False)) == "ai_token: invalid signature"

    # A new approval, collected by anyone through the token's ERC-1271 check; once.
    approve(second)
    signature = signed(AGENT, AMOUNT, second)
    assert check(AMOUNT, second, signature) == MAGIC
    before = int(str(call(token, "balanceOf(address)(uint256)", payee)[0]))
    assert collect(second, signature)["status"] == "0x1"
    assert int(str(call(token, "balanceOf(address)(uint256)", payee)[0])) == before + AMOUNT
    assert call(token, "authorizationState(address,bytes32)(bool)", address, second) == [True]
    assert reverted(collect(second, signature, ok=False)) == "ai_token: authorization is used or canceled"
