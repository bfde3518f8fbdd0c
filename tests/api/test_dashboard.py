"""The dashboard's pages through the app (the stub model; the embedded chain): the numbers
equal the report's and the chain's, user text is escaped, `/answers/{id}` serves browsers a page."""

from __future__ import annotations

import re

import pytest

from tantieme import commons
from tantieme.assets import registry
from tantieme.node import Node
from tantieme.report import report

from report.homes import CREATORS, build, pool_members  # tests/report/homes.py

HTML = {"Accept": "text/html,application/xhtml+xml"}


@pytest.fixture
def filled(served_home):
    with Node.open() as node:
        return build(node)


@pytest.fixture
def page(make_client, filled):
    client = make_client(gate="none")
    return lambda path: client.get(path, headers=HTML)


def wei(html: str, marker: str) -> int:
    """The data-wei of the first element after `marker`."""
    return int(re.search(r'data-wei="(\d+)"', html[html.index(marker):]).group(1))


def test_dashboard__operator_view_shows_the_reports_and_the_chains_figures(page, filled):
    response = page("/dashboard")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    html = response.text
    with Node.open(readonly=True) as node:
        data = report(node)
        commons = node.balance(node.ledger.functions.commons().call())
    everything = data["periods"][0]
    assert wei(html, 'id="fees"') == int(everything["total"])
    assert wei(html, 'id="commons-balance"') == commons > 0
    for c in everything["classes"]:
        assert wei(html, f'data-class="{c["class"]}"') == int(c["amount"])
    assert "What &lt;script&gt;alert(1)&lt;/script&gt; bread?" in html and "<script>" not in html
    assert "https://" not in html and "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert html.count("<svg") >= 6  # the split, one per period, the creators' bars


def test_dashboard__operator_view_shows_the_commons_pool(make_client, filled):
    with Node.open() as node:
        paid = pool_members(node, filled)
    html = make_client(gate="none").get("/dashboard", headers=HTML).text
    with Node.open(readonly=True) as node:
        pool = report(node)["commons_pool"]
    assert re.search(r'id="commons-members">(\d+)<', html).group(1) == str(pool["members"]) == "2"
    assert wei(html, 'id="commons-dividend"') == int(pool["today_amount"]) == paid.amount
    assert wei(html, 'id="commons-paid"') == int(pool["paid"]) == paid.amount
    assert wei(html, 'id="commons-funds"') == int(pool["funds"]) > 0
    assert wei(html, 'id="commons-balance"') == int(pool["balance"])  # the pool receives the machine tax


def test_dashboard__member_view_shows_the_dividend_and_the_claim(make_client, filled):
    with Node.open() as node:
        pool_members(node, filled)
        pool = commons.pool(node).address
    client = make_client(gate="none")
    ada, bruno = CREATORS["ada"].address, CREATORS["bruno"].address
    html = client.get(f"/dashboard/commons/{ada}", headers=HTML).text
    # She claimed today: nothing more until tomorrow, and no claim to send.
    assert wei(html, 'id="claimable"') == 0 and 'id="nothing-to-claim"' in html and "wallet-tx" not in html
    assert "work #%d" % filled["bees"] in html
    html = client.get(f"/dashboard/commons/{bruno}", headers=HTML).text
    assert f"invitation of <span class=\"mono\">{ada}</span>" in html
    stranger = client.get(f"/dashboard/commons/{CREATORS['chen'].address}", headers=HTML).text
    assert 'id="not-a-member"' in stranger and "wallet-tx" not in stranger
    assert f"commons pool {pool}" in stranger
    missing = client.get("/dashboard/commons/0x1234", headers=HTML)
    assert missing.status_code == 404 and "is not an Ethereum address" in missing.text
    dashboard = client.get("/dashboard", headers=HTML).text
    assert 'data-href="/dashboard/commons/"' in dashboard and '<script src="/dashboard/wallet.js" defer></script>' in dashboard


def test_dashboard__creator_view_lists_each_work_with_its_chain_figures(page, filled):
    bruno = CREATORS["bruno"].address
    html = page(f"/dashboard/creators/{bruno}").text
    section = html[html.index(f'id="asset-{filled["remix"]}"'):]
    with Node.open(readonly=True) as node:
        (claim,) = node.router.events.Claimed().get_logs(from_block=0)
        works = {w["asset"]: w for w in report(node)["works"]}
    assert wei(section, 'class="num claimed"') == claim["args"]["amount"]
    assert wei(section, 'data-period="all"') == int(works[filled["remix"]]["earned"])
    assert "Honey &amp; rye" in html and "✗ training" in html and "✓ retrieval" in html
    assert f'id="asset-{filled["bees"]}"' not in html  # ada's work
    missing = page("/dashboard/creators/0x1234<b>")
    assert missing.status_code == 404 and missing.headers["content-type"].startswith("text/html")
    assert "&#39;0x1234&lt;b&gt;&#39; is not an address" in missing.text


