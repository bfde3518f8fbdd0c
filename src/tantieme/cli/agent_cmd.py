"""`tantieme agent register|show|feedback`: the node as an ERC-8004 agent, and paid feedback."""

from __future__ import annotations

from pathlib import Path

import typer

from tantieme.cli import app
from tantieme.cli.common import IdArgument, IdOption, open_node
from tantieme.cli.output import JsonOption, console, emit, waiting

agent_app = typer.Typer(help="The node as an agent (ERC-8004): identity, registration file, paid feedback, its treasury.", no_args_is_help=True)
app.add_typer(agent_app, name="agent")


@agent_app.command("register")
def agent_register(
    url: str = typer.Option(
        None, "--url", metavar="BASE_URL",
        help="Where the node is served (`tantieme serve`): the agent's URI is BASE_URL/.well-known/agent-registration.json.",
        show_default=False,
    ),
    name: str = typer.Option(None, "--name", help="The agent's name (default: tantieme node ADDRESS).", show_default=False),
    description: str = typer.Option(None, "--description", help="What the agent does.", show_default=False),
    image: str = typer.Option(None, "--image", metavar="URL", help="The agent's image.", show_default=False),
    as_json: bool = JsonOption,
) -> None:
    """Register this node's operator as an agent in the ERC-8004 identity registry.

    The agent's URI is the registration file `tantieme serve` serves at
    /.well-known/agent-registration.json under --url, or without --url the file
    itself on chain (a data: URI). The agent id is kept in this home. Run again to
    change the URL, name, description or image: the agent stays, its URI is updated.

    Example: tantieme agent register --url http://127.0.0.1:8402 --name "Roof bees node"
    """
    from tantieme.agents import identity

    with open_node() as node:
        profile, registered = identity.register(node, name=name, description=description, image=image, url=url)
        data = {
            "agent_id": profile.agent_id,
            "agent_registry": identity.agent_registry(profile.chain_id, profile.identity),
            "registered": registered,
            "owner": node.address,
            "uri": profile.uri,
            "registration": identity.registration_file(profile),
        }

    def render(d: dict) -> None:
        done = "registered" if d["registered"] else "updated"
        uri = d["uri"] if len(d["uri"]) <= 100 else d["uri"][:60] + "…"
        console.print(f"{done} agent #{d['agent_id']} ({d['agent_registry']}) owned by {d['owner']}", soft_wrap=True)
        console.print(f"agent URI {uri}", soft_wrap=True)

    emit(data, as_json, render)


@agent_app.command("show")
def agent_show(
    agent_id: int = IdArgument(None, help="An agent id (default: this node's agent)."),
    as_json: bool = JsonOption,
) -> None:
    """Show an agent as the chain has it: owner, wallet, URI, metadata, and its reputation
    from paying clients (ERC-8004 `getSummary` over every client who gave feedback).

    Example: tantieme agent show 1
    """
    from tantieme.agents import identity
    from tantieme.errors import ConfigError

    with open_node(readonly=True) as node:
        if agent_id is None:
            profile = identity.load_profile(node)
            if profile is None or profile.agent_id is None:
                raise ConfigError("this node is not an agent yet: run `tantieme agent register`, or give an agent ID")
            agent_id = profile.agent_id
        data = identity.show(node, agent_id)

    def render(d: dict) -> None:
        uri = d["uri"] if len(d["uri"]) <= 100 else d["uri"][:60] + "…"
        console.print(f"agent #{d['agent_id']} ({d['agent_registry']})")
        console.print(f"owner {d['owner']} · paid at {d['wallet'] or '(no wallet)'}", soft_wrap=True)
        console.print(f"URI {uri or '(none)'}", soft_wrap=True)
        if d["registration"]:
            console.print(f"registration file: {d['registration'].get('name')}")
        for key, value in d["metadata"].items():
            console.print(f"metadata {key} = {value}")
        rep = d["reputation"]
        if rep["count"]:
            console.print(f"reputation {rep['average']} from {rep['count']} paid feedback by {rep['clients']} clients")
        else:
            console.print("reputation: no feedback from paying clients yet")

    emit(data, as_json, render)


