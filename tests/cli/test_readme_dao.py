"""README's "Governing it: the DAO": every line exactly as written (split as the shell splits
it, run in this process), on a fresh home on the embedded chain; the proposal it makes sets
the ledger's split."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from tantieme.node import Node

from .conftest import run

README = Path(__file__).resolve().parents[2] / "README.md"
SECTION = "## Governing it: the DAO"


def commands() -> list[list[str]]:
    text = README.read_text()
    section = text[text.index(SECTION):].split("\n## ", 1)[0]
    block = re.search(r"```sh\n(.*?)```", section, re.S).group(1)
    return [shlex.split(line, comments=True) for line in block.splitlines() if line.strip()]


def test_readme_dao__every_line_works_as_written():
    lines = commands()
    assert len(lines) == 12 and all(words[0] == "tantieme" for words in lines)
    out = {" ".join(words): " ".join(run(*words[1:]).output.split()) for words in lines}
    assert "proposal #1 executed: Raise the machine tax to 8 %" in out["tantieme dao status 1"]
    assert "every proposal is counted by staked tokens" in out["tantieme dao counting"]
    made = next(text for command, text in out.items() if command.startswith("tantieme dao counting set"))
    assert made.startswith("proposal #2 made, counted by token votes")
    with Node.open(readonly=True) as node:
        assert node.ledger.functions.commons_bps().call() == 800
        assert node.ledger.functions.owner().call() == node.deployment.timelock
    # The faucet closed with the handover: `init` again is still harmless (it funds nothing).
    assert "faucet" not in run("init").output
    assert "the faucet is closed" in run("faucet", "1", ok=False).output
