"""The README's "Using it" walkthrough, run line by line exactly as written, as a user runs it:
each line through the shell, in a folder holding the files it names, on a fresh home, on the
real model and the embedded chain. Then the same lines with `--json`, each document checked
against the JSON rules (amounts as strings, no number beyond 2^53, 0x transaction hashes)."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tantieme.cli import app

pytestmark = pytest.mark.slow

README = Path(__file__).resolve().parents[2] / "README.md"
ESSAY = """# Bees Above the Tram Depot

The depot's flat roof is forty square metres. A flat roof of forty square metres can hold
four hives, spaced two metres apart, with a windbreak on the north side. Each hive yields
about twelve kilograms of honey a year.
"""
REMIX = """# Honey on the Depot Roof, Revisited

Four hives on a forty square metre roof, as the essay counts them, and what the honey is good for.
"""
ANSWERS = '{"question": "How far apart should hives stand?", "answer": "About two metres."}\n'
# Commands the walkthrough does not show, checked with --json too (asset 4 is the model).
MORE = ["tantieme faucet 5", "tantieme chain status", "tantieme model default 4",
        "tantieme model price 4 --prompt 50 --completion 200", "tantieme consent 2 --revoke retrieval"]


def walkthrough() -> list[str]:
    """The command lines of the README's "Using it" section, comments included."""
    section = README.read_text().split("## Using it", 1)[1].split("\n## ", 1)[0]
    (block,) = re.findall(r"```sh\n(.*?)```", section, re.S)
    return [line for line in block.splitlines() if line.startswith("tantieme ")]


def shell(line: str, folder: Path, home: Path) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "TANTIEME_HOME": str(home),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "COLUMNS": "120",
    }
    return subprocess.run(["bash", "-c", line], cwd=folder, env=env, capture_output=True, text=True, timeout=600)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    folder = tmp_path / "work"
    folder.mkdir()
    (folder / "essay.md").write_text(ESSAY)
    (folder / "remix.md").write_text(REMIX)
    (folder / "answers.jsonl").write_text(ANSWERS)
    return folder


def test_readme_walkthrough__every_line_works_as_written(folder, tmp_path, json_rules, monkeypatch):
    lines = walkthrough()
    assert len(lines) >= 15 and lines[0].startswith("tantieme init ")

    home = tmp_path / "home"
    outputs = {}
    for line in lines:
        done = shell(line, folder, home)
        assert done.returncode == 0, f"{line}\n{done.stdout}\n{done.stderr}"
        assert "Traceback" not in done.stderr and "error:" not in done.stderr, f"{line}\n{done.stderr}"
        outputs[line] = done.stdout

    def output(command: str) -> str:
        return next(out for line, out in outputs.items() if line.startswith(command + " "))

    assert "Bees Above the Tram Depot" in output("tantieme assets")
    assert "verified" in output("tantieme verify 1")
    assert "10 % of derivatives' revenue" in output("tantieme show 1")
    assert "where the fees went (7d)" in output("tantieme report")

    # The same lines with --json (in this process: faster), on another fresh home.
    monkeypatch.setenv("TANTIEME_HOME", str(tmp_path / "home-json"))
    monkeypatch.chdir(folder)
    for line in [*lines, *MORE]:
        args = shlex.split(line, comments=True)[1:] + ["--json"]
        done = CliRunner().invoke(app, args, catch_exceptions=False)
        assert done.exit_code == 0, f"{args}\n{done.output}"
        json_rules(json.loads(done.stdout))
