"""An agent treasury (ERC-1271) checked by a tool that is not ours (Foundry's `cast`) on anvil:
`cast` computes the EIP-3009 `TransferWithAuthorization` digest itself (domain from the token's
name, version, chain and address), signs it with the agent's key as typed data, and asks the
treasury's `isValidSignature`: refused until the agent approves that payment (cast sends it and
decodes the `PaymentApproved` event's digest), accepted then; another signer, another amount,
or a pause make it invalid, and a pause kills the approval for good. `cast` finally submits the
token's `transferWithAuthorization` from the treasury, which the token checks through ERC-1271.

Then the treasury's two other entry points, driven by cast: `refundPayment` (the payee signs an
EIP-3009 `ReceiveWithAuthorization` of the refund to the treasury as typed data, a stranger
submits it, cast reads the balances, `spentToday` and the `PaymentRefunded` event), and
`rate(data)` (cast encodes the reputation registry's `provePayment` and `giveFeedback` calls
the agent key sends through the treasury; cast reads the feedback back, given by the treasury)."""

from __future__ import annotations

import json
import os

from web3.logs import DISCARD

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
APPROVE = "approvePayment(address,uint256,uint256,uint256,bytes32)"
TRANSFER = "transferWithAuthorization(address,address,uint256,uint256,uint256,bytes32,uint8,bytes32,bytes32)"


class Cast:
    """`cast` on anvil with the token's EIP-712 domain computed by cast itself, from the token's
    public name and version: text answers, calls, sends from dev keys, EIP-3009 digests and
    typed-data signatures."""

    def __init__(self, cast, url: str, token: str) -> None:
        self.cast, self.rpc, self.token = cast, ("--rpc-url", url), token
        (name,), (version,) = self.call(token, "name()(string)"), self.call(token, "version()(string)")
        self.name, self.version, self.chain_id = name, version, self.text("chain-id", *self.rpc)
        self.domain = self.text("keccak", self.text(
            "abi-encode", "f(bytes32,bytes32,bytes32,uint256,address)", self.text("keccak", DOMAIN_TYPE),
            self.text("keccak", name), self.text("keccak", version), self.chain_id, token))

    def text(self, *args: object) -> str:
        return self.cast(*map(str, args), as_json=False)

    def call(self, target: str, signature: str, *args: object) -> list:
        return self.cast("call", target, signature, *map(str, args), *self.rpc)

    def send(self, key: int, target: str, signature: str, *args: object, ok: bool = True):
        return self.cast("send", target, signature, *map(str, args), "--private-key", DEV_PRIVATE_KEYS[key], *self.rpc,
                         ok=ok)

    def balance(self, address: str) -> int:
        return int(str(self.call(self.token, "balanceOf(address)(uint256)", address)[0]).split()[0])

    def digest(self, primary: str, sender: str, to: str, amount: int, valid_before: int, nonce: str) -> str:
        """The EIP-3009 digest of `primary` (`TransferWithAuthorization` or `ReceiveWithAuthorization`)."""
        kind = f"{primary}(" + ",".join(f"{k} {n}" for n, k in TRANSFER_FIELDS) + ")"
        fields = self.text("abi-encode", "f(bytes32,address,address,uint256,uint256,uint256,bytes32)",
                           self.text("keccak", kind), sender, to, amount, 0, valid_before, nonce)
        return self.text("keccak", self.text("concat-hex", "0x1901", self.domain, self.text("keccak", fields)))

    def signed(self, key: int, primary: str, sender: str, to: str, amount: int, valid_before: int, nonce: str) -> str:
        """The authorization as a wallet signs it: EIP-712 typed data, hashed by cast."""
        typed = {
            "types": {"EIP712Domain": [{"name": n, "type": t} for n, t in (
                ("name", "string"), ("version", "string"), ("chainId", "uint256"), ("verifyingContract", "address"))],
                      primary: [{"name": n, "type": t} for n, t in TRANSFER_FIELDS]},
            "primaryType": primary,
            "domain": {"name": self.name, "version": self.version, "chainId": int(self.chain_id),
                       "verifyingContract": self.token},
            "message": {"from": sender, "to": to, "value": str(amount), "validAfter": "0",
                        "validBefore": str(valid_before), "nonce": nonce},
        }
        signature = self.text("wallet", "sign", "--data", json.dumps(typed), "--private-key", DEV_PRIVATE_KEYS[key])
        assert signature == self.text("wallet", "sign", "--no-hash", self.digest(primary, sender, to, amount,
                                                                                 valid_before, nonce),
                                      "--private-key", DEV_PRIVATE_KEYS[key])  # the typed data is that digest
        return signature


def _vrs(signature: str) -> tuple[int, str, str]:
    return int(signature[130:], 16), "0x" + signature[2:66], "0x" + signature[66:130]


