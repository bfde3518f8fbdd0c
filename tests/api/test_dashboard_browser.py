"""The dashboard in a real browser: headless Chromium (Debian's, driven by Playwright) on a real
`tantieme serve` over a node with settled answers. The numbers on screen must equal the chain's
and `tantieme report --json`'s to the wei; screenshots are kept in tests/artifacts/dashboard/."""

from __future__ import annotations

import json
import shutil
from decimal import Decimal
from pathlib import Path

import pytest

from tantieme.node import Node

from report.homes import CREATORS, build, pool_members  # tests/report/homes.py

from .served import serving, tantieme

pytestmark = pytest.mark.slow

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "dashboard"


def wei(page, selector: str) -> int:
    return int(page.get_attribute(selector, "data-wei"))


def tai(text: str) -> int:
    """'0.0121125 TAI' as shown → token wei (exact)."""
    return int(Decimal(text.split()[0]) * 10**18)


def test_dashboard_in_chromium__numbers_on_screen_are_the_chains(browser, tantieme_home, init_embedded):
    init_embedded()
    with Node.open() as node:
        filled = build(node)
        pool_members(node, filled)
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True)
    with serving(tantieme_home) as (url, _process):
        done = tantieme(tantieme_home, "report", "--json")
        assert done.returncode == 0, done.stderr
        reported = json.loads(done.stdout)
        everything, pool = reported["periods"][0], reported["commons_pool"]
        with Node.open(readonly=True) as node:
            commons = node.balance(node.ledger.functions.commons().call())
            (claim,) = node.router.events.Claimed().get_logs(from_block=0)
            (settled,) = node.ledger.events.BatchSettled().get_logs(from_block=0)

        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(f"{url}/dashboard")
        assert page.title() == "dashboard · tantieme"
        assert tai(page.inner_text("#fees")) == wei(page, "#fees") == int(everything["total"])
        assert tai(page.inner_text("#commons-balance")) == commons > 0
        for c in everything["classes"]:
            row = f'#split tr[data-class="{c["class"]}"] .amount'
            assert tai(page.inner_text(row)) == wei(page, row) == int(c["amount"])
        assert page.inner_text("#records") == str(everything["records"])
        assert page.inner_text("#commons-members") == str(pool["members"]) == "2"
        for shown, figure in (("#commons-dividend", "today_amount"), ("#commons-paid", "paid"), ("#commons-funds", "funds")):
            assert tai(page.inner_text(shown)) == wei(page, shown) == int(pool[figure]) > 0
        page.screenshot(path=ARTIFACTS / "dashboard.png", full_page=True)

        page.click(f'#creators a[href$="{CREATORS["bruno"].address}"]')
        page.wait_for_url(f"**/dashboard/creators/{CREATORS['bruno'].address}")
        claimed = f'#asset-{filled["remix"]} .claimed'
        assert tai(page.inner_text(claimed)) == claim["args"]["amount"] > 0
        assert "✗ training" in page.inner_text(f'#asset-{filled["remix"]} .consent')
        page.screenshot(path=ARTIFACTS / "creator.png", full_page=True)

        page.goto(f"{url}/dashboard")
        page.click("#recent a >> text=What <script>alert(1)</script> bread?")  # shown as text, never run
        assert page.inner_text("#status").startswith("✓ verified on chain")
        record = filled["settled"][1].signed.record
        parts = [int(t) for t in page.locator("#fee-split td.wei").all_inner_texts()]
        assert sum(parts) == record.fee == int(page.inner_text("#fee-wei"))
        assert page.inner_text("#anchor-tx") == settled["transactionHash"].to_0x_hex()
        page.screenshot(path=ARTIFACTS / "answer.png", full_page=True)

        page.goto(f"{url}/answers/{filled['pending'].digest}")
        assert "not yet settled" in page.inner_text("#status")
