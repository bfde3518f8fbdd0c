"""`tantieme model register`, `tantieme ask`."""

from __future__ import annotations

import contextlib

import typer
from rich.table import Table

from tantieme import interaction
from tantieme.assets.royalties import format_amount, parse_amount
from tantieme.cli import app
from tantieme.cli.node_cmd import open_node
from tantieme.cli.output import JsonOption, console, emit, err_console, user_errors
from tantieme.ledger import settlement

model_app = typer.Typer(help="Models this node serves.", no_args_is_help=True)
app.add_typer(model_app, name="model")


@model_app.command("register")
def model_register(
    dataset: list[int] = typer.Option(None, "--dataset", help="A training dataset's asset id (repeat)."),
    backend: str = typer.Option("local", help="local (the embedded GGUF model) or openai (an OpenAI-compatible server)."),
    base_url: str = typer.Option(None, help="For --backend openai: the server's /v1 URL."),
    name: str = typer.Option(None, help="For --backend openai: the model name on the server."),
    price_prompt: str = typer.Option("100", help="AI tokens per million prompt tokens."),
    price_completion: str = typer.Option("400", help="AI tokens per million completion tokens."),
    as_json: bool = JsonOption,
) -> None:
    """Register a model as an IP asset (its weights' hash, its training data as parents) and serve it.

    Example: tantieme model register --dataset 6 --price-prompt 100 --price-completion 400
    """
    options = {k: v for k, v in {"base_url": base_url, "model": name}.items() if v}
    with user_errors(as_json), open_node() as node:
        entry = interaction.register_model(
            node, backend=backend, options=options, datasets=tuple(dataset or ()),
            price_prompt_per_million=parse_amount(price_prompt),
            price_completion_per_million=parse_amount(price_completion),
        )
    emit(entry, as_json, lambda e: console.print(
        f"model [bold]#{e.asset_id}[/] {e.name}: {format_amount(e.price_prompt_per_million)} / "
        f"{format_amount(e.price_completion_per_million)} TAI per million prompt / completion tokens"
    ))


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
    k: int = typer.Option(4, help="Sources to read."),
    max_tokens: int = typer.Option(96, help="Longest answer, in tokens."),
    attribution: str = typer.Option("ablation", help="ablation (measured) or retrieval (fast, by retrieval score)."),
    model: int = typer.Option(None, help="Model asset id (default: the node's default model)."),
    as_json: bool = JsonOption,
) -> None:
    """Answer a question from consenting works; pay, record and credential the answer.

    Example: tantieme ask "How many hives can a flat roof hold?"
    """
    with user_errors(as_json), open_node() as node:
        with console.status("starting", spinner="dots") if not as_json else contextlib.nullcontext() as status:
            result = interaction.ask(
                node, question, model_id=model, k=k, max_tokens=max_tokens, attribution=attribution,
                status=(lambda msg: status.update(msg)) if status else (lambda _m: None),
            )
            settings = node.settings
            if node.address in settlement.due(node, settings.batch_size, settings.batch_max_age_s):
                settlement.settle(node, {node.address: node.account})
    emit(answer_json(result) if as_json else result, as_json, render_answer)
