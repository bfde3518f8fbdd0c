"""The node as an ERC-8004 agent: its registration file, registering it, reading agents back.

    profile = register(node, url="https://node.example")   # the operator's agent, its URI the served file
    agent = show(node, profile.agent_id)                    # owner, wallet, URI, metadata, reputation

The registration file (EIP-8004 "registration-v1") names the node, its services (the
OpenAI-compatible API and its x402-paid chat endpoint), `x402Support` and its
registration (`eip155:<chain id>:<identity registry>`); `tantieme serve` serves it at
`/.well-known/agent-registration.json`. The agent's URI is that file's URL, or, for a
node without a public URL, the file itself as a `data:` URI. What the node says about
itself (name, description, image, URL) and its agent id are kept per chain in
`TANTIEME_HOME/agents/<chain id>.json`.
"""

from __future__ import annotations

import base64
import json
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from tantieme.chain.logs import event_logs, raw_logs
from tantieme.config import home
from tantieme.errors import InputError
from tantieme.files import read_record, write_json
from tantieme.payments.client import CHAT_PATH

if TYPE_CHECKING:
    from web3.contract import Contract

    from tantieme.node import Node

__all__ = [
    "REGISTRATION_TYPE",
    "WELL_KNOWN",
    "AgentProfile",
    "agent_registry",
    "agents_paid_at",
    "data_uri",
    "identity_registry",
    "load_profile",
    "node_profile",
    "read_data_uri",
    "register",
    "registration_file",
    "show",
]

REGISTRATION_TYPE = "https://eips.ethereum.org/EIPS/eip-8004#registration-v1"
WELL_KNOWN = "/.well-known/agent-registration.json"
DESCRIPTION = (
    "A tantieme node: answers from consenting works only, each attributed to its sources, paid per "
    "token in the AI token (x402 per request, or a deposit) and anchored on chain; feedback counts "
    "only from clients who paid."
)
_DATA_URI = "data:application/json;base64,"
# The identity registry's bound on an agent URI (`agent_identity.vy`'s MAX_URI).
MAX_URI = 4_096
_MAX_NAME = 100
_MAX_DESCRIPTION = 1_000
# Storing an agent URI of MAX_URI characters takes 129 fresh slots (≈ 2.9 M gas).
_URI_GAS = 4_000_000


@dataclass(frozen=True)
class AgentProfile:
    """What this node says about itself as an agent on one chain, and its agent id there."""

    chain_id: int
    identity: str | None
    """The identity registry's address (None before it is deployed)."""
    agent_id: int | None
    name: str
    description: str
    image: str | None = None
    url: str | None = None
    """The base URL the node is served at (`tantieme serve`), if it has one."""

    @property
    def uri(self) -> str:
        """The agent URI: the served registration file's URL, else the file as a data: URI."""
        return self.url + WELL_KNOWN if self.url else data_uri(registration_file(self))


def agent_registry(chain_id: int, identity: str) -> str:
    """ERC-8004's `agentRegistry`: `eip155:<chain id>:<identity registry>`."""
    return f"eip155:{chain_id}:{identity}"


def registration_file(profile: AgentProfile, base_url: str | None = None) -> dict[str, Any]:
    """The registration file (EIP-8004 registration-v1) of `profile`.

    The services are the node's at its URL (`base_url` when the profile has none: the
    address a request reached it at); a node without a URL lists none.
    """
    base = profile.url or (base_url.rstrip("/") if base_url else None)
    services = [] if base is None else [
        {"name": "web", "endpoint": base + "/"},
        {"name": "OpenAI", "endpoint": base + "/v1", "version": "v1"},
        {"name": "x402", "endpoint": base + CHAT_PATH, "version": "2"},
    ]
    registrations = [] if profile.agent_id is None or profile.identity is None else [
        {"agentId": profile.agent_id, "agentRegistry": agent_registry(profile.chain_id, profile.identity)},
    ]
    return {
        "type": REGISTRATION_TYPE,
        "name": profile.name,
        "description": profile.description,
        **({"image": profile.image} if profile.image else {}),
        "services": services,
        "x402Support": True,
        "active": True,
        "registrations": registrations,
        "supportedTrust": ["reputation"],
    }


