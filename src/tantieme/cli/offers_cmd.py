"""`tantieme offers [set|remove]`: the model offers on chain, routed among, and this node's own."""

from __future__ import annotations

import typer

from tantieme.cli import app
from tantieme.cli.common import AI_USES, IdOption, completes, open_node
from tantieme.cli.output import JsonOption, console, emit
from tantieme.market.routing import STRATEGIES

offers_app = typer.Typer(
    help="Model offers on chain: list them, see how a router orders them, keep this node's own current.",
    invoke_without_command=True,
)
app.add_typer(offers_app, name="offers")


@offers_app.callback()
def offers_list(
    ctx: typer.Context,
    route: str = typer.Option(
        None, "--route", metavar="|".join(STRATEGIES), autocompletion=completes(*STRATEGIES),
        help="Order the offers as a router tries them: cheapest (estimated fee), fastest (p95 latency, "
        "measured by this client, else advertised) or best (Wilson lower bound of positive paid feedback; an offer "
        "nobody has rated is explored while none is rated positively, else in at most one route in ten).",
        show_default=False,
    ),
    cap: str = typer.Option(None, "--cap", metavar="AMOUNT", help="With --route: the most an answer may cost, in TAI.", show_default=False),
    prompt_tokens: int = typer.Option(512, "--prompt-tokens", min=0, help="With --route: the question's estimated prompt tokens (sources included)."),
    max_tokens: int = typer.Option(96, "--max-tokens", min=0, help="With --route: the most completion tokens the answer may use."),
    consent: list[str] = typer.Option(
        [], "--consent", metavar="USE", autocompletion=completes(*AI_USES),
        help="With --route: an AI use every source must grant besides retrieval (e.g. output-commercial; repeat for several).",
        show_default=False,
    ),
    as_json: bool = JsonOption,
) -> None:
    """List the active model offers: each agent's model, prices per million prompt and
    completion tokens, endpoint, p95 latency (this client's measurement where it has one)
    and the consent it serves. With --route, only the offers within --cap and the consent,
    in the order a router would try them: the first is the priority provider, the next
    ones its fallbacks.

    Example: tantieme offers --route best --cap 0.5 --consent output-commercial
    """
    if ctx.invoked_subcommand is not None:
        return
    from tantieme.amounts import MAX_UINT256, parse_amount
    from tantieme.market import offers as market
    from tantieme.market.asking import may_explore_now
    from tantieme.market.routing import Latencies, Need, consent_bits
    from tantieme.market.routing import route as order

    measured = Latencies().p95s()
    with open_node(readonly=True) as node:
        offers = market.list_offers(node)
        if route is None:
            data = {"route": None, "offers": [_row(o, measured) for o in offers]}
        else:
            need = Need(prompt_tokens, max_tokens, parse_amount(cap) if cap else MAX_UINT256, consent_bits(["retrieval", *consent]))
            scores = market.reputations(node, [o.agent_id for o in offers]) if route == "best" else {}
            chosen = order(offers, need, route, reputation=scores, latency=measured, explore=may_explore_now())
            data = {
                "route": route,
                "need": {"prompt_tokens": need.prompt_tokens, "completion_tokens": need.completion_tokens,
                         "cap": need.cap, "consent": _names(need.consent)},
                "offers": [
                    _row(c.offer, measured) | {
                        "quote": c.quote, "score": c.score, "why": c.why,
                        **({"feedback": {"positive": scores[c.offer.agent_id].positive,
                                         "count": scores[c.offer.agent_id].total}} if c.offer.agent_id in scores else {}),
                    }
                    for c in chosen
                ],
            }
    emit(data, as_json, _render)


