"""`tantieme doctor`, `backup`, `restore`."""

from __future__ import annotations

from pathlib import Path

import typer

from tantieme.cli import app
from tantieme.cli.output import JsonOption, console, emit, err_console, waiting


@app.command()
def doctor(
    repair: bool = typer.Option(False, "--repair", help="Rebuild what can be rebuilt (index, deployment record, models.json, CA signer)."),
    as_json: bool = JsonOption,
) -> None:
    """Check this home: chain, deployment, journal, store, index, CA and models; say how to fix each.

    With --repair, rebuilds from the chain and the store what can be rebuilt;
    what cannot (the chain, the journal, stored works, keys) comes back from a
    backup. Runs beside a working node. Exits 1 if anything is still wrong.

    Example: tantieme doctor --repair
    """
    from tantieme.maintenance import doctor as doc

    diagnosis = doc.run(repair=repair, say=(lambda _m: None) if as_json else waiting)

    def render(_: object) -> None:
        for f in diagnosis.findings:
            mark = "[green]✓[/]" if f.ok else "[red]✗[/]"
            console.print(f"{mark} {f.name}: {f.detail}" + (" [green](repaired)[/]" if f.repaired else ""))
            if f.fix:
                console.print(f"    [dim]fix:[/] {f.fix}")
        console.print("[green]healthy[/]" if diagnosis.ok else "[red]needs attention[/]")

    emit({"ok": diagnosis.ok, "findings": diagnosis.findings}, as_json, render)
    if not diagnosis.ok:
        raise typer.Exit(1)


@app.command()
def backup(
    file: Path = typer.Argument(..., help="The backup file to write (a new .tar.gz)."),
    as_json: bool = JsonOption,
) -> None:
    """Write this home to one file: chain, journal, store, keys, CA, index, settings.

    A consistent snapshot even while the node runs (a running `ask` or `settle`
    is waited for). The file holds private keys: keep it as safe as the home.

    Example: tantieme backup ~/tantieme-backup.tar.gz
    """
    from tantieme.maintenance import backup as backups

    made = backups.backup(file, on_wait=waiting)
    emit(made, as_json, lambda b: console.print(
        f"backed up {b.holdings.describe()} ({b.files} files, {b.bytes / 1e6:.1f} MB) → {b.path}"
    ))


@app.command()
def restore(
    file: Path = typer.Argument(None, help="A backup written by `tantieme backup`."),
    force: bool = typer.Option(False, "--force", help="Replace a home that holds a node (it is backed up first)."),
    resume: bool = typer.Option(False, "--resume", help="Finish a restore that was interrupted."),
    as_json: bool = JsonOption,
) -> None:
    """Put a backup into this home (TANTIEME_HOME); every file is checked first.

    Refuses to overwrite a home that holds a node unless --force, which backs
    that home up first (under TANTIEME_HOME/backups).

    Example: TANTIEME_HOME=~/restored tantieme restore ~/tantieme-backup.tar.gz
    """
    from tantieme.maintenance import backup as backups

    if resume:
        done = backups.resume(waiting)
    elif file is None:
        raise typer.BadParameter("give the backup file to restore (or --resume to finish an interrupted restore)", param_hint="'FILE'")
    else:
        done = backups.restore(file, force=force, on_wait=waiting)

    def render(r: object) -> None:
        if r.previous:
            err_console.print(f"what the home held before is in {r.previous}")
        console.print(f"restored {r.holdings.describe()} ({r.files} files) from {r.source}")

    emit(done, as_json, render)
