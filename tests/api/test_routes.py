"""The read endpoints, health, metrics and the admin token, on the stub model."""

from __future__ import annotations

import base64
import json
import time

import pytest

from tantieme.chain.accounts import dev_account
from tantieme.ledger import settlement
from tantieme.ledger.bundle import export
from tantieme.node import Node
from tantieme.provenance.credentials import sidecar_path

from .conftest import chat


@pytest.fixture
def answered(client) -> dict:
    body = client.post("/v1/chat/completions", json=chat()).json()
    return body["tantieme"]


def test_models__offers_with_prices_as_strings_and_effective_consent(client, served_home):
    body = client.get("/v1/models").json()
    assert body["object"] == "list"
    (model,) = body["data"]
    assert model["id"] == str(served_home["model"]) and model["object"] == "model"
    offer = model["tantieme"]
    assert offer["price_prompt_per_million"] == str(100 * 10**18)
    assert offer["price_completion_per_million"] == str(400 * 10**18)
    assert offer["default"] is True and offer["name"] == "stub"
    assert offer["consent"] == {"training": True, "fine_tuning": True, "retrieval": True, "output_commercial": True}


def test_assets__list_and_one_with_terms_consent_parents_earnings(client, served_home, answered):
    listed = client.get("/assets").json()
    assert [a["id"] for a in listed] == [served_home["work"], served_home["model"]]
    one = client.get(f"/assets/{served_home['work']}").json()
    assert one["title"] == "Bees" and one["parents"] == []
    assert one["ai_consent"]["retrieval"] is True
    assert one["terms"]["minting_fee"] == "0"
    assert one["earnings"] == {"pending": "0", "claimable": "0"}
    # settled and credited, the model's earnings show (the stub model's sources weigh nothing)
    from tantieme.assets.royalties import credit

    account = dev_account(0)
    with Node.open(account=account) as writer:
        (done,) = settlement.settle(writer, {account.address: account})
        assert credit(writer, [served_home["model"]]) == done.owed[served_home["model"]] > 0
    earned = client.get(f"/assets/{served_home['model']}").json()["earnings"]
    assert int(earned["pending"]) + int(earned["claimable"]) == done.owed[served_home["model"]]


@pytest.mark.parametrize("asset", ["99", "0", "-1", str(2**256)])
def test_assets__unknown__404(client, asset):
    response = client.get(f"/assets/{asset}")
    assert response.status_code == 404 and response.json()["error"]["code"] == "asset_not_found"


def test_records__the_bundle_tantieme_export_writes(client, answered):
    bundle = client.get(answered["links"]["bundle"]).json()
    with Node.open(readonly=True) as node:
        assert bundle == json.loads(json.dumps(export(node, settlement.journal(), answered["record"])))
    assert bundle["format"] == "tantieme-bundle/1" and bundle["status"] == "pending"
    assert client.get(f"/records/{answered['record'][:18]}").json() == bundle  # a prefix of 16 digits


@pytest.mark.parametrize("key", ["1", "..%2F..%2Fnode.json", "0x1234", "0x" + "ab" * 32, "nothex" * 4])
def test_records__not_a_digest_or_unknown__404(client, answered, key):
    response = client.get(f"/records/{key}")
    assert response.status_code == 404 and response.json()["error"]["code"] in ("record_not_found", "not_found")


def test_answers__text_json_and_their_credentials(client, answered):
    from tantieme import interaction

    digest = answered["record"]
    book = settlement.journal()
    row = book.record(digest)
    book.close()
    text = client.get(f"/answers/{digest}.txt")
    assert text.text == "Four hives." and text.headers["content-type"].startswith("text/plain")
    document = client.get(f"/answers/{digest}.json")
    assert document.json()["record"] == digest
    assert client.get(f"/answers/{digest}").json() == document.json()
    for form, path in ((".txt.c2pa", interaction.answer_file(row)), (".json.c2pa", interaction.answer_document(row))):
        credential = client.get(f"/answers/{digest}{form}")
        assert credential.headers["content-type"] == "application/c2pa"
        assert credential.content == sidecar_path(path).read_bytes()
    bundle = client.get(answered["links"]["bundle"]).json()
    assert base64.b64decode(bundle["answer"]["text_credential"]) == client.get(f"/answers/{digest}.txt.c2pa").content
    assert client.get(f"/answers/{digest}.pdf").status_code == 404
    assert client.get("/answers/" + "0" * 64 + ".txt").status_code == 404


def test_healthz__chain_queue_and_gate(client, served_home):
    body = client.get("/healthz").json()
    assert body["status"] == "ok" and body["queue"] == 0 and body["payments"] == "self"
    assert body["default_model"] == served_home["model"] and body["block"] > 0


def test_metrics__prometheus_text_by_route_and_status(client):
    client.get("/healthz")
    client.get("/nowhere")
    response = client.get("/metrics")
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert 'tantieme_requests_total{route="/healthz",status="200"} 1.0' in text
    assert 'tantieme_requests_total{route="unmatched",status="404"} 1.0' in text
    assert 'tantieme_request_seconds_bucket{le="0.005",route="/healthz"}' in text


def test_unknown_route__openai_error_shape(client):
    response = client.get("/v1/nothing")
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


def test_admin_settle__not_exposed_without_a_token(client):
    assert client.post("/admin/settle").status_code == 404


def test_admin_settle__needs_the_token_then_settles(make_client):
    client = make_client(admin_token="s3cret")
    client.post("/v1/chat/completions", json=chat())
    assert client.post("/admin/settle").status_code == 401
    assert client.post("/admin/settle", headers={"Authorization": "Bearer wrong"}).status_code == 401
    done = client.post("/admin/settle", headers={"Authorization": "Bearer s3cret"})
    assert done.status_code == 200, done.text
    (batch,) = done.json()["batches"]
    assert batch["records"] == 1 and isinstance(batch["total"], str)


def test_settle_every__the_server_settles_its_records(make_client):
    client = make_client(settle_every=0.5)
    record = client.post("/v1/chat/completions", json=chat()).json()["tantieme"]["record"]
    for _ in range(100):
        if client.get(f"/records/{record}").json()["status"] == "settled":
            break
        time.sleep(0.2)
    assert client.get(f"/records/{record}").json()["status"] == "settled"


def test_cli_writer_beside_the_service__settles_and_registers(client, answered, make_file):
    """The service holds no writer's lock while it serves: another writer works at once."""
    from tantieme.assets import registry
    from tantieme.assets.terms import preset

    account = dev_account(0)
    with Node.open(account=account, on_wait=pytest.fail) as writer:
        (done,) = settlement.settle(writer, {account.address: account})
        registry.register(writer, make_file("# Rye\n\nA loaf of rye.\n"), terms=preset("open"), title="Rye")
    assert done.records == 1
    assert client.get(f"/records/{answered['record']}").json()["status"] == "settled"
    assert client.post("/v1/chat/completions", json=chat()).status_code == 200
    assert [a["title"] for a in client.get("/assets").json()][-1] == "Rye"
