"""README's "Who gains when answers replace work": the command run exactly as written, in a
fresh home (the defaults), and its output is the README's transcript, figure for figure."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"
pytestmark = pytest.mark.slow


def section() -> tuple[list[str], str]:
    text = README.read_text().split("## Who gains when answers replace work", 1)[1].split("\n## ", 1)[0]
    (commands,) = re.findall(r"```sh\n(.*?)```", text, re.S)
    (transcript,) = re.findall(r"```text\n(.*?)```", text, re.S)
    return [line for line in commands.splitlines() if line.startswith("tantieme ")], transcript


def test_readme_simulate__runs_as_written_and_prints_the_transcript(tmp_path):
    (line,), transcript = section()
    env = {
        **os.environ,
        "TANTIEME_HOME": str(tmp_path / "home"),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "COLUMNS": "120",
    }
    done = subprocess.run(["bash", "-c", line], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    printed = [row.rstrip() for row in done.stdout.splitlines()]
    assert printed == transcript.splitlines()
    assert sorted(p.name for p in (tmp_path / "sim").iterdir()) == ["power.png", "simulation.json"]
