"""Fixtures every test folder may use. Keep this small and general."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tantieme import node as node_mod
from tantieme.chain.accounts import dev_account
from tantieme.node import Node

ROOT = Path(__file__).resolve().parent.parent

# ------------------------------------------------------------------ home --

_ENV_KEYS = ("TANTIEME_PRIVATE_KEY", "TANTIEME_PASSPHRASE", "TANTIEME_RPC_URL", "TANTIEME_LOG_RANGE")


@pytest.fixture(autouse=True)
def tantieme_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Hermetic: `TANTIEME_HOME` is a fresh tmp directory and no key leaks in from the shell.

    `TANTIEME_DEBUG` makes the CLI re-raise unexpected exceptions: a bug fails the test.
    """
    home = tmp_path / "home"
    monkeypatch.setenv("TANTIEME_HOME", str(home))
    monkeypatch.setenv("TANTIEME_DEBUG", "1")
    for key in _ENV_KEYS:
        monkeypatch.delenv(key, raising=False)
    return home


# ----------------------------------------------------------------- anvil --

@contextlib.contextmanager
def _running_anvil(*extra: str) -> Iterator[str]:
    from tantieme.chain import anvil

    if anvil.binary() is None:
        if os.environ.get("CI"):
            pytest.fail(f"anvil is not installed ({anvil.BUNDLED}): `make test` installs it with npm")
        pytest.skip(f"anvil is not installed ({anvil.BUNDLED}): run `npm install`")
    with anvil.running(*extra) as url:
        yield url


@pytest.fixture
def anvil() -> Iterator[str]:
    """URL of a fresh anvil node (real binary, loopback, Prague like the embedded chain).

    Its accounts are the dev accounts of `tantieme.chain.accounts`, account 0 the faucet.
    """
    with _running_anvil() as url:
        yield url


@pytest.fixture
def anvil_public() -> Iterator[str]:
    """An anvil node posing as a public chain (an unknown chain id): no dev keys, no faucet."""
    with _running_anvil("--chain-id", "8453000") as url:
        yield url


# ------------------------------------------------------------------ cast --

CAST = ROOT / "node_modules/@foundry-rs/cast-linux-amd64/bin/cast"


@pytest.fixture
def cast() -> Callable[..., object]:
    """Foundry's `cast`, a tool that is not ours, reading and writing a chain:
    `cast("call", address, "f(uint256)(uint256)", "1", "--rpc-url", url)` returns its `--json`
    output parsed (with as_json=False, for commands that print text such as `keccak`, its text);
    with ok=False the command must fail, and its error text is returned."""

    def run(*args: str, ok: bool = True, as_json: bool = True) -> object:
        if not CAST.exists():
            pytest.fail(f"cast ({CAST}) is needed: `make install` installs it with npm")
        done = subprocess.run([str(CAST), *args, *(["--json"] if as_json else [])], capture_output=True, text=True,
                              timeout=60)
        assert (done.returncode == 0) == ok, done.stderr or done.stdout
        if not ok:
            return done.stderr.strip()
        return json.loads(done.stdout) if as_json else done.stdout.strip()

    return run


# ---------------------------------------------------------------- nodejs --

NODE_PACKAGES = ("ethers", "@openzeppelin/merkle-tree")


@pytest.fixture(scope="session")
def nodejs() -> Callable[..., object]:
    """Node.js with the npm packages `make install` installs (ethers, OpenZeppelin's merkle-tree),
    tools that are not ours: `nodejs(DATA / "x.cjs", *args, stdin=text)` runs the script and returns
    its output parsed as JSON (with as_json=False, its text); `nodejs("-e", code, *args)` runs `code`.
    The script must succeed: its error text fails the test. Missing, it fails too, as `cast` does."""
    program = shutil.which("node")
    probe = "".join(f"require.resolve({package!r});" for package in NODE_PACKAGES)
    if program is None or subprocess.run([program, "-e", probe], cwd=ROOT, capture_output=True).returncode:
        pytest.fail(f"node and {', '.join(NODE_PACKAGES)} are needed: `make install` installs them with npm")

    def run(script: str | Path, *args: str, stdin: str | None = None, as_json: bool = True) -> object:
        done = subprocess.run([program, str(script), *args], input=stdin, cwd=ROOT, capture_output=True, text=True,
                              timeout=60)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout) if as_json else done.stdout.strip()

    return run


# ------------------------------------------------------------------ node --
# A node on each backend, and creators with funds: the SDK must behave the same on both.

