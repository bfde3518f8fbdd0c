"""`tantieme model register|list|default|price`, `tantieme ask`."""

from __future__ import annotations

import contextlib
import threading
from typing import TYPE_CHECKING

import typer
from rich.table import Table

from tantieme.amounts import format_amount, parse_amount
from tantieme.cli import app
from tantieme.cli.common import AI_USES, IdArgument, IdOption, completes, open_node
from tantieme.cli.output import JsonOption, console, emit, err_console
from tantieme.errors import TantiemeError
from tantieme.market.asking import CONTEXT_TOKENS
from tantieme.market.routing import STRATEGIES

if TYPE_CHECKING:
    from tantieme import interaction

model_app = typer.Typer(help="Models this node serves.", no_args_is_help=True)
app.add_typer(model_app, name="model")

_BACKENDS = ("local", "openai")
_ATTRIBUTION = ("ablation", "retrieval")


def _render_model(e: dict, default: bool = False) -> None:
    console.print(
        f"model [bold]#{e['asset_id']}[/] {e['name']} ({e['backend']}){' [green]default[/]' if default else ''}: "
        f"{format_amount(int(e['price_prompt_per_million']))} / {format_amount(int(e['price_completion_per_million']))} "
        "TAI per million prompt / completion tokens"
    )


@model_app.command("register")
def model_register(
    dataset: list[int] = IdOption(None, "--dataset", help="A training dataset's asset id (repeat)."),
    backend: str = typer.Option(
        "local", help="local (the embedded GGUF model) or openai (an OpenAI-compatible server).",
        autocompletion=completes(*_BACKENDS),
    ),
    base_url: str = typer.Option(None, help="For --backend openai: the server's /v1 URL."),
    name: str = typer.Option(None, help="For --backend openai: the model name on the server."),
    price_prompt: str = typer.Option("100", help="AI tokens per million prompt tokens."),
    price_completion: str = typer.Option("400", help="AI tokens per million completion tokens."),
    as_json: bool = JsonOption,
) -> None:
    """Register a model as an IP asset (its weights' hash, its training data as parents) and serve it.

    A model's training datasets are fixed when it is first registered.

    Example: tantieme model register --dataset 6 --price-prompt 100 --price-completion 400
    """
    from tantieme import interaction

    if backend not in _BACKENDS:
        raise typer.BadParameter(f"{backend!r} is not a backend; choose local or openai", param_hint="'--backend'")
    if backend == "openai" and not (base_url and name):
        raise typer.BadParameter("--backend openai needs --base-url URL and --name MODEL", param_hint="'--backend'")
    if backend == "local" and (base_url or name):
        raise typer.BadParameter("--base-url and --name are for --backend openai only", param_hint="'--backend'")
    options = {"base_url": base_url, "model": name} if backend == "openai" else {}
    prices = parse_amount(price_prompt, allow_zero=True), parse_amount(price_completion, allow_zero=True)
    with open_node() as node:
        entry = interaction.register_model(
            node, backend=backend, options=options, datasets=tuple(dataset or ()),
            price_prompt_per_million=prices[0], price_completion_per_million=prices[1],
            say=(lambda _: None) if as_json else console.print,
        )
    emit(entry, as_json, lambda e: _render_model(e.__dict__))


@model_app.command("list")
def model_list(as_json: bool = JsonOption) -> None:
    """The models this node serves, their prices, and the default one `ask` uses.

    Example: tantieme model list
    """
    from tantieme.served_models import Models

    models = Models.load()
    data = {"default": models.default, "models": list(models.models.values())}

    def render(_: object) -> None:
        if not models.models:
            console.print("no model yet: `tantieme ask` registers the local model on first use")
        for entry in models.models.values():
            _render_model(entry.__dict__, default=entry.asset_id == models.default)

    emit(data, as_json, render)


