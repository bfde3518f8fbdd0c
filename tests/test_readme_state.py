"""The README's "Verifying anywhere, keeping state safe" commands, run exactly as written."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tantieme.ledger import settlement
from tantieme.node import Node

README = Path(__file__).resolve().parent.parent / "README.md"
SECTION = "## Verifying anywhere, keeping state safe"


def commands() -> list[str]:
    text = README.read_text()
    section = text[text.index(SECTION):]
    block = re.search(r"```sh\n(.*?)```", section, re.S).group(1)
    return [re.sub(r"\s+#.*$", "", line) for line in block.splitlines() if line.strip()]


@pytest.mark.timeout(600)
def test_readme__verify_anywhere_keep_state_safe(tmp_path, monkeypatch, make_answer, payer, init_embedded):
    home = tmp_path / "user"
    monkeypatch.setenv("TANTIEME_HOME", str(home / ".tantieme"))
    init_embedded()
    with Node.open() as node:
        make_answer(node)
        settlement.settle(node, {payer.address: payer})
    env = {k: v for k, v in os.environ.items() if k != "TANTIEME_HOME"}
    env.update(HOME=str(home), PATH=f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}")
    lines = commands()
    assert len(lines) == 6
    for line in lines:
        result = subprocess.run(["bash", "-c", line], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, (line, result.stdout, result.stderr)
    assert (tmp_path / "answer.json").is_file() and (tmp_path / "node.tar.gz").is_file()
    assert (home / "restored" / "ledger.db").is_file()
