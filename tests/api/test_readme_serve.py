"""README's "Serving it over HTTP": the server line, the curl line and the Python example,
run exactly as written (port 8402 included) on the real model and the embedded chain."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tantieme.assets import registry
from tantieme.assets.terms import preset
from tantieme.chain.accounts import dev_account
from tantieme.node import Node
from tantieme.quickstart import SAMPLES_DIR

from .served import env, healthy, serving

pytestmark = pytest.mark.slow

README = Path(__file__).resolve().parents[2] / "README.md"


def examples() -> tuple[str, str, str, str]:
    section = README.read_text().split("## Serving it over HTTP", 1)[1].split("\n## ", 1)[0]
    server, curl, deposit = re.findall(r"```sh\n(.*?)```", section, re.S)
    (python,) = re.findall(r"```python\n(.*?)```", section, re.S)
    return server.strip(), curl.strip(), python, deposit


def test_readme_serving__curl_openai_and_deposit_examples_as_written(init_embedded, tantieme_home, tmp_path):
    server, curl, python, deposit = examples()
    assert server.startswith("tantieme serve ") and "8402" in curl and "8402" in python
    init_embedded()
    with Node.open() as node:
        bees = registry.register(node, SAMPLES_DIR / "ada-rooftop-bees.md", terms=preset("open")).id
    deadline = time.monotonic() + 120  # another test of this port may still be stopping
    while healthy("http://127.0.0.1:8402") is not None and time.monotonic() < deadline:
        time.sleep(1)
    with serving(tantieme_home, command=server, port=8402):
        done = subprocess.run(["bash", "-c", curl], env=env(tantieme_home), capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        body = json.loads(done.stdout)
        assert body["choices"][0]["message"]["content"]
        assert body["tantieme"]["sources"][0]["asset"] == bees
        ran = subprocess.run([sys.executable, "-c", python], env=env(tantieme_home), capture_output=True, text=True, timeout=300)
        assert ran.returncode == 0, ran.stderr
        text, extra = ran.stdout.strip().split("\n", 1)
        assert text == body["choices"][0]["message"]["content"]  # greedy: the same answer
        assert f"'asset': {bees}" in extra and body["tantieme"]["fee"] in extra

        paid = subprocess.run(["bash", "-c", deposit], env=env(tantieme_home), capture_output=True, text=True, timeout=300)
        assert paid.returncode == 0, paid.stdout + paid.stderr
        assert "deposited 1 TAI" in paid.stdout and "from your deposit, signed" in paid.stdout
    with Node.open(readonly=True) as node:
        payer = dev_account(7).address
        assert node.ledger.functions.deposits(payer, node.address).call() == 10**18  # signed, settled later
        assert node.balance(payer) == 4 * 10**18