@model_app.command("default")
def model_default(asset_id: int = IdArgument(help="A model this node serves."), as_json: bool = JsonOption) -> None:
    """Choose the model `ask` uses when none is named.

    Example: tantieme model default 7
    """
    from tantieme.served_models import Models

    entry = Models.load().set_default(asset_id)
    emit(entry, as_json, lambda e: _render_model(e.__dict__, default=True))


@model_app.command("price")
def model_price(
    asset_id: int = IdArgument(help="A model this node serves."),
    prompt: str = typer.Option(None, help="AI tokens per million prompt tokens."),
    completion: str = typer.Option(None, help="AI tokens per million completion tokens."),
    as_json: bool = JsonOption,
) -> None:
    """Change a model's prices; they apply to the next answers. When this node's agent
    offers the model on chain (`tantieme offers set`), its offer takes the new prices.

    Example: tantieme model price 7 --prompt 50 --completion 200
    """
    from tantieme.served_models import Models

    if prompt is None and completion is None:
        raise typer.BadParameter("give --prompt, --completion or both", param_hint="'--prompt'")
    entry = Models.load().set_price(
        asset_id,
        prompt=None if prompt is None else parse_amount(prompt, allow_zero=True),
        completion=None if completion is None else parse_amount(completion, allow_zero=True),
    )
    offer = None
    if _is_agent():
        from tantieme.cli.offers_cmd import keep_offer

        with open_node() as node:
            offer = keep_offer(node)

    def render(d: dict) -> None:
        _render_model(d)
        if d["offer"] and d["offer"]["tx"]:
            console.print(f"agent #{d['offer']['agent_id']}'s offer on chain takes these prices (tx {d['offer']['tx']})", soft_wrap=True)

    emit({**entry.__dict__, "offer": offer}, as_json, render)


def _is_agent() -> bool:
    """Whether this home registered an agent on some chain (then its offer may need the new prices)."""
    from tantieme.config import home

    return any((home() / "agents").glob("*.json"))


def render_answer(i: interaction.Interaction) -> None:
    a = i.answer
    console.print(f"\n{a.text}\n")
    table = Table("", "source", "owner", "weight")
    for s in a.sources:
        table.add_row(f"[{s.number}]", f"#{s.asset_id} {s.title}", s.owner[:10] + "…", f"{s.weight:.1%}")
    table.add_row("", "[dim]model's own knowledge[/]", "", f"{a.own_knowledge:.1%}")
    console.print(table)
    console.print(
        f"{a.prompt_tokens} prompt + {a.completion_tokens} completion tokens · fee {format_amount(i.fee)} TAI · "
        f"record {i.record.digest[:18]}… · answer {i.answer_path}"
    )
    for note in a.truncated:
        err_console.print(f"[yellow]note:[/] {note}")


def answer_json(i: interaction.Interaction) -> dict:
    from tantieme import interaction

    return {
        "answer": i.answer.to_dict(),
        "fee": i.fee,
        "model": i.model.asset_id,
        "record": i.record.digest,
        "answer_file": str(i.answer_path),
        "answer_document": str(interaction.answer_document(i.record)),
        "credential": str(i.credential_path),
    }


