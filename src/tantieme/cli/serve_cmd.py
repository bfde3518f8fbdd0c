"""`tantieme serve`: the node as a web service (see `tantieme.api`, docs/api.md)."""

from __future__ import annotations

import logging
import os
import signal
import socket

import typer

from tantieme.cli import app
from tantieme.cli.common import passphrase_prompt
from tantieme.cli.offers_cmd import keep_offer
from tantieme.cli.output import JsonOption, console, emit, waiting

ENV_ADMIN_TOKEN = "TANTIEME_ADMIN_TOKEN"


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Address to listen on (loopback by default)."),
    port: int = typer.Option(8402, min=1, max=65535, help="Port to listen on."),
    self_pay: bool = typer.Option(
        False, "--self-pay", help="DEVELOPMENT ONLY: the node's own account pays for every answer (loopback only).",
    ),
    settle_every: float = typer.Option(
        None, "--settle-every", min=1, metavar="SECONDS", help="Settle the node's pending records this often.",
    ),
    facilitator_url: str = typer.Option(
        None, "--facilitator-url", metavar="URL",
        help="An x402 facilitator to verify and settle payments (default: one in this process, on the node's chain).",
    ),
    queue: int = typer.Option(8, min=1, max=1024, help="Questions that may wait for the model; more get 503."),
    per_payer: int = typer.Option(
        2, "--per-payer", min=1, max=1024,
        help="Questions of one payer that may wait for the model (payers are answered in turn); more get 429.",
    ),
    rate: int = typer.Option(60, min=1, help="Questions a payer may ask per minute; more get 429."),
    as_json: bool = JsonOption,
) -> None:
    """Serve this node over HTTP: OpenAI-compatible chat (POST /v1/chat/completions), models,
    assets, record bundles and answers with their credentials (docs/api.md).

    The node, its index and the default model stay loaded, so answers are warm. Askers pay
    per request over x402 (the 402 quotes the most an answer may cost; all above the metered
    fee is refunded), or from a deposit with this node, signing each answer's record (requests
    with X-Tantieme-Payer: `tantieme ask --node URL --deposit`); --self-pay has the node's own
    account pay instead of x402 (a development mode, loopback only). An address other than loopback needs an admin
    token (TANTIEME_ADMIN_TOKEN), which also guards POST /admin/settle. Ctrl-C or SIGTERM
    finishes the answers under way, journals them and exits.

    Example: tantieme serve --self-pay --port 8402
    """
    from tantieme import interaction
    from tantieme import node as node_mod
    from tantieme.api import X402, DepositGate, Limits, SelfPay, Service, create_app
    from tantieme.api.payments import is_loopback
    from tantieme.errors import ConfigError

    token = os.environ.get(ENV_ADMIN_TOKEN) or None
    if not is_loopback(host) and not token:
        raise ConfigError(
            f"{host} is reachable from other machines: set {ENV_ADMIN_TOKEN} to a secret first "
            "(it guards management), or serve on 127.0.0.1"
        )
    settings = node_mod.Settings.load()
    _check_port(host, port)
    account = node_mod.signer(settings, passphrase_prompt())
    if self_pay and facilitator_url:
        raise typer.BadParameter("--self-pay takes no payment: leave out --facilitator-url", param_hint="'--facilitator-url'")
    with node_mod.Node.open(account=account, on_wait=waiting) as writer:
        registered = interaction.ensure_default_model(writer)
        offer = keep_offer(writer)
    node = node_mod.Node.open(readonly=True, account=account)
    try:
        gate = DepositGate(node, account, SelfPay(account, host) if self_pay else X402(node, account, facilitator_url))
        service = Service(
            node, gate, limits=Limits(queue=queue, per_payer=per_payer, rate_per_minute=rate), settle_every=settle_every, admin_token=token,
        )
        if not as_json:
            console.print("loading the model and the index…")
        service.start()
        try:
            _run(create_app(service, manage=False), host, port, {
                "url": f"http://{_url_host(host)}:{port}",
                "operator": node.address,
                "chain_id": node.conn.chain_id,
                "model": interaction.Models.load().default,
                "registered_model": registered.asset_id if registered else None,
                "offer": offer,
                "payments": gate.name,
                "settle_every": settle_every,
            }, as_json)
        finally:
            service.stop()
    finally:
        node.close()


def _run(api, host: str, port: int, ready: dict, as_json: bool) -> None:
    import uvicorn

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    server = uvicorn.Server(uvicorn.Config(api, host=host, port=port, log_level="warning", lifespan="off"))

    def render(d: dict) -> None:
        if d["registered_model"]:
            console.print(f"registered the local model as asset #{d['registered_model']}, this node's default")
        payments = {
            "self+deposit": "the node's own account pays (development only), or a payer's deposit",
            "x402+deposit": "x402 per request, or a payer's deposit",
        }[d["payments"]]
        if d["offer"] and d["offer"]["tx"]:
            console.print(f"updated agent #{d['offer']['agent_id']}'s offer to what it serves (tx {d['offer']['tx']})", soft_wrap=True)
        console.print(f"serving {d['url']} · model #{d['model']} · payments: {payments} · Ctrl-C to stop")

    emit(ready, as_json, render)
    # uvicorn re-raises the signal that stopped it once it has shut down: here it is done with.
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: None)
    server.run()
    if not as_json:
        console.print("stopped: every answer given is journaled")


def _check_port(host: str, port: int) -> None:
    from tantieme.errors import ConfigError

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror:
        raise ConfigError(f"cannot listen on {host!r}: not an address of this machine") from None
    family, _, _, _, address = infos[0]
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            raise ConfigError(
                f"cannot listen on {host}:{port}: {exc.strerror.lower() if exc.strerror else exc} "
                "(another `tantieme serve`?); choose another port with --port"
            ) from None


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host
