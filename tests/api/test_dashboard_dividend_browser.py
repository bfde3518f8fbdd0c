"""A commons member claims its dividend from the dashboard with a browser wallet, end to end: a
real `tantieme serve` on anvil, headless Chromium with the wallet of `conftest.WALLET` (anvil's
accounts are unlocked: it signs as the member). The node signs nothing: the page's script checks
the wallet's account is the member and on the node's chain, then asks the wallet to send the
pool's `claim()`; the page reloads showing nothing left to claim, and the member holds exactly
what the page said was claimable."""

from __future__ import annotations

import pytest

from tantieme import commons
from tantieme.assets import registry
from tantieme.assets.terms import preset
from tantieme.chain.accounts import dev_account
from tantieme.node import Node
from tantieme.quickstart import SAMPLES_DIR

from .conftest import use_wallet
from .served import serving

pytestmark = pytest.mark.slow

MEMBER, STRANGER = dev_account(1), dev_account(4)


def test_member_claims_the_dividend_with_a_browser_wallet(wallet_page, initialised_anvil, tantieme_home):
    with Node.open() as node:
        node.faucet(MEMBER.address)
        work = registry.register(node.as_account(MEMBER), SAMPLES_DIR / "ada-rooftop-bees.md", terms=preset("open")).id
        commons.join(node.as_account(MEMBER), work)
        node.faucet(commons.pool(node).address)  # the machine tax, as settled batches send it
        claimable = commons.status(node, MEMBER.address).claimable
        before = node.token.functions.balanceOf(MEMBER.address).call()
    assert claimable > 0

    with serving(tantieme_home) as (url, _process):
        page = wallet_page
        page.goto(f"{url}/dashboard")
        use_wallet(page, STRANGER.address)
        with page.expect_navigation():
            page.locator("button.wallet-account", has_text="my dividend").click()
        assert page.url == f"{url}/dashboard/commons/{STRANGER.address.lower()}"
        assert page.locator("#not-a-member").is_visible() and page.locator("button.claim").count() == 0

        page.goto(f"{url}/dashboard/commons/{MEMBER.address}")
        assert int(page.locator("#claimable").get_attribute("data-wei")) == claimable
        claim = page.locator("button.claim")
        assert claim.is_visible()  # the script found a wallet and offers the button
        status = page.locator(".tx-status")
        claim.click()  # the wallet's account is the stranger's
        status.filter(has_text=f"only the member {MEMBER.address} may claim").wait_for()
        use_wallet(page, MEMBER.address, chain_id=1)
        claim.click()
        status.filter(has_text="switch it to this node's chain").wait_for()
        with Node.open(readonly=True) as node:
            assert commons.status(node, MEMBER.address).claimable == claimable  # nothing sent

        use_wallet(page, MEMBER.address)
        with page.expect_navigation(timeout=60_000):
            claim.click()
        assert int(page.locator("#claimable").get_attribute("data-wei")) == 0
        assert page.locator("#nothing-to-claim").is_visible() and page.locator("button.claim").count() == 0
        with Node.open(readonly=True) as node:
            assert node.token.functions.balanceOf(MEMBER.address).call() == before + claimable
            (claimed,) = commons.pool(node).events.Claimed().get_logs(from_block=0)
            assert claimed["args"]["amount"] == claimable
            assert node.conn.w3.eth.get_transaction(claimed["transactionHash"])["from"] == MEMBER.address
