"""`tantieme register`, `assets`, `show`, `consent`, `license mint`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.table import Table

from tantieme.amounts import MAX_UINT256, format_amount, format_percent, parse_amount, parse_percent
from tantieme.assets.registry import KINDS
from tantieme.assets.terms import PRESETS, LicenseTerms, preset
from tantieme.cli import app, view
from tantieme.cli.common import AI_USES, IdArgument, IdOption, completes, open_node
from tantieme.cli.output import JsonOption, console, emit

if TYPE_CHECKING:
    from tantieme.assets.registry import Asset
    from tantieme.node import Node

license_app = typer.Typer(help="Licence tokens: the right to build commercial derivatives.", no_args_is_help=True)
app.add_typer(license_app, name="license")

_CONSENT = tuple(use.replace("-", "_") for use in AI_USES)


def _terms(
    name: str,
    royalty: str | None,
    fee: str | None,
    expires: int | None,
    ai: list[str] | None,
    no_ai: list[str] | None,
    terms_uri: str | None,
) -> LicenseTerms:
    terms = preset(name)
    changes: dict = {}
    if royalty is not None:
        changes["royalty_bps"] = parse_percent(royalty)
    if fee is not None:
        changes["minting_fee"] = parse_amount(fee, allow_zero=True)
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
        raise typer.BadParameter(f"unknown AI use {text!r}; choose from {', '.join(AI_USES)}")
    return flag


def asset_json(asset: Asset) -> dict:
    """An asset as the commands print it: royalty shares in percent, like `--royalty` takes them."""
    data = asset.to_json()
    terms = dict(data["terms"])
    terms["royalty_percent"] = float(format_percent(terms.pop("royalty_bps")))
    data["terms"] = terms
    return data


def _consent(terms: dict) -> list[str]:
    """The AI uses an asset's own terms allow."""
    return [flag.replace("_", "-") for flag in _CONSENT if terms[f"ai_{flag}"]]


def _effective(asset: dict) -> list[str]:
    """The AI uses allowed now: its own terms narrowed by every ancestor's."""
    return [flag.replace("_", "-") for flag in _CONSENT if asset["ai_consent"][flag]]


def _render_asset(a: dict) -> None:
    t = a["terms"]
    table = Table(show_header=False, box=None)
    table.add_row("asset", f"#{a['id']} {a['title'] or ''}")
    table.add_row("kind", a["kind"])
    table.add_row("owner", a["owner"])
    table.add_row("content", f"sha256 {a['content_hash']}")
    table.add_row("parents", ", ".join(f"#{p}" for p in a["parents"]) or "none")
    table.add_row("ancestors", str(a["ancestors"]))
    uses = [n for n, key in (("commercial", "commercial_use"), ("attribution", "attribution"), ("derivatives", "derivatives_allowed")) if t[key]]
    table.add_row("licence", ", ".join(uses) or "no rights granted")
    table.add_row("royalty", f"{t['royalty_percent']:g} % of derivatives' revenue")
    table.add_row("licence fee", f"{format_amount(int(t['minting_fee']))} TAI")
    consent = _effective(a)
    narrowed = [use for use in _consent(t) if use not in consent]
    table.add_row("AI consent", ", ".join(consent) or "[bold]none[/] (no AI use)")
    if narrowed:
        table.add_row("", f"(its own terms also allow {', '.join(narrowed)}; an ancestor refuses)")
    dispute = a.get("dispute")
    if dispute and dispute["disputed"]:
        table.add_row("[bold red]DISPUTED[/]", f"upheld: {dispute['reason']}; never read or cited by AI, "
                      f"its royalties go to {dispute['rightful_party']}")
    retrieval = a.get("retrieval")
    if retrieval:
        table.add_row("retrieval", "read and cited by AI" if retrieval["included"]
                      else f"[bold]left out[/]: {retrieval['reason']}")
    console.print(table)


