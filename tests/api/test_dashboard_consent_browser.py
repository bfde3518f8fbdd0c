"""A creator tightens a work's AI consent from the dashboard with a browser wallet, end to end:
a real `tantieme serve` (the real model) on anvil, headless Chromium (Debian's, through
Playwright) with an EIP-1193 provider that forwards to anvil (whose accounts are unlocked: it
signs as the creator). The node signs nothing: the page's script asks the wallet to send the
registry call the node built; the page reloads showing the consent read from the chain, and
the next answer no longer cites the work."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tantieme.assets import registry
from tantieme.assets.terms import preset
from tantieme.chain.accounts import dev_account
from tantieme.node import Node
from tantieme.quickstart import SAMPLES_DIR

from .conftest import use_wallet
from .served import serving

pytestmark = pytest.mark.slow

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "dashboard"
QUESTION = "How many hives can a flat roof of forty square metres hold?"
CREATOR, STRANGER = dev_account(1), dev_account(4)

def ask(url: str) -> list[int]:
    """The assets the node's answer to QUESTION cites (self-paid)."""
    body = {"model": "default", "messages": [{"role": "user", "content": QUESTION}], "max_tokens": 8}
    response = httpx.post(f"{url}/v1/chat/completions", json=body, timeout=300)
    assert response.status_code == 200, response.text
    return [s["asset"] for s in response.json()["tantieme"]["sources"]]


def test_creator_tightens_consent_with_a_browser_wallet__chain_and_answers_follow(wallet_page, initialised_anvil, tantieme_home):
    with Node.open() as node:
        node.faucet(CREATOR.address)
        bees = registry.register(node.as_account(CREATOR), SAMPLES_DIR / "ada-rooftop-bees.md", terms=preset("open")).id
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    with serving(tantieme_home, "--self-pay") as (url, _process):
        assert bees in ask(url)
        page = wallet_page
        page.goto(f"{url}/dashboard/creators/{CREATOR.address}")
        work = page.locator(f"#asset-{bees}")
        assert "✓ retrieval" in work.locator(".consent").inner_text()
        refuse = work.locator("button.tighten", has_text="refuse retrieval")
        assert refuse.is_visible()  # the script found a wallet and offers the button

        use_wallet(page, STRANGER.address)
        refuse.click()
        status = refuse.locator("xpath=..").locator(".tx-status")  # the option's
        status.filter(has_text="only the work's owner").wait_for(timeout=30_000)
        with Node.open(readonly=True) as node:
            assert node.registry.functions.aiConsent(bees).call() == [True, True, True, True]  # nothing sent

        use_wallet(page, CREATOR.address)
        with page.expect_navigation(timeout=60_000):
            refuse.click()
        work = page.locator(f"#asset-{bees}")
        assert "✗ retrieval" in work.locator(".consent").inner_text()
        assert "✓ training" in work.locator(".consent").inner_text()
        assert work.locator("button.tighten", has_text="refuse retrieval").count() == 0  # nothing left to refuse there
        page.screenshot(path=ARTIFACTS / "consent.png", full_page=True)
        with Node.open(readonly=True) as node:
            assert node.registry.functions.aiConsent(bees).call() == [True, True, False, True]
            (tightened,) = node.registry.events.AIConsentTightened().get_logs(from_block=0)
            assert node.conn.w3.eth.get_transaction(tightened["transactionHash"])["from"] == CREATOR.address

        assert bees not in ask(url)