def data_uri(document: dict[str, Any]) -> str:
    """`document` as a `data:application/json;base64,` URI."""
    return _DATA_URI + base64.b64encode(json.dumps(document, separators=(",", ":")).encode()).decode()


def read_data_uri(uri: str) -> dict[str, Any] | None:
    """The JSON document a `data:application/json;base64,` URI holds (None for another URI,
    or one that does not hold a JSON object)."""
    if not uri.startswith(_DATA_URI):
        return None
    try:
        document = json.loads(base64.b64decode(uri[len(_DATA_URI):], validate=True))
    except ValueError:
        return None
    return document if isinstance(document, dict) else None


def profile_path(chain_id: int) -> Path:
    return home() / "agents" / f"{chain_id}.json"


def load_profile(node: Node) -> AgentProfile | None:
    """This node's agent profile on its chain's identity registry, if it has one."""
    profile = read_record(profile_path(node.conn.chain_id), lambda record: AgentProfile(**record),
                          "move it away and run `tantieme agent register` again (it registers a new agent)")
    return profile if profile is not None and profile.identity == node.deployment.identity else None


def node_profile(node: Node) -> AgentProfile:
    """This node's agent profile, or before it registers, what it would say about itself."""
    return load_profile(node) or AgentProfile(
        chain_id=node.conn.chain_id, identity=node.deployment.identity, agent_id=None,
        name=f"tantieme node {node.address}", description=DESCRIPTION,
    )


def _save_profile(profile: AgentProfile) -> None:
    write_json(profile_path(profile.chain_id), asdict(profile))


def identity_registry(node: Node) -> Contract:
    """The node's chain's identity registry; a clear error where it is not deployed yet."""
    from tantieme.chain.deploy import deployed_contract

    return deployed_contract(node.conn, node.deployment, "identity", "agent_identity", "agent identity registry")


def register(
    node: Node, *, name: str | None = None, description: str | None = None, image: str | None = None,
    url: str | None = None,
) -> tuple[AgentProfile, bool]:
    """Register the node's operator as an agent, or update its registration.

    The agent's URI is `url` + `/.well-known/agent-registration.json` (the file `tantieme
    serve` serves), or without `url` the registration file itself as a data: URI. Run
    again, it keeps the agent and sets its URI anew where it changed (a new URL, name...);
    options left out keep their values. Returns the profile and whether a new agent was
    registered.
    """
    from web3.logs import DISCARD

    registry = identity_registry(node)
    kept = node_profile(node)
    # An agent that changed hands is not this node's any more: it registers a new one.
    agent_id = kept.agent_id if kept.agent_id and _owns(registry, node.address, kept.agent_id) else None
    profile = replace(
        kept,
        agent_id=agent_id,
        name=_text(name, "name", _MAX_NAME) if name is not None else kept.name,
        description=_text(description, "description", _MAX_DESCRIPTION) if description is not None else kept.description,
        image=_url(image, "--image") if image is not None else kept.image,
        url=_url(url, "--url") if url is not None else kept.url,
    )
    if profile.agent_id is not None:
        if registry.functions.tokenURI(profile.agent_id).call() != profile.uri:
            _check_length(profile.uri)
            node.conn.transact(registry.functions.setAgentURI(profile.agent_id, profile.uri), gas=_URI_GAS)
        _save_profile(profile)
        return profile, False
    # A data: URI names the agent id it will get: the next one, unless another registration
    # comes first, in which case the URI is set again with the id it got.
    expected = replace(profile, agent_id=registry.functions.totalSupply().call() + 1)
    _check_length(expected.uri)
    receipt = node.conn.transact(registry.get_function_by_signature("register(string)")(expected.uri), gas=_URI_GAS)
    (event,) = registry.events.Registered().process_receipt(receipt, errors=DISCARD)
    profile = replace(profile, agent_id=event["args"]["agentId"])
    if profile.uri != expected.uri:
        node.conn.transact(registry.functions.setAgentURI(profile.agent_id, profile.uri), gas=_URI_GAS)
    _save_profile(profile)
    return profile, True


