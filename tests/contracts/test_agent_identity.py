"""AgentIdentity (`agent_identity.vy`): the ERC-8004 identity registry.

Signatures, events and rules as ERC-8004 (and its reference implementation)
give them; `SPEC.md` "AgentIdentity" lists the rules each test pins.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import boa
import pytest
from eth_account import Account
from eth_utils import keccak

from .agent_fixtures import IDENTITY, abi_signatures, raw_events
from .conftest import ZERO_ADDRESS, Signer, events

WALLET = boa.load_partial(str(Path(__file__).parent / "mocks" / "erc1271_wallet.vy"))

NOT_MANAGER = "identity: caller is not the owner or approved"
NO_AGENT = "erc721: invalid token ID"
URI = "ipfs://bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy5/agent.json"

# ERC-8004's functions and events, as the EIP writes them (its text, "Identity Registry").
ERC8004_FUNCTIONS = (
    "register()",
    "register(string)",
    "register(string,(string,bytes)[])",
    "setAgentURI(uint256,string)",
    "getMetadata(uint256,string)",
    "setMetadata(uint256,string,bytes)",
    "setAgentWallet(uint256,address,uint256,bytes)",
    "getAgentWallet(uint256)",
    "unsetAgentWallet(uint256)",
    "tokenURI(uint256)",
    "ownerOf(uint256)",
    "transferFrom(address,address,uint256)",
    "safeTransferFrom(address,address,uint256)",
    "safeTransferFrom(address,address,uint256,bytes)",
)
ERC8004_EVENTS = (
    "Registered(uint256,string,address)",
    "MetadataSet(uint256,string,string,bytes)",
    "URIUpdated(uint256,string,address)",
)


@pytest.fixture(scope="session")
def wallet_owner() -> Signer:
    account = Account.from_key(keccak(b"tantieme agent wallet"))
    return Signer(account.address, account.key)


@pytest.fixture(scope="session")
def identity(deployer):
    with boa.env.prank(deployer):
        return IDENTITY.deploy()


@pytest.fixture
def agent(identity, operator) -> int:
    """An agent registered by `operator` with `URI`."""
    return identity.register(URI, sender=operator)


def metadata_set(identity) -> list[tuple[int, str, bytes]]:
    """The last call's `MetadataSet` logs as (agentId, key, value), the
    indexed key's topic checked."""
    logged = raw_events(identity, "MetadataSet(uint256,string,string,bytes)", ["string", "bytes"])
    for _, key_topic, key, _ in logged:
        assert key_topic == int.from_bytes(keccak(key.encode()), "big")
    return [(agent_id, key, value) for agent_id, _, key, value in logged]


