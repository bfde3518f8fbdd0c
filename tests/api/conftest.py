"""A node served in this process through FastAPI's TestClient, on the stub model."""

from __future__ import annotations

import json
import os
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tantieme import interaction
from tantieme.api import Limits, SelfPay, Service, Unpaid, create_app
from tantieme.assets import registry
from tantieme.assets.terms import preset
from tantieme.chain.accounts import dev_account
from tantieme.node import Node

CHROMIUM = "/usr/bin/chromium"
QUESTION = "How many hives can a flat roof of forty square metres hold?"
BEES = "# Bees\n\nA flat roof of forty square metres can hold four hives, spaced two metres apart.\n"


def chat(content: str = QUESTION, **fields: object) -> dict:
    return {"model": "default", "messages": [{"role": "user", "content": content}], **fields}


@pytest.fixture
def served_home(stub_model, make_file, init_embedded) -> dict:
    """An embedded node with an open work and the stub model as its default (writer closed)."""
    init_embedded()
    with Node.open() as node:
        work = registry.register(node, make_file(BEES), terms=preset("open"), title="Bees").id
        model = interaction.register_model(node, backend="stub").asset_id
    return {"work": work, "model": model}


@pytest.fixture
def make_client(served_home) -> Iterator[Callable[..., TestClient]]:
    """A factory of started services in TestClients: `make_client(gate="self", admin_token=None,
    settle_every=None, **limits)`; `gate` is "self", "none" or a `Gate`."""
    opened: list[tuple[TestClient, Node]] = []

    def make(gate: object = "self", admin_token: str | None = None, settle_every: float | None = None, **limits: object) -> TestClient:
        account = dev_account(0)
        node = Node.open(readonly=True, account=account)
        payments = {"self": lambda: SelfPay(account, "127.0.0.1"), "none": Unpaid}[gate]() if isinstance(gate, str) else gate
        service = Service(node, payments, limits=Limits(**limits), admin_token=admin_token, settle_every=settle_every)
        client = TestClient(create_app(service))
        client.__enter__()
        opened.append((client, node))
        return client

    yield make
    for client, node in opened:
        client.__exit__(None, None, None)
        node.close()


@pytest.fixture
def client(make_client) -> TestClient:
    """A service whose node pays for itself (`--self-pay`)."""
    return make_client()


def records() -> int:
    from tantieme.ledger.settlement import journal

    book = journal()
    try:
        return len(book.records())
    finally:
        book.close()


class HeldModel:
    """The stub model made to wait: each answer starts (`entered` is released, `asked` gets its
    messages) and waits until `let` lets it through; so questions stay in the lobby meanwhile."""

    def __init__(self, stub_model, monkeypatch: pytest.MonkeyPatch) -> None:
        self.entered = threading.Semaphore(0)
        self.asked: list[str] = []
        self._go = threading.Semaphore(0)
        generate = stub_model.generate

        def waiting(model, messages, *args, **kwargs):
            self.asked.append(str(messages))
            self.entered.release()
            assert self._go.acquire(timeout=30)
            return generate(model, messages, *args, **kwargs)

        monkeypatch.setattr(stub_model, "generate", waiting)

    def let(self, answers: int = 1) -> None:
        for _ in range(answers):
            self._go.release()


@pytest.fixture
def held_model(stub_model, monkeypatch) -> HeldModel:
    return HeldModel(stub_model, monkeypatch)


@pytest.fixture
def verified(monkeypatch) -> list[str]:
    """The payer named by each x402 payment a node of this process verified, in order."""
    from tantieme.payments.per_request import PayPerRequest, named_payer

    payers: list[str] = []
    verify = PayPerRequest.verify

    def counting(self, request, quote):
        if header := request.headers.get("payment-signature"):
            payers.append(named_payer(header))
        return verify(self, request, quote)

    monkeypatch.setattr(PayPerRequest, "verify", counting)
    return payers


def until_queued(service: Service, n: int) -> None:
    """Wait until `n` questions wait in `service`'s lobby."""
    deadline = time.monotonic() + 10
    while service.queued != n:
        assert time.monotonic() < deadline, f"{service.queued} questions queued, not {n}"
        time.sleep(0.01)


@pytest.fixture
def browser():
    """Headless Chromium (Debian's) driven by Playwright."""
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"Chromium is not installed ({CHROMIUM}): `make install` installs Debian's")
        pytest.skip(f"Chromium is not installed ({CHROMIUM}): apt-get install chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield launched
        finally:
            launched.close()


# A browser wallet: `window.ethereum.request` as EIP-1193 has it, forwarding to anvil through the
# test (`anvilRpc`); its account is `window.walletAccount` (anvil's accounts are unlocked: it signs
# as that account), as a wallet answers for the account chosen; `window.walletChainId`, when set,
# is the chain it claims to be on (a wallet left on another chain).
WALLET = """
window.ethereum = {
  async request({ method, params }) {
    if (method === "eth_requestAccounts" || method === "eth_accounts") return [window.walletAccount];
    if (method === "eth_chainId" && window.walletChainId) return window.walletChainId;
    const reply = JSON.parse(await window.anvilRpc(JSON.stringify({ jsonrpc: "2.0", id: 1, method, params: params || [] })));
    if (reply.error) throw new Error(reply.error.message);
    return reply.result;
  },
};
"""


@pytest.fixture
def wallet_page(browser, initialised_anvil):
    """A page of `browser` whose wallet forwards to `initialised_anvil`; `use(page, account,
    chain_id=None)` picks the wallet's account (and the chain it claims)."""

    def forward(body: str) -> str:
        request = urllib.request.Request(initialised_anvil, data=body.encode(), headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.read().decode()

    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.expose_function("anvilRpc", forward)
    page.add_init_script(WALLET)
    yield page
    page.close()


def use_wallet(page, account: str, chain_id: int | None = None) -> None:
    """The wallet's account from now on (and the chain it says it is on: None for anvil's)."""
    page.evaluate(f"window.walletAccount = {json.dumps(account.lower())}")
    page.evaluate(f"window.walletChainId = {json.dumps(hex(chain_id) if chain_id else None)}")
