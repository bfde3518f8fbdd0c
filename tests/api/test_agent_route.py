"""`GET /.well-known/agent-registration.json`: the node's ERC-8004 registration file, before
and after `tantieme agent register`, free of any payment."""

from __future__ import annotations

from tantieme.agents import identity
from tantieme.node import Node


def test_registration_file__before_and_after_the_node_registers(make_client):
    client = make_client(gate="none")  # no payment method: still served
    before = client.get("/.well-known/agent-registration.json")
    assert before.status_code == 200
    document = before.json()
    assert document["type"] == identity.REGISTRATION_TYPE and document["registrations"] == []
    assert document["services"][2] == {"name": "x402", "endpoint": "http://testserver/v1/chat/completions", "version": "2"}

    with Node.open() as writer:
        profile, _ = identity.register(writer, url="https://bees.example", name="Roof bees node")
    after = client.get("/.well-known/agent-registration.json").json()
    assert after == identity.registration_file(profile)
    assert after["name"] == "Roof bees node" and after["services"][0] == {"name": "web", "endpoint": "https://bees.example/"}
    assert after["registrations"] == [{"agentId": 1, "agentRegistry": f"eip155:{profile.chain_id}:{profile.identity}"}]