def sign_wallet(identity, signer: Signer, agent_id: int, wallet: str, owner: str, deadline: int) -> bytes:
    """`signer`'s EIP-712 `AgentWalletSet` in the registry's domain (eth-account)."""
    _, name, version, chain_id, verifying, *_ = identity.eip712Domain()
    data = {
        "types": {
            "EIP712Domain": [
                {"name": "name", "type": "string"},
                {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"},
                {"name": "verifyingContract", "type": "address"},
            ],
            "AgentWalletSet": [
                {"name": "agentId", "type": "uint256"},
                {"name": "newWallet", "type": "address"},
                {"name": "owner", "type": "address"},
                {"name": "deadline", "type": "uint256"},
            ],
        },
        "primaryType": "AgentWalletSet",
        "domain": {"name": name, "version": version, "chainId": chain_id, "verifyingContract": str(verifying)},
        "message": {"agentId": agent_id, "newWallet": wallet, "owner": owner, "deadline": deadline},
    }
    return bytes(Account.sign_typed_data(signer.key, full_message=data).signature)


# ------------------------------------------------------------ interface --


def test_erc8004_signatures__every_function_and_event(identity):
    assert set(ERC8004_FUNCTIONS) <= abi_signatures(identity, "function")
    assert set(ERC8004_EVENTS) <= abi_signatures(identity, "event")


def test_eip712_domain__the_reference_implementations(identity):
    _, name, version, chain_id, verifying, *_ = identity.eip712Domain()
    assert (name, version, chain_id, verifying) == (
        "ERC8004IdentityRegistry", "1", boa.env.evm.patch.chain_id, identity.address,
    )
    assert identity.AGENT_WALLET_SET_TYPEHASH() == keccak(
        b"AgentWalletSet(uint256 agentId,address newWallet,address owner,uint256 deadline)"
    )


@pytest.mark.parametrize(
    "interface_id, served",
    [
        (0x01FFC9A7, True), (0x80AC58CD, True), (0x5B5E139F, True), (0x780E9D63, False), (0x49064906, True),
        (0x5604E225, False), (0xFFFFFFFF, False), (0x2A55205A, False),
    ],
)
def test_supports_interface(identity, interface_id, served):
    assert identity.supportsInterface(interface_id.to_bytes(4, "big")) is served


def test_name_and_symbol(identity):
    assert (identity.name(), identity.symbol()) == ("tantieme Agent Identity", "AGENT")


# ------------------------------------------------------------- register --


def test_register__with_uri(identity, operator):
    agent_id = identity.register(URI, sender=operator)
    registered = raw_events(identity, "Registered(uint256,string,address)", ["string"])
    transfers = raw_events(identity, "Transfer(address,address,uint256)", [])
    assert agent_id == 1
    assert registered == [(1, int(operator, 16), URI)]
    assert metadata_set(identity) == [(1, "agentWallet", bytes.fromhex(operator[2:]))]
    assert transfers == [(0, int(operator, 16), 1)]
    assert identity.ownerOf(1) == operator
    assert identity.tokenURI(1) == URI
    assert identity.getAgentWallet(1) == operator
    assert identity.getMetadata(1, "agentWallet") == bytes.fromhex(operator[2:])
    assert identity.totalSupply() == 1


def test_register__three_forms_number_agents_from_one(identity, operator, stranger):
    assert identity.register(sender=operator) == 1
    assert identity.tokenURI(1) == ""
    assert identity.register(URI, sender=stranger) == 2
    assert identity.register(URI, [("model", (7).to_bytes(32, "big"))], sender=operator) == 3
    assert identity.balanceOf(operator) == 2
    assert identity.getMetadata(3, "model") == (7).to_bytes(32, "big")


def test_register__with_metadata_logs_each_entry(identity, operator):
    entries = [("model", (7).to_bytes(32, "big")), ("price", b"\x01\x02")]
    identity.register(URI, entries, sender=operator)
    assert [(key, value) for _, key, value in metadata_set(identity)] == [
        ("agentWallet", bytes.fromhex(operator[2:])), *entries,
    ]
    assert identity.getMetadata(1, "price") == b"\x01\x02"
    assert identity.getMetadata(1, "unset") == b""


def test_register__reserved_key__reverts(identity, operator):
    with boa.reverts("identity: reserved key"):
        identity.register(URI, [("model", b"\x01"), ("agentWallet", b"\x00" * 20)], sender=operator)
    assert identity.totalSupply() == 0


def test_register__a_registration_file_on_chain(identity, operator):
    """A 3 KB registration file as a base64 data URI fits and reads back."""
    document = {
        "type": "https://eips.ethereum.org/EIPS/eip-8004#registration-v1",
        "name": "tantieme node",
        "description": "x" * 2_000,
        "services": [{"name": "web", "endpoint": "http://127.0.0.1:8402/"}],
        "x402Support": True,
        "registrations": [{"agentId": 1, "agentRegistry": f"eip155:1:{identity.address}"}],
    }
    uri = "data:application/json;base64," + base64.b64encode(json.dumps(document).encode()).decode()
    assert len(uri) > 2_800
    identity.register(uri, sender=operator)
    read = identity.tokenURI(1)
    assert json.loads(base64.b64decode(read.split(",", 1)[1])) == document


def test_register__to_a_contract_that_refuses_tokens__reverts(identity, wallet_owner):
    wallet = WALLET.deploy([wallet_owner.address])
    # It has no `onERC721Received`: the call reverts, with no reason to match.
    with boa.reverts():
        identity.register(URI, sender=wallet.address)
    assert identity.totalSupply() == 0


def test_no_function_takes_ether(identity):
    assert all(
        item["stateMutability"] != "payable" for item in identity.abi if item["type"] in ("function", "constructor")
    )


def test_approve(identity, operator, stranger, creator, agent):
    with boa.reverts("erc721: approval to current owner"):
        identity.approve(operator, agent, sender=operator)
    with boa.reverts("erc721: approve caller is not token owner or approved for all"):
        identity.approve(stranger, agent, sender=stranger)
    identity.approve(stranger, agent, sender=operator)
    [approval] = events(identity, "Approval")
    assert (approval.owner, approval.approved, approval.token_id) == (operator, stranger, agent)
    identity.setApprovalForAll(creator, True, sender=operator)
    identity.approve(creator, agent, sender=creator)
    assert identity.getApproved(agent) == creator


# ---------------------------------------------------------- agent URI --


def test_set_agent_uri(identity, operator, agent):
    identity.setAgentURI(agent, "https://node.example/agent.json", sender=operator)
    [updated] = events(identity, "URIUpdated")
    [metadata_update] = events(identity, "MetadataUpdate")
    assert (updated.agentId, updated.newURI, updated.updatedBy) == (agent, "https://node.example/agent.json", operator)
    assert tuple(metadata_update)[1:] == (agent,)  # MetadataUpdate(_tokenId)
    assert identity.tokenURI(agent) == "https://node.example/agent.json"


def test_set_agent_uri__by_approved_and_operator(identity, operator, stranger, creator, agent):
    identity.approve(stranger, agent, sender=operator)
    identity.setAgentURI(agent, "a", sender=stranger)
    identity.setApprovalForAll(creator, True, sender=operator)
    identity.setAgentURI(agent, "b", sender=creator)
    assert identity.tokenURI(agent) == "b"
    assert identity.isAuthorizedOrOwner(creator, agent) and identity.isAuthorizedOrOwner(stranger, agent)


def test_set_agent_uri__stranger__reverts(identity, stranger, agent):
    assert not identity.isAuthorizedOrOwner(stranger, agent)
    with boa.reverts(NOT_MANAGER):
        identity.setAgentURI(agent, "x", sender=stranger)


def test_unknown_agent__reverts(identity, operator):
    for call in (
        lambda: identity.setAgentURI(9, "x", sender=operator),
        lambda: identity.setMetadata(9, "k", b"v", sender=operator),
        lambda: identity.unsetAgentWallet(9, sender=operator),
        lambda: identity.tokenURI(9),
        lambda: identity.isAuthorizedOrOwner(operator, 9),
    ):
        with boa.reverts(NO_AGENT):
            call()


# ------------------------------------------------------------ metadata --


def test_set_metadata(identity, operator, agent):
    identity.setMetadata(agent, "model", (3).to_bytes(32, "big"), sender=operator)
    assert metadata_set(identity) == [(agent, "model", (3).to_bytes(32, "big"))]
    assert identity.getMetadata(agent, "model") == (3).to_bytes(32, "big")
    identity.setMetadata(agent, "model", b"", sender=operator)
    assert identity.getMetadata(agent, "model") == b""


def test_set_metadata__reserved_key__reverts(identity, operator, agent):
    with boa.reverts("identity: reserved key"):
        identity.setMetadata(agent, "agentWallet", b"\x01" * 20, sender=operator)
    assert identity.getAgentWallet(agent) == operator


def test_set_metadata__stranger__reverts(identity, stranger, agent):
    with boa.reverts(NOT_MANAGER):
        identity.setMetadata(agent, "model", b"\x01", sender=stranger)


# -------------------------------------------------------------- wallet --


def test_set_agent_wallet__an_eoa_signs(identity, operator, agent, wallet_owner):
    deadline = boa.env.timestamp + 300
    signature = sign_wallet(identity, wallet_owner, agent, wallet_owner.address, operator, deadline)
    identity.setAgentWallet(agent, wallet_owner.address, deadline, signature, sender=operator)
    assert metadata_set(identity) == [(agent, "agentWallet", bytes.fromhex(wallet_owner.address[2:]))]
    assert identity.getAgentWallet(agent) == wallet_owner.address


def test_set_agent_wallet__a_contract_wallet_signs(identity, operator, agent, wallet_owner):
    wallet = WALLET.deploy([wallet_owner.address])
    deadline = boa.env.timestamp + 60
    signature = sign_wallet(identity, wallet_owner, agent, wallet.address, operator, deadline)
    identity.setAgentWallet(agent, wallet.address, deadline, signature, sender=operator)
    assert identity.getAgentWallet(agent) == wallet.address
    wallet.set_refuse(True)
    with boa.reverts("identity: invalid wallet signature"):
        identity.setAgentWallet(agent, wallet.address, deadline, signature, sender=operator)


@pytest.mark.parametrize(
    "case, reason",
    [
        ("expired", "identity: signature expired"),
        ("too far", "identity: deadline too far"),
        ("zero wallet", "identity: wallet is the zero address"),
        ("another signer", "identity: invalid wallet signature"),
        ("another agent", "identity: invalid wallet signature"),
        ("another owner", "identity: invalid wallet signature"),
        ("short", "identity: invalid signature length"),
        ("stranger", NOT_MANAGER),
    ],
)
def test_set_agent_wallet__bad__reverts(identity, operator, stranger, agent, wallet_owner, payer, case, reason):
    now = boa.env.timestamp
    deadline = {"expired": now - 1, "too far": now + 301}.get(case, now + 300)
    wallet = ZERO_ADDRESS if case == "zero wallet" else wallet_owner.address
    signer = payer if case == "another signer" else wallet_owner
    signature = sign_wallet(
        identity, signer, agent + (case == "another agent"), wallet,
        stranger if case == "another owner" else operator, deadline,
    )
    if case == "short":
        signature = signature[:64]
    with boa.reverts(reason):
        identity.setAgentWallet(agent, wallet, deadline, signature, sender=stranger if case == "stranger" else operator)
    assert identity.getAgentWallet(agent) == operator


def test_set_agent_wallet__high_s__reverts(identity, operator, agent, wallet_owner):
    n = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
    deadline = boa.env.timestamp + 300
    signature = sign_wallet(identity, wallet_owner, agent, wallet_owner.address, operator, deadline)
    s = int.from_bytes(signature[32:64], "big")
    twin = signature[:32] + (n - s).to_bytes(32, "big") + bytes([55 - signature[64]])
    with boa.reverts("ecdsa: invalid signature `s` value"):
        identity.setAgentWallet(agent, wallet_owner.address, deadline, twin, sender=operator)


def test_unset_agent_wallet(identity, operator, stranger, agent):
    with boa.reverts(NOT_MANAGER):
        identity.unsetAgentWallet(agent, sender=stranger)
    identity.unsetAgentWallet(agent, sender=operator)
    assert metadata_set(identity) == [(agent, "agentWallet", b"")]
    assert identity.getAgentWallet(agent) == ZERO_ADDRESS
    assert identity.getMetadata(agent, "agentWallet") == b""


@pytest.mark.parametrize("how", ["transferFrom", "safeTransferFrom", "safeTransferFrom with data"])
def test_transfer__clears_the_wallet(identity, operator, stranger, agent, how):
    if how == "transferFrom":
        identity.transferFrom(operator, stranger, agent, sender=operator)
    elif how == "safeTransferFrom":
        identity.safeTransferFrom(operator, stranger, agent, sender=operator)
    else:
        identity.safeTransferFrom(operator, stranger, agent, b"hello", sender=operator)
    assert metadata_set(identity) == [(agent, "agentWallet", b"")]
    assert identity.ownerOf(agent) == stranger
    assert identity.getAgentWallet(agent) == ZERO_ADDRESS
    assert identity.tokenURI(agent) == URI


def test_transfer__by_a_stranger__reverts(identity, operator, stranger, agent):
    for transfer in (identity.transferFrom, identity.safeTransferFrom):
        with boa.reverts("erc721: caller is not token owner or approved"):
            transfer(operator, stranger, agent, sender=stranger)
    assert identity.getAgentWallet(agent) == operator


def test_transfer__new_owner_manages_old_does_not(identity, operator, stranger, agent):
    identity.transferFrom(operator, stranger, agent, sender=operator)
    with boa.reverts(NOT_MANAGER):
        identity.setAgentURI(agent, "x", sender=operator)
    identity.setAgentURI(agent, "x", sender=stranger)