@pytest.fixture(scope="session")
def _initialised_embedded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home where `init("embedded")` ran, once per session."""
    template = tmp_path_factory.mktemp("initialised") / "home"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TANTIEME_HOME", str(template))
        for key in _ENV_KEYS:
            patch.delenv(key, raising=False)
        node_mod.init("embedded")
    return template


@pytest.fixture
def init_embedded(_initialised_embedded: Path) -> Callable[[], None]:
    """`init("embedded")` for tests that need an initialised node, not the init itself: copies
    into the current `TANTIEME_HOME` the home one real init made this session (its chain, the
    same deployment, the operator funded), instead of deploying every contract again."""
    import shutil

    from tantieme.config import home

    def init() -> None:
        shutil.copytree(_initialised_embedded, home(), dirs_exist_ok=True)

    return init


@pytest.fixture(scope="session")
def _initialised_anvil(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Anvil's state after `init("rpc", URL)` (with every block's state, for reads at past
    blocks) and the home that init wrote, made once per session."""
    import gzip

    from web3 import Web3

    where = tmp_path_factory.mktemp("initialised-anvil")
    with _running_anvil() as url, pytest.MonkeyPatch.context() as patch:
        patch.setenv("TANTIEME_HOME", str(where / "home"))
        for key in _ENV_KEYS:
            patch.delenv(key, raising=False)
        node_mod.init("rpc", url)
        provider = Web3.HTTPProvider(url, request_kwargs={"timeout": 60})
        dumped = provider.make_request("anvil_dumpState", [True])["result"]
    (where / "state.json").write_bytes(gzip.decompress(bytes.fromhex(dumped[2:])))
    return where / "state.json", where / "home"


@pytest.fixture
def initialised_anvil(_initialised_anvil: tuple[Path, Path]) -> Iterator[str]:
    """URL of a fresh anvil node on which `init("rpc", URL)` has run for `TANTIEME_HOME`, for
    tests that need an initialised node, not the init itself: anvil starts from the state one
    real init left this session (same deployment, operator funded) and the home gets that
    init's deployment record, so this init finds everything in place instead of deploying."""
    import shutil

    from tantieme.config import home

    state, initialised = _initialised_anvil
    with _running_anvil("--load-state", str(state)) as url:
        shutil.copytree(initialised / "deployments", home() / "deployments", dirs_exist_ok=True)
        node_mod.init("rpc", url)
        yield url


@pytest.fixture(params=["embedded", "anvil"])
def node(request: pytest.FixtureRequest) -> Iterator[Node]:
    """An initialised node (contracts deployed, operator funded) on the embedded chain or anvil."""
    if request.param == "embedded":
        request.getfixturevalue("init_embedded")()
    else:
        request.getfixturevalue("initialised_anvil")
    with Node.open() as opened:
        yield opened


@pytest.fixture
def creator(node: Node) -> Node:
    """The node acting as a funded creator (dev account 1)."""
    account = dev_account(1)
    node.faucet(account.address)
    return node.as_account(account)


@pytest.fixture
def other(node: Node) -> Node:
    """A second funded creator (dev account 2)."""
    account = dev_account(2)
    node.faucet(account.address)
    return node.as_account(account)


@pytest.fixture
def advance_clock(node: Node, monkeypatch: pytest.MonkeyPatch) -> Callable[[int], None]:
    """Move the node's chain clock `seconds` ahead and mine a block there (the
    embedded chain follows the wall clock: ours moves with it)."""

    def advance(seconds: int) -> None:
        if node.settings.chain == "embedded":
            now = time.time() + seconds
            monkeypatch.setattr(time, "time", lambda: now)
            node.faucet(node.address, 1)  # a block at the new time
        else:
            node.conn.w3.provider.make_request("evm_increaseTime", [seconds])
            node.conn.w3.provider.make_request("evm_mine", [])

    return advance


@pytest.fixture
def make_file(tmp_path: Path) -> Callable[[str], Path]:
    """A fresh text file with the given content."""
    counter = iter(range(10**6))

    def make(text: str) -> Path:
        path = tmp_path / f"work-{next(counter)}.md"
        path.write_text(text)
        return path

    return make


# ------------------------------------------------------------------ JSON --

JSON_SAFE_INTEGER = 2**53 - 1
# Keys that hold token amounts, gas or token ids: strings in the CLI's JSON, whatever their size.
JSON_AMOUNT_KEYS = {
    "amount", "balance", "eth_balance", "token_balance", "fee", "minting_fee", "total", "claimed", "claimable",
    "collectable", "pending", "uncredited", "paid", "funded", "gas", "token_id", "price_prompt_per_million",
    "price_completion_per_million", "quote", "refund",
}


