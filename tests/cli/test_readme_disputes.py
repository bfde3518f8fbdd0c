"""README's "Challenging a registration: disputes": every line exactly as written (split as
the shell splits it, run in this process from the repository's root), on a fresh home on the
embedded chain; the dispute it raises is upheld and the work tagged; the arbiter it proposes
is appointed once the proposal passes."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from tantieme.node import Node

from .conftest import run

ROOT = Path(__file__).resolve().parents[2]
SECTION = "## Challenging a registration: disputes"


def commands() -> list[list[str]]:
    text = (ROOT / "README.md").read_text()
    section = text[text.index(SECTION):].split("\n## ", 1)[0]
    block = re.search(r"```sh\n(.*?)```", section, re.S).group(1)
    return [shlex.split(line, comments=True) for line in block.splitlines() if line.strip()]


def test_readme_disputes__every_line_works_as_written(monkeypatch):
    monkeypatch.chdir(ROOT)
    lines = commands()
    assert len(lines) == 10 and all(words[0] == "tantieme" for words in lines)
    out = {" ".join(words): " ".join(run(*words[1:]).output.split()) for words in lines}
    assert "dispute #1 raised on asset #1 (copied-content); bond 1 TAI" in out[" ".join(lines[2])]
    assert "https://example.org/original.html" in out["tantieme dispute list --open"]
    assert "dispute #1 upheld: asset #1 is tagged copied-content" in out[" ".join(lines[4])]
    assert "DISPUTED" in out["tantieme show 1"] and "0x70997970C51812dc3A010C7d01b50e0d17dc79C8" in out["tantieme show 1"]
    with Node.open(readonly=True) as node:
        from tantieme.disputes import tag_of

        assert tag_of(node, 1).rightful_party == "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
    assert "proposal #1 made, counted by token votes" in out[" ".join(lines[9])]
    for step in (["vote", "1", "for", "--wait"], ["queue", "1", "--wait"], ["execute", "1", "--wait"]):
        run("dao", *step)
    with Node.open(readonly=True) as node:
        from tantieme.disputes import module

        assert module(node).functions.arbiter().call() == "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"
