"""The DAO's proposals on the dashboard (the embedded chain, through the app): each proposal's
page decodes its actions, flags those that send the machine tax elsewhere or move ownership,
shows its state and votes, and its simulated effect — run once in its own process, kept in the
home, equal to `tantieme simulate --proposal N`'s; a missing proposal is a 404 page."""

from __future__ import annotations

import json
import re
import subprocess
import time

import pytest

from tantieme.amounts import parse_amount
from tantieme.chain.accounts import dev_account
from tantieme.config import home
from tantieme.dao import Dao, call, handover, set_commons, set_split
from tantieme.node import Node
from tantieme.simulation import effect

from .served import tantieme

HTML = {"Accept": "text/html"}
STRANGER = dev_account(7).address
STEPS = 6


@pytest.fixture
def proposals(served_home, monkeypatch):
    monkeypatch.setattr(effect, "STEPS", STEPS)
    with Node.open() as node:
        return propose_three(node)


def propose_three(node: Node) -> list[int]:
    """Three proposals: a higher machine tax (its description with markup), the machine tax sent
    to a stranger, the AI token's ownership handed to the stranger. Their ids."""
    handover(node)
    dao = Dao(node)
    dao.stake(parse_amount("100"))
    dao.propose([set_split(node, 2000, 1000)], "Raise the machine tax <script>alert(1)</script>\n\nTo 20 %.")
    dao.propose([set_commons(node, STRANGER)], "Pay the commons to a friend")
    data = node.token.functions.transfer_ownership(STRANGER)._encode_transaction_data()
    dao.propose([call(node.deployment.token, bytes.fromhex(data[2:]))], "New owner")
    return [p.id for p in dao.proposals()]


def settled(client, path: str, timeout: float = 180) -> str:
    """The page once its simulation is done (it says "simulating…" and refreshes itself until then)."""
    deadline = time.monotonic() + timeout
    while True:
        html = client.get(path, headers=HTML).text
        if 'id="simulating"' not in html:
            return html
        assert '<meta http-equiv="refresh" content="5">' in html
        assert time.monotonic() < deadline, "the simulation did not finish"
        time.sleep(0.5)


def cells(html: str, key: str) -> list[str]:
    row = re.search(rf'<tr data-key="{key}">(.*?)</tr>', html, re.S).group(1)
    return [c.strip() for c in re.findall(r'<td class="num[^"]*">([^<]*)</td>', row)]


def test_proposal_page__decoded_voted_and_simulated_once(make_client, proposals, monkeypatch):
    client = make_client(gate="none")
    first = client.get("/dashboard/proposals/1", headers=HTML)
    assert first.status_code == 200 and 'id="simulating"' in first.text
    html = settled(client, "/dashboard/proposals/1")
    assert "Raise the machine tax &lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>" not in html
    assert "the ledger" in html and "setSplit" in html and "commons_bps = 2000" in html and 'class="risky"' not in html
    assert re.search(r'id="state">(\w+)<', html).group(1) in ("pending", "active")
    assert "It changes: machine tax 5 % → 20 %." in html
    assert html.count("<polyline") == 6  # two charts: no tax, today, the proposal

    (path,) = (home() / "simulations").glob(f"*-{proposals[0]}.json")
    kept = json.loads(path.read_text())
    by_cli = tantieme(home(), "simulate", "--proposal", "1", "--steps", str(STEPS), "--json")
    assert by_cli.returncode == 0, by_cli.stderr
    cli = json.loads(by_cli.stdout)
    assert kept["difference"] == cli["difference"] and int(cli["difference"]["bottom_half_power"]) > 0
    today, proposal, difference = cells(html, "gini")
    assert float(difference) == pytest.approx(cli["difference"]["gini"], abs=1e-4) and float(difference) < 0
    assert cells(html, "bottom_half_power")[2] == f"+{int(cli['difference']['bottom_half_power']) / 10**18:,.2f}"

    monkeypatch.setattr(subprocess, "run", lambda *a, **k: pytest.fail("simulated again"))
    assert client.get("/dashboard/proposals/1", headers=HTML).text.count("<polyline") == 6  # from the home


def test_proposal_page__moving_the_tax_or_ownership_in_red__not_simulated(make_client, proposals):
    client = make_client(gate="none")
    commons = settled(client, "/dashboard/proposals/2")
    assert 'id="risky"' in commons and f"setCommons(commons={STRANGER})" in commons
    assert "sends every batch&#39;s machine tax to this address" in commons
    assert "Not simulated: proposal #2 changes nothing the simulation models: it calls the ledger&#39;s setCommons" in commons
    owner = settled(client, "/dashboard/proposals/3")
    assert 'id="risky"' in owner and "the AI token" in owner and "transfer_ownership" in owner
    dashboard = client.get("/dashboard", headers=HTML).text
    listed = re.findall(r'<tr class="(risky)?"><td><a href="/dashboard/proposals/(\d)">', dashboard)
    assert listed == [("risky", "3"), ("risky", "2"), ("", "1")]


def test_proposal_page__missing__a_404_page(make_client, proposals):
    client = make_client(gate="none")
    for ref, message in (
        ("9", "there is no proposal 9: `tantieme dao proposals` lists them (3 so far)"),
        ("abc", "&#39;abc&#39; is not a proposal"),
        ("1<b>", "&#39;1&lt;b&gt;&#39; is not a proposal"),
    ):
        response = client.get(f"/dashboard/proposals/{ref}", headers=HTML)
        assert response.status_code == 404 and response.headers["content-type"].startswith("text/html")
        assert message in response.text and "<b>" not in response.text


def test_readme_who_profits__every_page_it_names_answers(make_client, served_home, monkeypatch):
    from pathlib import Path

    from report.homes import CREATORS, build  # tests/report/homes.py

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    paragraph = readme.split("**Who profits.**", 1)[1].split("\n\n", 1)[0]
    paths = re.findall(r"`(/(?:dashboard|answers)[^`]*)`", paragraph)
    assert set(paths) == {"/dashboard", "/dashboard/creators/ADDRESS", "/dashboard/wallet.js", "/dashboard/commons/ADDRESS", "/dashboard/proposals/N", "/answers/ID"}
    monkeypatch.setattr(effect, "STEPS", STEPS)
    with Node.open() as node:
        filled = build(node)
        propose_three(node)
    client = make_client(gate="none")
    for path in paths:
        path = path.replace("ADDRESS", CREATORS["ada"].address).replace("/N", "/1").replace("ID", filled["settled"][0].digest)
        response = client.get(path, headers=HTML)
        assert response.status_code == 200, (path, response.text[:300])
    settled(client, "/dashboard/proposals/1")  # its simulation done before the home goes