def _json_problems(value: object, path: str = "$", amount: bool = False) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            if key in ("tx", "tx_hash") and item is not None and not (isinstance(item, str) and item.startswith("0x")):
                yield f"{path}.{key}: transaction hash {item!r} is not 0x-prefixed"
            yield from _json_problems(item, f"{path}.{key}", amount or key in JSON_AMOUNT_KEYS)
    elif isinstance(value, list):
        for n, item in enumerate(value):
            yield from _json_problems(item, f"{path}[{n}]", amount)
    elif isinstance(value, int) and not isinstance(value, bool):
        if amount:
            yield f"{path}: amount {value} is a number, not a string"
        elif abs(value) > JSON_SAFE_INTEGER:
            yield f"{path}: {value} is beyond 2^53 and JavaScript would round it"
    elif isinstance(value, float) and value == int(value) and abs(value) > JSON_SAFE_INTEGER:
        yield f"{path}: {value} is beyond 2^53"


@pytest.fixture
def json_rules() -> Callable[[object], None]:
    """Checks a CLI JSON document: amounts as strings, no number JavaScript would round, 0x tx hashes."""

    def check(document: object) -> None:
        problems = list(_json_problems(document))
        assert problems == [], problems

    return check


# --------------------------------------------------------------- answers --

PAYER = dev_account(5)


@pytest.fixture
def payer():
    """The asker who pays for `make_answer`'s answers (dev account 5)."""
    return PAYER


@pytest.fixture
def make_answer() -> Callable[..., object]:
    """A factory of answered questions: a work, a model, a signed record by `PAYER` (dev
    account 5, funded) and its credentialed answer files, made as `ask` makes them but
    without running a model. Call it with a node; it returns the journaled record."""
    import os

    from tantieme import interaction
    from tantieme.assets import registry
    from tantieme.assets.terms import preset
    from tantieme.ledger import settlement

    def make(node: Node, question: str = "How many hives can a flat roof of forty square metres hold?",
             answer: str = "Four hives.", fee: int = 10**15):
        work = registry.register_hash(node, os.urandom(32), kind="work", terms=preset("open"), title="Bees", media_type="text/plain").id
        model = registry.register_hash(node, os.urandom(32), kind="model", terms=preset("open"), title="m", media_type="application/octet-stream").id
        if node.balance(PAYER.address) == 0:
            node.faucet(PAYER.address)
        row = settlement.record(
            node, PAYER, model=model, question=question, answer=answer, sources=[work], weights=[0.6],
            prompt_tokens=120, completion_tokens=8, fee=fee, details={},
        )
        entry = interaction.ModelEntry(
            asset_id=model, name="m", backend="local", options={}, weights_hash="00" * 32,
            price_prompt_per_million=1, price_completion_per_million=1,
        )
        interaction.write_answer(node, row, entry)
        return row

    return make


# ----------------------------------------------------------------- model --


class StubModel:
    """A model backend that answers "Four hives." at once: for tests of what surrounds the model."""

    name = "stub"
    weights_hash = "sha256:" + "5" * 64
    context_window = 2048
    can_score = True
    generated = 0

    def __init__(self, **_options: object) -> None:
        pass

    def tokenize(self, text: str) -> list[int]:
        return [len(word) for word in text.split()]

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def prompt_tokens(self, messages) -> int:
        return sum(self.count_tokens(m["content"]) + 4 for m in messages)

    def generate(self, messages, max_tokens: int = 256, stop=()):
        from tantieme.ai.models import Generation

        StubModel.generated += 1
        return Generation("Four hives.", self.prompt_tokens(messages), 3, "stop", 0.0, 0.0)

    def answer_logprob(self, messages, answer_text: str) -> float:
        return -1.0

    def answer_logprobs(self, variants, answer_text: str) -> list[float]:
        return [-1.0 for _ in variants]


@pytest.fixture
def stub_model(monkeypatch: pytest.MonkeyPatch) -> type[StubModel]:
    """The "stub" model backend, and indexes that embed without loading MiniLM."""
    from tantieme.ai.embeddings import HashingEmbedder
    from tantieme.ai.models import _BACKENDS, register_backend

    monkeypatch.setattr("tantieme.ai.index.default_embedder", HashingEmbedder)
    monkeypatch.setattr(StubModel, "generated", 0)
    register_backend("stub", StubModel)
    yield StubModel
    _BACKENDS.pop("stub", None)