def show(node: Node, agent_id: int) -> dict[str, Any]:
    """An agent as the chain has it: owner, wallet, URI (and the registration file of a
    data: URI), on-chain metadata, and its reputation from paying clients."""
    from tantieme.chain.deploy import contract

    registry = identity_registry(node)
    total = registry.functions.totalSupply().call()
    if not 0 < agent_id <= total:
        raise InputError(
            f"there is no agent #{agent_id} on chain {node.conn.chain_id}"
            + (f": its agents are #1 to #{total}" if total else ": no agent is registered yet")
        )
    fns = registry.functions
    uri = fns.tokenURI(agent_id).call()
    reputation = contract(node.conn, "agent_reputation", node.deployment.reputation).functions
    clients = reputation.getClients(agent_id).call()
    count, value, decimals = reputation.getSummary(agent_id, clients, "", "").call() if clients else (0, 0, 0)
    return {
        "agent_id": agent_id,
        "agent_registry": agent_registry(node.conn.chain_id, node.deployment.identity),
        "owner": fns.ownerOf(agent_id).call(),
        "wallet": fns.getAgentWallet(agent_id).call(),
        "uri": uri,
        "registration": read_data_uri(uri),
        "metadata": _metadata(node, registry, agent_id),
        "reputation": {
            "registry": node.deployment.reputation,
            "clients": len(clients),
            "count": count,
            "value": str(value),
            "decimals": decimals,
            "average": _decimal(value, decimals),
        },
    }


def agents_paid_at(node: Node, wallet: str) -> list[int]:
    """The agents whose wallet (where they are paid) is `wallet` now, from the registry's
    `MetadataSet` events of the `agentWallet` key."""
    from web3 import Web3

    registry = identity_registry(node)
    event = registry.events.MetadataSet()
    logs = raw_logs(node.conn.w3, {
        "address": registry.address, "topics": [event.topic, None, Web3.to_hex(Web3.keccak(text="agentWallet"))],
    }, node.deployment.block)
    named = dict.fromkeys(
        e["args"]["agentId"] for e in map(event.process_log, logs)
        if e["args"]["metadataValue"] == bytes.fromhex(wallet[2:])
    )
    return [agent for agent in named if registry.functions.getAgentWallet(agent).call() == wallet]


def _metadata(node: Node, registry: Contract, agent_id: int) -> dict[str, str]:
    """The agent's on-chain metadata (the wallet aside), keys from its `MetadataSet` events."""
    events = event_logs(registry.events.MetadataSet(), node.deployment.block, agentId=agent_id)
    keys = dict.fromkeys(e["args"]["metadataKey"] for e in events if e["args"]["metadataKey"] != "agentWallet")
    values = {key: registry.functions.getMetadata(agent_id, key).call() for key in keys}
    return {key: "0x" + value.hex() for key, value in values.items() if value}


def _decimal(value: int, decimals: int) -> str:
    """`value` / 10^decimals, exactly, as a decimal string."""
    sign, digits = ("-" if value < 0 else ""), str(abs(value)).rjust(decimals + 1, "0")
    whole, fraction = digits[: len(digits) - decimals], digits[len(digits) - decimals:].rstrip("0")
    return f"{sign}{whole}.{fraction}" if fraction else f"{sign}{whole}"


def _owns(registry: Contract, address: str, agent_id: int) -> bool:
    try:
        return registry.functions.ownerOf(agent_id).call() == address
    except Exception:  # noqa: BLE001  (no such agent on this registry: web3 raises several kinds)
        return False


def _text(value: str, what: str, limit: int) -> str:
    value = value.strip()
    if not value:
        raise InputError(f"the agent's {what} is empty")
    if len(value) > limit:
        raise InputError(f"the agent's {what} is {len(value)} characters long: at most {limit}")
    return value


def _url(value: str, option: str) -> str:
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise InputError(f"{option} {value!r} is not an http(s) URL: give http(s)://HOST[:PORT][/PATH]")
    return value.strip().rstrip("/")


def _check_length(uri: str) -> None:
    if len(uri) > MAX_URI:
        raise InputError(
            f"the agent URI would be {len(uri):,} characters, above the registry's {MAX_URI:,}: shorten the "
            "description, or give --url so the URI is the served file's address"
        )