@app.command()
def ask(
    question: str = typer.Argument(..., help="Your question."),
    k: int = typer.Option(4, min=1, max=64, help="Sources to read."),
    max_tokens: int = typer.Option(96, min=1, max=4096, help="Longest answer, in tokens."),
    attribution: str = typer.Option(
        "ablation", help="ablation (measured) or retrieval (fast, by retrieval score).",
        autocompletion=completes(*_ATTRIBUTION),
    ),
    model: int = IdOption(None, "--model", help="Model asset id (default: the node's default model)."),
    node_url: str = typer.Option(
        None, "--node", metavar="URL", help="Ask a remote node (`tantieme serve`) and pay it over x402.",
    ),
    max_fee: str = typer.Option(
        None, "--max-fee", "--cap",
        help="With --node or --route: the most you pay for the answer, in AI tokens (a higher quote is refused).",
    ),
    from_deposit: bool = typer.Option(
        False, "--deposit", help="With --node: pay from your deposit with the node, signing the answer's record.",
    ),
    from_treasury: bool = typer.Option(
        False, "--from-treasury",
        help="With --node or --route: pay from this home's agent treasury, as its agent key, within its limits.",
    ),
    route: str = typer.Option(
        None, "--route", metavar="|".join(STRATEGIES), autocompletion=completes(*STRATEGIES), show_default=False,
        help="Ask the market: the offers on this home's chain, cheapest, fastest or best first (`tantieme offers "
        "--route`), paid over x402; a provider that fails or times out falls to the next.",
    ),
    consent: list[str] = typer.Option(
        [], "--consent", metavar="USE", autocompletion=completes(*AI_USES), show_default=False,
        help="With --route: an AI use every source must grant besides retrieval (repeat for several).",
    ),
    prompt_tokens: int = typer.Option(
        None, "--prompt-tokens", min=0, show_default=False,
        help=f"With --route: the most prompt tokens (question and sources) you pay for (default: {CONTEXT_TOKENS} "
        "minus --max-tokens, the embedded model's context); a node quoting for more is not paid.",
    ),
    timeout: float = typer.Option(60.0, "--timeout", min=0.1, metavar="SECONDS", help="With --route: each provider's time to answer."),
    rate: str = typer.Option(
        None, "--rate", metavar="VALUE", show_default=False,
        help="With --route: rate the answer (e.g. 90) once the node settles it: `tantieme agent feedback --routed` gives it.",
    ),
    as_json: bool = JsonOption,
) -> None:
    """Answer a question from consenting works; pay, record and credential the answer.

    The first question on a node without a model registers the embedded local model.
    With --node URL, a remote node answers and is paid per request over x402 from
    your account (TANTIEME_PRIVATE_KEY, or this home's): its quote is the most the
    answer may cost, and it refunds all above the metered fee. With --deposit too,
    it is paid from your deposit with it (`tantieme deposit AMOUNT --node URL`): you
    check and sign the answer's record and the batch of your unsettled ones, which
    the node settles later; this home must be on the node's chain. With
    --from-treasury, it is paid from this home's agent treasury (`tantieme agent
    fund`) by its agent key (TANTIEME_PRIVATE_KEY, or this home's), only within the
    treasury's limits: a quote outside them is refused before anything is sent.

    With --route, the market answers: the model offers on this home's chain within
    --cap and the consent, tried cheapest, fastest or best first (`tantieme offers
    --route`). A provider is paid only if its 402 asks for this chain's AI token, at its
    agent's wallet, and at most what its offer's prices allow; one that refuses, fails or
    takes longer than --timeout falls to the next. Asking never waits for the answer's
    settlement: --rate VALUE keeps a rating that `tantieme agent feedback --routed` gives
    once the node has settled the answer. With --from-treasury too, the treasury pays:
    an offer outside its limits (payee not allowed, may cost more than its per-payment
    cap or what is left today) is not asked, with the reason; its agent key rates as the
    treasury.

    Example: tantieme ask "How many hives can a flat roof hold?"
    """
    from tantieme.ai.threads import IdleCores

    idle = IdleCores()  # a core other processes leave idle while this one starts encodes the prompt too
    warming = _warm_up(model) if route is None and node_url is None and question.strip() else None
    from tantieme import interaction
    from tantieme.ledger import settlement

    if not question.strip():
        raise typer.BadParameter("the question is empty", param_hint="'QUESTION'")
    if from_treasury and ((node_url is None and route is None) or from_deposit):
        raise typer.BadParameter(
            "--from-treasury pays a remote node: use it with --node URL or --route, without --deposit",
            param_hint="'--from-treasury'",
        )
    market_only = [name for name, v in (("--consent", consent), ("--prompt-tokens", prompt_tokens), ("--rate", rate)) if v not in (None, [])]
    if route is None and market_only:
        option = market_only[0]
        raise typer.BadParameter(f"{option} is for asking the market: use it with --route", param_hint=f"'{option}'")
    if route is not None:
        if node_url is not None or from_deposit:
            option = "--node" if node_url is not None else "--deposit"
            raise typer.BadParameter(f"--route chooses the node: leave out {option}", param_hint=f"'{option}'")
        routed = _ask_market(
            question, route, max_tokens=max_tokens, cap=max_fee, consent=consent, prompt_tokens=prompt_tokens,
            timeout=timeout, rate=rate, from_treasury=from_treasury,
        )
        emit(routed_json(routed) if as_json else routed, as_json, render_routed)
        return
    if node_url is not None:
        cap = None if max_fee is None else parse_amount(max_fee, allow_zero=True)
        ask_it = _ask_deposit if from_deposit else _ask_treasury if from_treasury else _ask_remote
        result = ask_it(node_url, question, max_tokens=max_tokens, model=model, max_fee=cap)
        emit(remote_json(result) if as_json else result, as_json, render_remote)
        return
    if max_fee is not None or from_deposit:
        option = "--max-fee" if max_fee is not None else "--deposit"
        raise typer.BadParameter(f"{option} is for asking a remote node: use it with --node URL", param_hint=f"'{option}'")
    if attribution not in _ATTRIBUTION:
        raise typer.BadParameter(f"{attribution!r}: choose ablation or retrieval", param_hint="'--attribution'")
    with open_node() as node:
        registered = interaction.ensure_default_model(node) if model is None else None
        if registered is not None and not as_json:
            err_console.print(
                f"[yellow]note:[/] registered the local model {registered.name} as asset #{registered.asset_id}, "
                "this node's default (no training data declared; `tantieme model register --dataset ID` declares it)",
                soft_wrap=True,
            )
        with console.status("starting", spinner="dots") if not as_json else contextlib.nullcontext() as status:
            if warming is not None:
                warming.join()
            priced = interaction.quote(model, max_tokens)
            if hasattr(priced.model, "use_batch_threads"):
                priced.model.use_batch_threads(idle.threads())
            result = interaction.ask(
                node, question, model_id=model, k=k, max_tokens=max_tokens, attribution=attribution, priced=priced,
                status=(lambda msg: status.update(msg)) if status else (lambda _m: None),
            )
            settings = node.settings
            if node.address in settlement.due(node, settings.batch_size, settings.batch_max_age_s):
                settlement.settle(node, {node.address: node.account})
    data = {**answer_json(result), "registered_model": registered.asset_id if registered else None}
    emit(data if as_json else result, as_json, render_answer)