@app.command()
def register(
    file: Path = typer.Argument(..., help="The file to register; it is hashed and stored."),
    kind: str = typer.Option("work", help=f"One of: {', '.join(KINDS)}.", autocompletion=completes(*KINDS)),
    terms: str = typer.Option(
        "private", help=f"Terms preset: {', '.join(PRESETS)} (private grants nothing).", autocompletion=completes(*PRESETS)
    ),
    title: str = typer.Option(None, help="Title (default: the document's own title, else the file name)."),
    parent: list[int] = IdOption(None, "--parent", help="A parent asset id (repeat, at most 16)."),
    royalty: str = typer.Option(None, help="Royalty share owed by derivatives, in percent (e.g. 7.5)."),
    fee: str = typer.Option(None, help="Licence minting fee in AI tokens (e.g. 2.5)."),
    expires: int = typer.Option(None, min=0, max=2**64 - 1, help="Terms expiration, unix seconds (0 = never)."),
    ai: list[str] = typer.Option(
        None, "--ai", help=f"Allow an AI use: {', '.join(AI_USES)}.", autocompletion=completes(*AI_USES)
    ),
    no_ai: list[str] = typer.Option(None, "--no-ai", help="Refuse an AI use (same names).", autocompletion=completes(*AI_USES)),
    terms_uri: str = typer.Option(None, help="Where the full licence text lives."),
    as_json: bool = JsonOption,
) -> None:
    """Register a file as an IP asset with licence terms and AI consent.

    AI use is refused unless the terms allow it (deny by default). A file that AI
    cannot read (binary data, a scan without text) can only be registered without
    AI consent.

    Example: tantieme register essay.md --terms non-commercial --ai retrieval
    """
    from tantieme.assets import registry
    from tantieme.interaction import check_readable

    chosen = _terms(terms, royalty, fee, expires, ai, no_ai, terms_uri)
    document = check_readable(file, kind, chosen)
    with open_node() as node:
        asset = registry.register(
            node, file, kind=kind, terms=chosen, parents=tuple(parent or ()),
            title=title or (document.title if document else None),
            media_type=document.media_type if document else None,
        )
        data = {**asset_json(asset), "reused": asset.reused}
    said = "already registered as your asset" if asset.reused else "registered"
    emit(data, as_json, lambda d: (console.print(f"{said} [bold]#{d['id']}[/]"), _render_asset(d)))


@view.query("assets")
def _assets(node: Node, mine: bool) -> list[dict]:
    from tantieme.assets import registry

    return [asset_json(a) for a in registry.all_assets(node) if not mine or a.owner.lower() == node.address.lower()]


@view.query("show")
def _show(node: Node, asset_id: int) -> dict:
    from tantieme.assets import registry
    from tantieme.disputes import retrieval_exclusion, retrieval_status, tag_of, tags_now

    asset = asset_json(registry.get(node, asset_id))
    tag = tag_of(node, asset_id)
    dispute = {"disputed": tag is not None, "reason": tag.reason if tag else None,
               "rightful_party": tag.rightful_party if tag else None}
    retrieval = retrieval_status(asset["kind"], retrieval_exclusion(node, tags_now(node))(asset_id))
    return {**asset, "dispute": dispute, "retrieval": retrieval}


@app.command("assets")
def list_assets(
    mine: bool = typer.Option(False, help="Only this node's assets."),
    as_json: bool = JsonOption,
) -> None:
    """List the registered assets.

    Example: tantieme assets --mine
    """
    found = view.read("assets", mine=mine)

    def render(_: object) -> None:
        table = Table("id", "title", "kind", "owner", "parents", "royalty", "AI consent")
        for a in found:
            table.add_row(
                str(a["id"]), a["title"] or "", a["kind"], a["owner"][:10] + "…",
                ", ".join(map(str, a["parents"])), f"{a['terms']['royalty_percent']:g} %",
                ", ".join(_effective(a)) or "none",
            )
        console.print(table)

    emit(found, as_json, render)


@app.command()
def show(asset_id: int = IdArgument(), as_json: bool = JsonOption) -> None:
    """Show one asset: owner, content hash, parents, licence terms and AI consent.

    Example: tantieme show 3
    """
    emit(view.read("show", asset_id=asset_id), as_json, _render_asset)


@app.command()
def consent(
    asset_id: int = IdArgument(help="Your asset."),
    revoke: list[str] = typer.Option(
        ..., "--revoke", help=f"AI use to refuse from now on: {', '.join(AI_USES)}.", autocompletion=completes(*AI_USES)
    ),
    as_json: bool = JsonOption,
) -> None:
    """Tighten an asset's AI consent; it applies to future use at once.

    Consent can only be narrowed: a refused use cannot be granted again.

    Example: tantieme consent 4 --revoke retrieval
    """
    from tantieme.assets import registry

    flags = [_consent_flag(flag) for flag in revoke]
    with open_node() as node:
        current = registry.get(node, asset_id).terms.ai_consent()
        current.update(dict.fromkeys(flags, False))
        data = asset_json(registry.tighten_consent(node, asset_id, **current))
    emit(data, as_json, _render_asset)


@license_app.command("mint")
def license_mint(
    asset_id: int = IdArgument(help="The asset to license."),
    amount: int = typer.Option(1, min=1, max=MAX_UINT256, help="Number of licence tokens."),
    to: str = typer.Option(None, help="Receiver (default: this node's account)."),
    as_json: bool = JsonOption,
) -> None:
    """Buy licence tokens of an asset; the fee is paid into its royalties.

    Example: tantieme license mint 2 --amount 1
    """
    from tantieme.assets.royalties import mint_license
    from tantieme.node import parse_address

    with open_node() as node:
        result = mint_license(node, asset_id, amount, parse_address(to) if to else None)
    emit(result, as_json, lambda r: console.print(
        f"{r['amount']} licence(s) of #{r['asset']} → {r['receiver']} for {format_amount(r['fee'])} TAI (holds {r['held']})"
    ))
