"""`tantieme register`, `assets`, `show`, `consent`, `license mint`."""

from __future__ import annotations

import mimetypes
from pathlib import Path

import typer
from rich.table import Table

from tantieme.assets import registry
from tantieme.assets.royalties import format_amount, mint_license, parse_amount
from tantieme.assets.terms import PRESETS, LicenseTerms, preset
from tantieme.cli import app
from tantieme.cli.node_cmd import open_node
from tantieme.cli.output import JsonOption, console, emit, user_errors
from tantieme.interaction import check_readable
from tantieme.node import parse_address

license_app = typer.Typer(help="Licence tokens: the right to build commercial derivatives.", no_args_is_help=True)
app.add_typer(license_app, name="license")

_CONSENT = ("training", "fine_tuning", "retrieval", "output_commercial")


def _terms(
    name: str,
    royalty: float | None,
    fee: str | None,
    expires: int | None,
    ai: list[str] | None,
    no_ai: list[str] | None,
    terms_uri: str | None,
) -> LicenseTerms:
    terms = preset(name)
    changes: dict = {}
    if royalty is not None:
        changes["royalty_bps"] = round(royalty * 100)
    if fee is not None:
        changes["minting_fee"] = 0 if fee in ("0", "0.0") else parse_amount(fee)
    if expires is not None:
        changes["expiration"] = expires
    if terms_uri is not None:
        changes["uri"] = terms_uri
    for flag in ai or []:
        changes[f"ai_{_consent_flag(flag)}"] = True
    for flag in no_ai or []:
        changes[f"ai_{_consent_flag(flag)}"] = False
    return terms.with_(**changes) if changes else terms


def _consent_flag(text: str) -> str:
    flag = text.replace("-", "_")
    if flag not in _CONSENT:
        raise typer.BadParameter(f"unknown AI use {text!r}; choose from {', '.join(_CONSENT)}")
    return flag


def _render_asset(a: registry.Asset) -> None:
    t = a.terms
    table = Table(show_header=False, box=None)
    table.add_row("asset", f"#{a.id} {a.title or ''}")
    table.add_row("kind", a.kind)
    table.add_row("owner", a.owner)
    table.add_row("content", f"sha256 {a.content_hash}")
    table.add_row("parents", ", ".join(f"#{p}" for p in a.parents) or "none")
    table.add_row("ancestors", str(a.ancestors))
    uses = [n for n, ok in (("commercial", t.commercial_use), ("attribution", t.attribution), ("derivatives", t.derivatives_allowed)) if ok]
    table.add_row("licence", ", ".join(uses) or "no rights granted")
    table.add_row("royalty", f"{t.royalty_bps / 100:g} % of derivatives' revenue")
    table.add_row("licence fee", f"{format_amount(t.minting_fee)} TAI")
    consent = [k.replace("_", "-") for k, ok in t.ai_consent().items() if ok]
    table.add_row("AI consent", ", ".join(consent) or "[bold]none[/] (no AI use)")
    console.print(table)