def _warm_up(model_id: int | None) -> threading.Thread | None:
    """Load the local model `ask` will run and encode its prompts' head (`encode_head`) in a
    thread, while this process loads web3 and opens the chain: llama.cpp works outside the GIL,
    on the other core. Nothing is decided here: an error comes again where the answer is made,
    which finds the model loaded (`load` keeps it per process) and the head in its cache."""
    import llama_cpp  # noqa: F401  (imported here, not alongside web3 in the thread)

    from tantieme.ai.models import backends, load_model
    from tantieme.served_models import Models

    backends()  # the backends' modules, imported here too
    try:
        models = Models.load()
        entry = models.get(model_id) if model_id is not None or models.default is not None else None
    except TantiemeError:
        return None
    if entry is not None and entry.backend != "local":
        return None
    options = entry.options if entry is not None else {}  # none yet: `ask` registers the local one

    def warm() -> None:
        with contextlib.suppress(Exception):
            load_model("local", **options).encode_head()

    thread = threading.Thread(target=warm, name="tantieme-warm-up", daemon=True)
    thread.start()
    return thread


def _ask_remote(url: str, question: str, *, max_tokens: int, model: int | None, max_fee: int | None):
    from tantieme.payments.client import ask_node

    if not url.startswith(("http://", "https://")):
        raise typer.BadParameter(f"{url!r} is not a node URL: give http://HOST:PORT", param_hint="'--node'")
    account, token, balance = remote_payer()
    with console.status(f"asking {url}", spinner="dots"):
        return ask_node(
            url, question, account, max_fee=max_fee, max_tokens=max_tokens,
            model=str(model) if model is not None else "default", token=token, balance=balance,
        )