@offers_app.command("set")
def offers_set(
    latency_ms: int = typer.Option(
        ..., "--latency-ms", min=1, help="The p95 answer time to advertise, in ms (routers measure their own).",
        show_default=False,
    ),
    model_id: int = IdOption(None, "--model", help="The model to offer (default: the node's default model)."),
    url: str = typer.Option(
        None, "--url", metavar="BASE_URL", help="Where `tantieme serve` answers (default: the agent's --url).",
        show_default=False,
    ),
    as_json: bool = JsonOption,
) -> None:
    """Offer this node's model on chain, as the node's agent (`tantieme agent register`):
    its prices from `tantieme model price`, its endpoint BASE_URL/v1/chat/completions, the
    consent it serves (retrieval: it reads only works that consent to it). Run again after a
    price change to keep the offer current; nothing is sent when it is.

    Example: tantieme offers set --latency-ms 2500
    """
    from tantieme.market import offers as market

    with open_node() as node:
        done = market.offer_node_model(node, latency_ms=latency_ms, model_id=model_id, url=url)

    def render(d: dict) -> None:
        o = d["offer"]
        head = "offered" if d["tx"] else "the offer is current, nothing sent:"
        console.print(
            f"{head} model #{o['model']} as agent #{o['agent_id']} at {_prices(o)} per million prompt / "
            f"completion tokens, {o['endpoint']}, p95 {o['p95_latency_ms']:,} ms"
            + (f" (tx {d['tx']}, gas {d['gas']:,})" if d["tx"] else ""),
            soft_wrap=True,
        )

    emit({"offer": _row(done.offer, {}), "tx": done.tx, "gas": done.gas}, as_json, render)


@offers_app.command("remove")
def offers_remove(as_json: bool = JsonOption) -> None:
    """Withdraw this node's agent's offer: routers stop choosing it.

    Example: tantieme offers remove
    """
    from tantieme.agents.identity import load_profile
    from tantieme.errors import ConfigError
    from tantieme.market import offers as market

    with open_node() as node:
        profile = load_profile(node)
        if profile is None or profile.agent_id is None:
            raise ConfigError("this node is not an agent on this chain: it has no offer")
        done = market.remove_offer(node, profile.agent_id)
        data = {"agent_id": profile.agent_id, "tx": done.tx, "gas": done.gas}
    emit(data, as_json, lambda d: console.print(f"removed agent #{d['agent_id']}'s offer (tx {d['tx']}, gas {d['gas']:,})"))


def keep_offer(node) -> dict | None:
    """Bring the node's offer on chain in line with what it serves (`market.offers.keep_offer_current`):
    {agent_id, model, tx} (tx None: it was current), or None without an offer. A failure is said
    on stderr and leaves the offer as it was: routers then refuse quotes above it."""
    from tantieme.cli.output import err_console
    from tantieme.errors import TantiemeError
    from tantieme.market.offers import keep_offer_current

    try:
        done = keep_offer_current(node)
    except TantiemeError as exc:
        err_console.print(f"[yellow]note:[/] the offer on chain was not updated: {exc}", soft_wrap=True)
        return None
    if done is None:
        return None
    return {"agent_id": done.offer.agent_id, "model": done.offer.model, "tx": done.tx}


def _names(bits: int) -> list[str]:
    from tantieme.market.routing import CONSENT

    return [name for name, bit in CONSENT.items() if bits & bit]


def _row(offer, measured: dict[str, int]) -> dict:
    return {
        "agent_id": offer.agent_id,
        "model": offer.model,
        "price_prompt_per_million": offer.price_prompt_per_million,
        "price_completion_per_million": offer.price_completion_per_million,
        "endpoint": offer.endpoint,
        "p95_latency_ms": offer.p95_latency_ms,
        "measured_p95_ms": measured.get(offer.endpoint),
        "consent": _names(offer.consent),
    }


def _prices(row: dict) -> str:
    from tantieme.amounts import format_amount

    return f"{format_amount(int(row['price_prompt_per_million']))} / {format_amount(int(row['price_completion_per_million']))} TAI"


def _render(data: dict) -> None:
    from rich.table import Table

    from tantieme.amounts import format_amount

    if not data["offers"]:
        console.print("no offer fits" if data["route"] else "no model offers on chain yet: `tantieme offers set` offers this node's")
        return
    table = Table("agent", "model", "TAI per 1M prompt / completion", "endpoint", "p95 ms", "consent",
                  *(("quote TAI", "score", "why") if data["route"] else ()))
    for o in data["offers"]:
        p95 = f"{o['measured_p95_ms']:,} measured" if o["measured_p95_ms"] is not None else f"{o['p95_latency_ms']:,}"
        extra = (format_amount(int(o["quote"])), f"{o['score']:.3f}", o["why"]) if data["route"] else ()
        table.add_row(f"#{o['agent_id']}", f"#{o['model']}", _prices(o), o["endpoint"], p95, ", ".join(o["consent"]), *extra)
    console.print(table)