def _funded_treasury(agent: str, payee: str) -> tuple[str, str, int]:
    """The node's treasury holding 1 TAI, agent key `agent`, `payee` allowed, ½ TAI a payment and
    1 TAI a day: its address, the token's, and a `validBefore` an hour ahead."""
    with Node.open() as node:
        address, _ = treasury.fund(node, TAI)
        treasury.set_limits(node, daily=TAI, per_payment=TAI // 2, allow=[payee], agent=agent)
        return address, node.deployment.token, node.conn.w3.eth.get_block("latest")["timestamp"] + 3_600


def test_treasury__erc1271_checked_by_cast_against_its_own_digest(initialised_anvil, cast):
    rpc = ("--rpc-url", initialised_anvil)
    payee = dev_account(PAYEE).address
    address, token, valid_before = _funded_treasury(dev_account(AGENT).address, payee)
    c = Cast(cast, initialised_anvil, token)
    assert c.call(token, "DOMAIN_SEPARATOR()(bytes32)") == [c.domain]  # cast's own digest is the token's

    def digest(amount: int, nonce: str) -> str:
        return c.digest("TransferWithAuthorization", address, payee, amount, valid_before, nonce)

    def signed(key: int, amount: int, nonce: str) -> str:
        return c.signed(key, "TransferWithAuthorization", address, payee, amount, valid_before, nonce)

    def check(amount: int, nonce: str, signature: str) -> str:
        (answer,) = c.call(address, "isValidSignature(bytes32,bytes)(bytes4)", digest(amount, nonce), signature)
        return answer

    def approve(nonce: str) -> None:
        assert c.send(AGENT, address, APPROVE, payee, AMOUNT, 0, valid_before, nonce)["status"] == "0x1"

    first, second = ("0x" + os.urandom(32).hex() for _ in range(2))
    signature = signed(AGENT, AMOUNT, first)
    assert check(AMOUNT, first, signature) == INVALID  # not approved yet
    assert reverted(c.send(STRANGER, address, APPROVE, payee, AMOUNT, 0, valid_before, first, ok=False)) == (
        "treasury: caller is not the agent")
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

    def collect(nonce: str, signature: str, ok: bool = True):
        return c.send(PAYEE, token, TRANSFER, address, payee, AMOUNT, 0, valid_before, nonce, *_vrs(signature), ok=ok)

    assert reverted(collect(first, signature, ok=False)) == "ai_token: invalid signature"

    # A new approval, collected by anyone through the token's ERC-1271 check; once.
    approve(second)
    signature = signed(AGENT, AMOUNT, second)
    assert check(AMOUNT, second, signature) == MAGIC
    before = c.balance(payee)
    assert collect(second, signature)["status"] == "0x1"
    assert c.balance(payee) == before + AMOUNT
    assert c.call(token, "authorizationState(address,bytes32)(bool)", address, second) == [True]
    assert reverted(collect(second, signature, ok=False)) == "ai_token: authorization is used or canceled"


def _paid(c: Cast, address: str, payee: str, valid_before: int) -> str:
    """A payment of `AMOUNT` from the treasury to `payee`, approved by the agent key and
    collected (submitted by dev account `PAYEE`: anyone may), both sent by cast: its nonce."""
    nonce = "0x" + os.urandom(32).hex()
    assert c.send(AGENT, address, APPROVE, payee, AMOUNT, 0, valid_before, nonce)["status"] == "0x1"
    signature = c.signed(AGENT, "TransferWithAuthorization", address, payee, AMOUNT, valid_before, nonce)
    assert c.send(PAYEE, c.token, TRANSFER, address, payee, AMOUNT, 0, valid_before, nonce,
                  *_vrs(signature))["status"] == "0x1"
    return nonce


REFUND = "refundPayment(address,uint256,uint256,uint256,bytes32,uint256,uint256,bytes32,uint8,bytes32,bytes32)"


def test_treasury_refund__payee_signs_with_cast_a_stranger_submits_allowance_restored_once(initialised_anvil, cast):
    payee = dev_account(PAYEE).address
    address, token, valid_before = _funded_treasury(dev_account(AGENT).address, payee)
    c = Cast(cast, initialised_anvil, token)
    nonce = _paid(c, address, payee, valid_before)
    spent = "spentToday()(uint256)"
    assert [int(str(x).split()[0]) for x in c.call(address, spent)] == [AMOUNT]
    held, paid = c.balance(address), c.balance(payee)
    refund, refund_nonce = AMOUNT // 5 * 3, "0x" + os.urandom(32).hex()

    def refunded(key: int, amount: int, ok: bool = True):
        """The payee's `ReceiveWithAuthorization` of `refund` to the treasury, signed by `key`,
        submitted by a stranger with the payment `amount`."""
        signature = c.signed(key, "ReceiveWithAuthorization", payee, address, refund, valid_before, refund_nonce)
        return c.send(STRANGER, address, REFUND, payee, amount, 0, valid_before, nonce, refund, valid_before,
                      refund_nonce, *_vrs(signature), ok=ok)

    assert reverted(refunded(STRANGER, AMOUNT, ok=False)) == "ai_token: invalid signature"
    assert reverted(refunded(PAYEE, AMOUNT + 1, ok=False)) == "treasury: no such approval"
    assert refunded(PAYEE, AMOUNT)["status"] == "0x1"
    assert (c.balance(address), c.balance(payee)) == (held + refund, paid - refund)
    assert [int(str(x).split()[0]) for x in c.call(address, spent)] == [AMOUNT - refund]  # the day's room comes back
    logged = cast_events(cast, address, "PaymentRefunded(address indexed,bytes32 indexed,uint256,bytes32,bool)",
                         "(uint256,bytes32,bool)", c.rpc)
    assert [(indexed, data[0], data[2]) for indexed, data in logged] == [([payee, nonce], refund, True)]
    assert reverted(refunded(PAYEE, AMOUNT, ok=False)) == "treasury: no such approval"  # once


RECORD = "(address,address,uint256,bytes32,bytes32,uint256[],uint16[],uint32,uint32,uint256,uint256,uint64)"
PROVE = f"provePayment(uint256,uint256,{RECORD},bytes32[],bytes32)"
GIVE = "giveFeedback(uint256,int128,uint8,string,string,string,string,bytes32)"


def _settled_for(address: str, nonce: str) -> tuple[int, str, str, list[str], str]:
    """The node registers an agent (its own wallet), journals an answer bound to the treasury's
    x402 payment `nonce` (the node its record's payer, as `serve` does) and settles it: the agent
    id, the reputation registry, the record as cast writes a tuple, its proof and its digest."""
    from tantieme.agents.identity import identity_registry
    from tantieme.assets import registry
    from tantieme.assets.terms import preset
    from tantieme.ledger import settlement
    from tantieme.ledger.bundle import export
    from tantieme.payments.per_request import record_nonce

    with Node.open() as node:
        identity = identity_registry(node)
        receipt = node.conn.transact(identity.functions.register(), gas=300_000)
        (registered,) = identity.events.Registered().process_receipt(receipt, errors=DISCARD)
        work, model = (registry.register_hash(node, os.urandom(32), kind=kind, terms=preset("open"), title="t",
                                              media_type="text/plain").id for kind in ("work", "model"))
        book = settlement.journal()
        row = settlement.record(node, node.account, question="How many hives?", answer="Four.", details={},
                                book=book, nonce=record_nonce(address, nonce), model=model, sources=[work],
                                weights=[0.6], prompt_tokens=120, completion_tokens=8, fee=AMOUNT)
        settlement.settle(node, {node.address: node.account}, book=book)
        bundle = export(node, book, row.digest)
        r = row.signed.record
        record = (f"({r.payer},{r.operator},{r.model},0x{r.prompt_hash.hex()},0x{r.output_hash.hex()},"
                  f"[{','.join(map(str, r.sources))}],[{','.join(map(str, r.weights))}],{r.prompt_tokens},"
                  f"{r.completion_tokens},{r.fee},{r.nonce},{r.timestamp})")
        return (registered["args"]["agentId"], node.deployment.reputation, record,
                bundle["proof"], bundle["anchor"]["batch_id"], row.digest)


def test_treasury_rate__cast_encodes_the_rating_registry_records_the_treasury(initialised_anvil, cast):
    with Node.open() as node:
        operator = node.address
    address, token, valid_before = _funded_treasury(dev_account(AGENT).address, operator)
    c = Cast(cast, initialised_anvil, token)
    nonce = _paid(c, address, operator, valid_before)  # the node's x402 payment
    agent_id, reputation, record, proof, batch_id, digest = _settled_for(address, nonce)
    prove = c.text("calldata", PROVE, agent_id, batch_id, record, f"[{','.join(proof)}]", nonce)
    give = c.text("calldata", GIVE, agent_id, 87, 0, "starred", "", "", "", digest)
    rate = "rate(bytes)(bytes)"  # `provePayment` answers the record's digest

    assert reverted(c.send(STRANGER, address, "rate(bytes)", prove, ok=False)) == "treasury: caller is not the agent"
    assert reverted(c.send(AGENT, reputation, PROVE, agent_id, batch_id, record, f"[{','.join(proof)}]", nonce,
                           ok=False)) == "reputation: caller is not the payer"  # the agent key is not the payer
    agent = dev_account(AGENT).address
    assert cast("call", address, rate, prove, "--from", agent, *c.rpc) == [digest]  # the registry's answer
    assert c.send(AGENT, address, "rate(bytes)", prove)["status"] == "0x1"
    assert c.send(AGENT, address, "rate(bytes)", give)["status"] == "0x1"
    assert c.call(reputation, "getClients(uint256)(address[])", agent_id) == [[address]]
    value, decimals, tag1, *_ = c.call(reputation, "readFeedback(uint256,address,uint64)(int128,uint8,string,string,bool)",
                                       agent_id, address, 1)
    assert (int(value), int(decimals), tag1) == (87, 0, "starred")
    assert reverted(c.send(AGENT, address, "rate(bytes)", give, ok=False)) == "reputation: interaction already rated"
    assert reverted(c.send(AGENT, address, "rate(bytes)", prove, ok=False)) == "reputation: payment already proved"
    transfer = c.text("calldata", "transfer(address,uint256)", dev_account(AGENT).address, 1)
    assert reverted(c.send(AGENT, address, "rate(bytes)", transfer, ok=False)) == "treasury: not a rating call"
