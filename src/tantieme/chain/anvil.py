"""A local anvil (Foundry's dev node) on a free loopback port: the chain several processes share
on one machine (the embedded chain is one process's).

    with running() as url:   # http://127.0.0.1:PORT, Prague, the dev accounts funded
        ...
"""

from __future__ import annotations

import contextlib
import json
import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from tantieme.errors import ConfigError

__all__ = ["BUNDLED", "binary", "free_port", "running"]

# Where `npm install` in tantieme's folder puts it.
BUNDLED = Path(__file__).resolve().parents[3] / "node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil"


def binary() -> str | None:
    """The anvil to run: the one `npm install` put in tantieme's folder, else anvil on PATH."""
    return str(BUNDLED) if BUNDLED.exists() else shutil.which("anvil")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def running(*extra: str) -> Iterator[str]:
    """A fresh anvil (Prague, as the embedded chain; `extra` arguments added), its URL; killed after."""
    program = binary()
    if program is None:
        raise ConfigError("anvil is not installed: `npm install` in tantieme's folder installs it (or put it on PATH)")
    for _ in range(3):  # the free port may be taken before anvil binds it
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        process = subprocess.Popen(
            [program, "--host", "127.0.0.1", "--port", str(port), "--silent", "--hardfork", "prague", *extra]
        )
        deadline = time.monotonic() + 10
        while process.poll() is None and time.monotonic() < deadline and not _answers(url):
            time.sleep(0.02)
        if process.poll() is None and _answers(url):
            break
        process.kill()
        process.wait()
    else:
        raise ConfigError("anvil did not start")
    try:
        yield url
    finally:
        process.kill()
        process.wait()


def _answers(url: str) -> bool:
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []})
    request = urllib.request.Request(url, data=body.encode(), headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=1) as response:
            return response.status == 200
    except OSError:
        return False