def options(html: str, asset: int) -> dict[str, str]:
    """The tightenings a work's section offers: command → calldata."""
    section = html[html.index(f'id="asset-{asset}"'):].split("</section>")[0]
    found = re.findall(r'data-calldata="(0x[0-9a-f]+)".*?<code class="command">([^<]+)</code>', section, re.S)
    return {command: data for data, command in found}


def test_creator_view__each_work_offers_only_tightening__as_command_and_transaction(page, filled):
    """Ada's work grants every AI use (open terms): the page offers to refuse them all or each one,
    as the exact `tantieme consent` command and the registry's `setAIConsent` calldata; Bruno's
    grants retrieval only: one option; Chen's no-AI work: none. The page's one script is the node's."""
    bees, remix = filled["bees"], filled["remix"]
    html = page(f"/dashboard/creators/{CREATORS['ada'].address}").text
    everything = "--revoke training --revoke fine-tuning --revoke retrieval --revoke output-commercial"
    expected = {
        everything: (False, False, False, False),
        "--revoke training": (False, True, True, True),
        "--revoke fine-tuning": (True, False, True, True),
        "--revoke retrieval": (True, True, False, True),
        "--revoke output-commercial": (True, True, True, False),
    }
    with Node.open(readonly=True) as node:
        assert registry.get(node, bees).terms.ai_consent() == dict.fromkeys(("training", "fine_tuning", "retrieval", "output_commercial"), True)
        encode = lambda asset, *flags: node.registry.functions.setAIConsent(asset, *flags)._encode_transaction_data()  # noqa: E731
        assert options(html, bees) == {f"tantieme consent {bees} {revoke}": encode(bees, *flags) for revoke, flags in expected.items()}
        assert f'data-to="{node.deployment.registry}"' in html and f'data-from="{CREATORS["ada"].address}"' in html
        bruno = page(f"/dashboard/creators/{CREATORS['bruno'].address}").text
        assert options(bruno, remix) == {f"tantieme consent {remix} --revoke retrieval": encode(remix, False, False, False, False)}
    chen = page(f"/dashboard/creators/{CREATORS['chen'].address}").text
    assert options(chen, filled["letters"]) == {} and "nothing left to tighten" in chen
    assert '<script src="/dashboard/wallet.js" defer></script>' in html and "https://" not in html
    script = page("/dashboard/wallet.js")
    assert script.status_code == 200 and script.headers["content-type"].startswith("text/javascript")
    assert "eth_sendTransaction" in script.text and "http" not in script.text  # fetches nothing


def test_answer_page__verified_on_chain_only_when_it_is(page, make_client, filled):
    settled, pending = filled["settled"][1], filled["pending"]
    html = page(f"/answers/{settled.digest}").text
    assert "verified on chain" in html and settled.digest in html
    assert "What &lt;script&gt;" in html
    parts = [int(v) for v in re.findall(r'class="num wei">(\d+)<', html)]
    assert sum(parts) == settled.signed.record.fee
    with Node.open(readonly=True) as node:
        (log,) = node.ledger.events.BatchSettled().get_logs(from_block=0)
    assert f'id="anchor-tx">{log["transactionHash"].to_0x_hex()}<' in html
    waiting = page(f"/answers/{pending.digest}").text
    assert "not yet settled" in waiting and "verified on chain" not in waiting
    # Clients that do not ask for HTML get the answer document, as before.
    client = make_client(gate="none")
    assert client.get(f"/answers/{settled.digest}").json()["record"] == settled.digest
    assert page("/answers/" + "0" * 64).status_code == 404


def test_dashboard__queue_and_answer_times_come_from_the_services_metrics(make_client, filled):
    from .conftest import chat

    client = make_client()  # the node pays for itself: the stub model answers at once
    before = client.get("/dashboard", headers=HTML).text
    assert re.search(r'id="latency">–<', before)
    assert client.post("/v1/chat/completions", json=chat()).status_code == 200
    after = client.get("/dashboard", headers=HTML).text
    assert re.search(r'id="latency">\d+\.\d\d s / [\d.]+ s<', after) and 'id="queue">0<' in after
    assert 'id="records">5<' in after  # the home's four and this one