@agent_app.command("feedback")
def agent_feedback(
    target: str = typer.Argument(
        None, metavar="RECORD_OR_BUNDLE", show_default=False,
        help="A bundle file, or a record (digest) with --node URL, of this home, or of an answer `ask --route` paid.",
    ),
    value: str = typer.Option(None, "--value", help="The rating, a plain decimal (e.g. 90, or 4.5).", show_default=False),
    tag1: str = typer.Option("", "--tag1", help="A first tag (e.g. starred)."),
    tag2: str = typer.Option("", "--tag2", help="A second tag."),
    endpoint: str = typer.Option("", "--endpoint", help="The endpoint rated."),
    feedback_uri: str = typer.Option("", "--feedback-uri", metavar="URI", help="An off-chain feedback file."),
    agent_id: int = IdOption(None, "--agent", help="The agent rated (default: the one paid at the record's operator)."),
    node_url: str = typer.Option(None, "--node", metavar="URL", help="Fetch the record's bundle from this node (`tantieme serve`)."),
    routed: bool = typer.Option(
        False, "--routed", help="Give the ratings `ask --route --rate` kept, for the answers settled since.",
    ),
    as_json: bool = JsonOption,
) -> None:
    """Rate the agent that answered a question you paid for, once its batch is settled.

    Your account (TANTIEME_PRIVATE_KEY, or this home's) proves its payment to the
    reputation registry with the record and its Merkle proof, then gives the
    feedback: one per paid answer, only by the account that paid it; an answer this
    home's agent treasury paid is rated as the treasury, by its agent key. An answer not
    settled yet, someone else's, or one rated already is refused, and nothing is sent.
    An answer `tantieme ask --route` paid is found at the node that gave it, and its
    agent is the one routed to; --routed gives every rating `ask --route --rate` kept
    whose answer is settled now, and lists the others as pending.

    Example: tantieme agent feedback 0x6d2f68eea5f17afa… --node http://127.0.0.1:8402 --value 90 --tag1 starred
    """
    from tantieme.cli.ai_cmd import remote_payer
    from tantieme.node import Node

    if routed:
        if target or value or node_url or agent_id:
            raise typer.BadParameter(
                "--routed gives the ratings kept by `ask --route --rate`: leave out RECORD, --value, --node and --agent",
                param_hint="'--routed'",
            )
        with Node.open(account=remote_payer()[0], on_wait=waiting) as client:
            data = _rate_routed(client)
        emit(data, as_json, _render_routed)
        return
    if target is None or value is None:
        missing = "RECORD_OR_BUNDLE" if target is None else "--value"
        raise typer.BadParameter(f"give {missing} (or --routed)", param_hint=f"'{missing}'")
    from tantieme.agents.reputation import give_feedback
    from tantieme.cli.ledger_cmd import _bundle_at
    from tantieme.ledger.bundle import fetch
    from tantieme.ledger.bundle import export
    from tantieme.ledger.journal import journal
    from tantieme.market.asking import routed_answers

    paid = next((r for r in routed_answers() if node_url is None and r.record.lower() == target.lower()), None)
    if paid is not None:
        node_url, agent_id = paid.node, agent_id or paid.agent_id
    bundle = fetch(node_url, target) if node_url else _bundle_at(Path(target))
    # The client signs: this home's chain, opened for writing with the payer's key only.
    with Node.open(account=remote_payer()[0], on_wait=waiting) as client:
        if bundle is None:
            bundle = export(client, journal(), target)
        done = give_feedback(
            client, bundle, value, agent_id=agent_id, tag1=tag1, tag2=tag2, endpoint=endpoint, feedback_uri=feedback_uri,
        )
    data = {**vars(done), "value": str(done.value)}

    def render(d: dict) -> None:
        console.print(
            f"rated agent #{d['agent_id']} {value} for record {d['record'][:18]}… (batch {d['batch_id']}), "
            f"feedback {d['index']} of {d['client']}"
        )

    emit(data, as_json, render)


def _rate_routed(client) -> dict:
    """Give the ratings `ask --route --rate` kept for answers this account paid, now settled:
    {rated, pending}."""
    from tantieme.agents import treasury
    from tantieme.agents.reputation import give_feedback
    from tantieme.chain.deploy import contract
    from tantieme.ledger.bundle import fetch
    from tantieme.errors import TantiemeError
    from tantieme.market.asking import routed_answers

    is_rated = contract(client.conn, "agent_reputation", client.deployment.reputation).functions.isRated
    payers = {client.address, treasury.load(client)}  # this account, and the treasury it is the agent key of
    rated, pending = [], []
    for paid in routed_answers():
        mine = paid.payer in payers and paid.chain_id == client.conn.chain_id
        if paid.rate is None or not mine or is_rated(bytes.fromhex(paid.record[2:])).call():
            continue
        try:
            done = give_feedback(client, fetch(paid.node, paid.record), paid.rate, agent_id=paid.agent_id)
        except TantiemeError as exc:  # not settled yet, the node is away...: tried again next time
            pending.append({"record": paid.record, "agent_id": paid.agent_id, "reason": str(exc)})
            continue
        rated.append({**vars(done), "value": str(done.value)})
    return {"rated": rated, "pending": pending}


def _render_routed(d: dict) -> None:
    for f in d["rated"]:
        console.print(f"rated agent #{f['agent_id']} {f['value']} for record {f['record'][:18]}… (batch {f['batch_id']})")
    for p in d["pending"]:
        console.print(f"pending: record {p['record'][:18]}… of agent #{p['agent_id']}: {p['reason']}", soft_wrap=True)
    if not d["rated"] and not d["pending"]:
        console.print("no rating left to give: `tantieme ask --route … --rate VALUE` keeps one")