def _ask_treasury(url: str, question: str, *, max_tokens: int, model: int | None, max_fee: int | None):
    from tantieme.payments.client import ask_node_from_treasury

    if max_fee is not None:
        raise typer.BadParameter("the treasury's per-payment cap bounds what --from-treasury pays: leave out --max-fee", param_hint="'--max-fee'")
    if not url.startswith(("http://", "https://")):
        raise typer.BadParameter(f"{url!r} is not a node URL: give http://HOST:PORT", param_hint="'--node'")
    with open_node(readonly=True) as local, console.status(f"asking {url}", spinner="dots"):
        return ask_node_from_treasury(
            url, question, treasury_payer(local), max_tokens=max_tokens, model=str(model) if model is not None else "default",
        )


def treasury_payer(local):
    """This home's agent treasury paying as its agent key (`remote_payer`'s account), reading the
    chain through `local` (beside the node, which may share this home): the chain is opened for
    writing only while the agent approves a payment, so the node can settle meanwhile."""
    from tantieme.agents.treasury import TreasuryPayer
    from tantieme.cli.output import waiting
    from tantieme.node import Node

    account = remote_payer()[0]
    return TreasuryPayer(local.as_account(account), writer=lambda: Node.open(account=account, on_wait=waiting))


def _ask_market(
    question: str, strategy: str, *, max_tokens: int, cap: str | None, consent: list[str], prompt_tokens: int | None,
    timeout: float, rate: str | None, from_treasury: bool,
):
    from tantieme.agents.reputation import parse_value
    from tantieme.amounts import MAX_UINT256
    from tantieme.market.asking import ask_market, prompt_bound
    from tantieme.market.routing import Need, consent_bits

    if strategy not in STRATEGIES:
        raise typer.BadParameter(f"{strategy!r}: choose {', '.join(STRATEGIES)}", param_hint="'--route'")
    if rate is not None:
        parse_value(rate)
    need = Need(
        prompt_bound(max_tokens) if prompt_tokens is None else prompt_tokens, max_tokens,
        MAX_UINT256 if cap is None else parse_amount(cap, allow_zero=True), consent_bits(["retrieval", *consent]),
    )
    with open_node(readonly=True) as node, console.status(f"asking the market ({strategy})", spinner="dots"):
        payer = treasury_payer(node) if from_treasury else remote_payer()[0]
        return ask_market(node, question, payer, strategy, need, timeout=timeout, rate=rate)


def _ask_deposit(url: str, question: str, *, max_tokens: int, model: int | None, max_fee: int | None):
    with deposit_client(url) as client, console.status(f"asking {url}", spinner="dots"):
        return client.ask(
            question, max_fee=max_fee, max_tokens=max_tokens, model=str(model) if model is not None else "default"
        )


@contextlib.contextmanager
def deposit_client(url: str):
    """A `DepositClient` of the node at `url` for the payer (`remote_payer`), reading the chain
    through this home; the records it signs kept in this home's journal, and its vouchers too
    unless it is the node's own."""
    from tantieme.ledger.settlement import journal
    from tantieme.payments.client import DepositClient

    if not url.startswith(("http://", "https://")):
        raise typer.BadParameter(f"{url!r} is not a node URL: give http://HOST:PORT", param_hint="'--node'")
    account = remote_payer()[0]
    with open_node(readonly=True) as local, contextlib.closing(journal()) as book:
        client = DepositClient(url, local.as_account(account), kept=book)
        client.book = None if client.operator == local.address else book
        yield client