@app.command()
def register(
    file: Path = typer.Argument(..., help="The file to register; it is hashed and stored."),
    kind: str = typer.Option("work", help=f"One of: {', '.join(registry.KINDS)}."),
    terms: str = typer.Option("private", help=f"Terms preset: {', '.join(PRESETS)} (private grants nothing)."),
    title: str = typer.Option(None, help="Title (default: the file name)."),
    parent: list[int] = typer.Option(None, "--parent", help="A parent asset id (repeat, at most 16)."),
    royalty: float = typer.Option(None, help="Royalty share owed by derivatives, in percent."),
    fee: str = typer.Option(None, help="Licence minting fee in AI tokens."),
    expires: int = typer.Option(None, help="Terms expiration, unix seconds (0 = never)."),
    ai: list[str] = typer.Option(None, "--ai", help="Allow an AI use: training, fine-tuning, retrieval, output-commercial."),
    no_ai: list[str] = typer.Option(None, "--no-ai", help="Refuse an AI use (same names)."),
    terms_uri: str = typer.Option(None, help="Where the full licence text lives."),
    as_json: bool = JsonOption,
) -> None:
    """Register a file as an IP asset with licence terms and AI consent.

    AI use is refused unless the terms allow it (deny by default).

    Example: tantieme register essay.md --terms non-commercial --ai retrieval
    """
    with user_errors(as_json), open_node() as node:
        chosen = _terms(terms, royalty, fee, expires, ai, no_ai, terms_uri)
        if chosen.ai_retrieval and kind in ("work", "dataset"):
            check_readable(file, mimetypes.guess_type(file.name)[0])
        asset = registry.register(node, file, kind=kind, terms=chosen, parents=tuple(parent or ()), title=title)
    emit(asset.to_json(), as_json, lambda _: (console.print(f"registered [bold]#{asset.id}[/]"), _render_asset(asset)))


@app.command("assets")
def list_assets(
    mine: bool = typer.Option(False, help="Only this node's assets."),
    as_json: bool = JsonOption,
) -> None:
    """List the registered assets.

    Example: tantieme assets --mine
    """
    with user_errors(as_json), open_node(readonly=True) as node:
        found = registry.all_assets(node)
        if mine:
            found = [a for a in found if a.owner.lower() == node.address.lower()]

    def render(_: object) -> None:
        table = Table("id", "title", "kind", "owner", "parents", "royalty", "AI consent")
        for a in found:
            consent = ", ".join(k.replace("_", "-") for k, ok in a.terms.ai_consent().items() if ok)
            table.add_row(
                str(a.id), a.title or "", a.kind, a.owner[:10] + "…",
                ", ".join(map(str, a.parents)), f"{a.terms.royalty_bps / 100:g} %", consent or "none",
            )
        console.print(table)

    emit([a.to_json() for a in found], as_json, render)


@app.command()
def show(asset_id: int = typer.Argument(..., help="Asset id."), as_json: bool = JsonOption) -> None:
    """Show one asset: owner, content hash, parents, licence terms and AI consent.

    Example: tantieme show 3
    """
    with user_errors(as_json), open_node(readonly=True) as node:
        asset = registry.get(node, asset_id)
    emit(asset.to_json(), as_json, lambda _: _render_asset(asset))


@app.command()
def consent(
    asset_id: int = typer.Argument(..., help="Your asset."),
    revoke: list[str] = typer.Option(..., "--revoke", help="AI use to refuse from now on: training, fine-tuning, retrieval, output-commercial."),
    as_json: bool = JsonOption,
) -> None:
    """Tighten an asset's AI consent; it applies to future use at once.

    Consent can only be narrowed: a refused use cannot be granted again.

    Example: tantieme consent 4 --revoke retrieval
    """
    with user_errors(as_json), open_node() as node:
        current = registry.get(node, asset_id).terms.ai_consent()
        for flag in revoke:
            current[_consent_flag(flag)] = False
        asset = registry.tighten_consent(node, asset_id, **current)
    emit(asset.to_json(), as_json, lambda _: _render_asset(asset))


@license_app.command("mint")
def license_mint(
    asset_id: int = typer.Argument(..., help="The asset to license."),
    amount: int = typer.Option(1, help="Number of licence tokens."),
    to: str = typer.Option(None, help="Receiver (default: this node's account)."),
    as_json: bool = JsonOption,
) -> None:
    """Buy licence tokens of an asset; the fee is paid into its royalties.

    Example: tantieme license mint 2 --amount 1
    """
    with user_errors(as_json), open_node() as node:
        result = mint_license(node, asset_id, amount, parse_address(to) if to else None)
    emit(result, as_json, lambda r: console.print(
        f"{r['amount']} licence(s) of #{r['asset']} → {r['receiver']} for {format_amount(r['fee'])} TAI (holds {r['held']})"
    ))
