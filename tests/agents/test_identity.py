"""The node as an ERC-8004 agent on the embedded chain: registering (a data: URI, then a
served URL), the registration file, reading agents back, and the clear errors."""

from __future__ import annotations

import pytest

from tantieme.agents import identity, treasury
from tantieme.agents.identity import REGISTRATION_TYPE, read_data_uri
from tantieme.chain.accounts import dev_account
from tantieme.errors import ConfigError, InputError
from tantieme.node import Node


def test_register__without_url__the_file_on_chain_names_its_agent(embedded_node):
    profile, registered = identity.register(embedded_node, name="Roof bees node")
    assert registered and profile.agent_id == 1
    registry = identity.identity_registry(embedded_node).functions
    uri = registry.tokenURI(1).call()
    document = read_data_uri(uri)
    assert document == identity.registration_file(profile)
    assert document["type"] == REGISTRATION_TYPE and document["name"] == "Roof bees node"
    assert document["registrations"] == [
        {"agentId": 1, "agentRegistry": f"eip155:{embedded_node.conn.chain_id}:{embedded_node.deployment.identity}"}
    ]
    assert document["x402Support"] is True and document["supportedTrust"] == ["reputation"]
    assert document["services"] == []  # no URL: nothing to reach
    assert registry.getAgentWallet(1).call() == embedded_node.address == registry.ownerOf(1).call()
    assert identity.load_profile(embedded_node) == profile


def test_register__again_with_a_url__updates_the_same_agent(embedded_node):
    identity.register(embedded_node)
    profile, registered = identity.register(embedded_node, url="http://127.0.0.1:8402/")
    registry = identity.identity_registry(embedded_node).functions
    assert not registered and profile.agent_id == 1 and registry.totalSupply().call() == 1
    assert registry.tokenURI(1).call() == "http://127.0.0.1:8402/.well-known/agent-registration.json"
    services = identity.registration_file(profile)["services"]
    assert services == [
        {"name": "web", "endpoint": "http://127.0.0.1:8402/"},
        {"name": "OpenAI", "endpoint": "http://127.0.0.1:8402/v1", "version": "v1"},
        {"name": "x402", "endpoint": "http://127.0.0.1:8402/v1/chat/completions", "version": "2"},
    ]
    assert identity.register(embedded_node)[0] == profile  # nothing changed, nothing sent


def test_register__another_registration_first__the_file_names_the_id_it_got(embedded_node, monkeypatch):
    """A data: URI names the id the agent will get; when someone registers in between, the
    registry's URI is set again with the right one."""
    rival = embedded_node.as_account(dev_account(3))
    embedded_node.faucet(rival.address)
    registry = identity.identity_registry(embedded_node)
    send = embedded_node.conn.transact

    def racing(fn, gas=None):  # the rival's registration lands first
        rival.conn.transact(identity.identity_registry(rival).get_function_by_signature("register()")(), gas=500_000)
        monkeypatch.setattr(embedded_node.conn, "transact", send)
        return send(fn, gas)

    monkeypatch.setattr(embedded_node.conn, "transact", racing)
    profile, _ = identity.register(embedded_node)
    assert profile.agent_id == 2 and registry.functions.ownerOf(1).call() == rival.address
    assert read_data_uri(registry.functions.tokenURI(2).call())["registrations"][0]["agentId"] == 2


def test_register__an_agent_that_changed_hands__registers_a_new_one(embedded_node):
    identity.register(embedded_node)
    registry = identity.identity_registry(embedded_node)
    embedded_node.conn.transact(registry.functions.transferFrom(embedded_node.address, dev_account(4).address, 1), gas=300_000)
    profile, registered = identity.register(embedded_node)
    assert registered and profile.agent_id == 2


@pytest.mark.parametrize(("fields", "message"), [
    ({"url": "ftp://node.example"}, "is not an http\\(s\\) URL"),
    ({"url": "https://node.example/?x=1"}, "is not an http\\(s\\) URL"),
    ({"image": "node.png"}, "is not an http\\(s\\) URL"),
    ({"name": "  "}, "name is empty"),
    ({"name": "n" * 101}, "at most 100"),
    ({"description": "d" * 1001}, "at most 1000"),
])
def test_register__bad_input__clear_error_and_nothing_registered(embedded_node, fields, message):
    with pytest.raises(InputError, match=message):
        identity.register(embedded_node, **fields)
    assert identity.identity_registry(embedded_node).functions.totalSupply().call() == 0
    assert identity.load_profile(embedded_node) is None


def test_show__what_the_chain_holds(embedded_node):
    profile, _ = identity.register(embedded_node, url="https://bees.example")
    registry = identity.identity_registry(embedded_node)
    embedded_node.conn.transact(registry.functions.setMetadata(1, "model", (7).to_bytes(32, "big")), gas=300_000)
    shown = identity.show(embedded_node, 1)
    assert shown["owner"] == shown["wallet"] == embedded_node.address
    assert shown["uri"] == "https://bees.example/.well-known/agent-registration.json" and shown["registration"] is None
    assert shown["metadata"] == {"model": "0x" + (7).to_bytes(32, "big").hex()}
    assert shown["reputation"]["count"] == 0 and shown["reputation"]["clients"] == 0


@pytest.mark.parametrize("agent_id", [2, 10**30])
def test_show__unknown_agent__clear_error(embedded_node, agent_id):
    identity.register(embedded_node)
    with pytest.raises(InputError, match=f"there is no agent #{agent_id} on chain .*: its agents are #1 to #1"):
        identity.show(embedded_node, agent_id)


def test_agents_paid_at__follows_the_wallet(embedded_node):
    identity.register(embedded_node)
    assert identity.agents_paid_at(embedded_node, embedded_node.address) == [1]
    registry = identity.identity_registry(embedded_node)
    embedded_node.conn.transact(registry.functions.unsetAgentWallet(1), gas=300_000)
    assert identity.agents_paid_at(embedded_node, embedded_node.address) == []


def test_backup_restore__keeps_the_agent(embedded_node, tmp_path, monkeypatch):
    from tantieme.maintenance import backup as backups

    profile, _ = identity.register(embedded_node, name="Roof bees node")
    embedded_node.close()
    made = backups.backup(tmp_path / "node.tar.gz")
    monkeypatch.setenv("TANTIEME_HOME", str(tmp_path / "restored"))
    backups.restore(made.path)
    with Node.open(readonly=True) as restored:
        assert identity.load_profile(restored) == profile


def test_agent_records__damaged__say_which_file_and_what_to_do(embedded_node):
    chain_id = embedded_node.conn.chain_id
    identity.register(embedded_node, name="Roof bees node")
    treasury.fund(embedded_node, 10**18)
    for path, load, fix in (
        (identity.profile_path(chain_id), identity.load_profile,
         "move it away and run `tantieme agent register` again (it registers a new agent)"),
        (treasury.record_path(chain_id), treasury.load, "move it away (a new treasury is deployed)"),
    ):
        assert load(embedded_node) is not None
        path.write_text('{"chain_id": 1')
        with pytest.raises(ConfigError) as refused:
            load(embedded_node)
        assert str(refused.value) == (
            f"{path} is damaged (JSONDecodeError: Expecting ',' delimiter: line 1 column 15 (char 14)); {fix}")
        path.unlink()
        assert load(embedded_node) is None