def remote_payer():
    """Who pays a remote node: `TANTIEME_PRIVATE_KEY`, else this home's account; the AI token
    and a balance reader when this home is on a JSON-RPC chain (an embedded chain is this
    home's own, not the node's)."""
    import os

    from tantieme.chain.accounts import ENV_PRIVATE_KEY, dev_account, load_account
    from tantieme.cli.common import passphrase_prompt
    from tantieme.errors import ConfigError
    from tantieme.node import Settings

    settings = Settings.load() if Settings.path().is_file() else None
    if os.environ.get(ENV_PRIVATE_KEY) or (settings and settings.signer == "keystore"):
        account = load_account(settings.keystore if settings else None, passphrase_prompt())
    elif settings is not None:
        account = dev_account(0)
    else:
        raise ConfigError(f"no account to pay from: set {ENV_PRIVATE_KEY}, or `tantieme init` this home")
    if settings is None or settings.chain != "rpc":
        return account, None, lambda _chain, _asset: None
    from tantieme.chain import connect
    from tantieme.chain.deploy import recorded_deployment

    conn = connect("rpc", rpc_url=settings.rpc_url, account=dev_account(0), readonly=True)
    deployment = recorded_deployment(conn.chain_id)

    def balance(chain_id: int, asset: str) -> int | None:
        if chain_id != conn.chain_id or deployment is None or asset.lower() != deployment.token.lower():
            return None
        from tantieme.chain.deploy import contract

        return contract(conn, "ai_token", deployment.token).functions.balanceOf(account.address).call()

    return account, deployment.token if deployment else None, balance


def remote_json(r) -> dict:
    return {
        "node": r.node,
        "answer": {
            "question": r.question, "text": r.text, "sources": r.sources, "own_knowledge": r.own_knowledge,
            "prompt_tokens": r.prompt_tokens, "completion_tokens": r.completion_tokens,
        },
        "fee": str(r.fee),
        "quote": str(r.quote),
        "model": r.model,
        "record": r.record,
        "payer": r.payer,
        "tantieme": r.extension,
    }


def routed_json(routed) -> dict:
    offer = routed.choice.offer
    return {
        **remote_json(routed.answer),
        "route": {
            "answered_by": {"agent_id": offer.agent_id, "endpoint": offer.endpoint, "model": offer.model},
            "why": routed.choice.why,
            "explored": routed.choice.passed is not None,
            "paid": str(routed.answer.fee),
            "latency_ms": routed.latency_ms,
            "tried": [
                {"agent_id": a.agent_id, "endpoint": a.endpoint, "ms": a.ms, "error": a.error} for a in routed.attempts
            ],
            "skipped": [{"agent_id": s.agent_id, "endpoint": s.endpoint, "reason": s.reason} for s in routed.skipped],
        },
    }


def render_routed(routed) -> None:
    render_remote(routed.answer)
    for a in routed.attempts[:-1]:
        err_console.print(f"[yellow]skipped[/] agent #{a.agent_id} ({a.endpoint}) after {a.ms:,} ms: {a.error}", soft_wrap=True)
    for s in routed.skipped:
        err_console.print(f"[dim]not asked[/] agent #{s.agent_id}: {s.reason}", soft_wrap=True)
    console.print(
        f"answered by agent #{routed.choice.offer.agent_id} in {routed.latency_ms:,} ms, "
        f"paid {format_amount(routed.answer.fee)} TAI (route: {routed.choice.why})",
        soft_wrap=True,
    )


def render_remote(r) -> None:
    console.print(f"\n{r.text}\n")
    table = Table("", "source", "weight")
    for n, s in enumerate(r.sources, start=1):
        table.add_row(f"[{n}]", f"#{s.get('asset')} {s.get('title', '')}", f"{float(s.get('weight', 0)):.1%}")
    if r.own_knowledge is not None:
        table.add_row("", "[dim]model's own knowledge[/]", f"{float(r.own_knowledge):.1%}")
    console.print(table)
    console.print(
        f"{r.prompt_tokens} prompt + {r.completion_tokens} completion tokens · fee {format_amount(r.fee)} TAI "
        + ("from your deposit, signed" if "invoice" in r.extension else f"(quote {format_amount(r.quote)}, the rest refunded)")
        + f" · record {r.record[:18]}… · node {r.node}"
    )
