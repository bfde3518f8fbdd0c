"""A real `tantieme serve` process on a loopback port, for end-to-end tests and the benchmarks
(`bench/serve.py` imports this module as `api.served`, the name pytest gives it)."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from tantieme.chain.anvil import free_port
from tantieme.processes import stop

BIN = Path(sys.executable).parent


def env(home: Path, **extra: str) -> dict[str, str]:
    return {**os.environ, "TANTIEME_HOME": str(home), "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
            "COLUMNS": "200", **extra}


def healthy(url: str) -> dict | None:
    try:
        with urllib.request.urlopen(f"{url}/healthz", timeout=2) as response:
            return json.loads(response.read())
    except OSError:
        return None


@contextlib.contextmanager
def serving(home: Path, *args: str, command: str | None = None, port: int | None = None,
            log: Path | None = None) -> Iterator[tuple[str, subprocess.Popen]]:
    """`tantieme serve --port PORT ARGS` (or a shell `command`) on loopback, until its /healthz
    answers; stopped after. Its output is piped for the caller to read once it has stopped, or
    with `log` appended to that file (for long runs: a full pipe nobody reads stops the server)."""
    port = port or free_port()
    argv = ["bash", "-c", command] if command else [
        str(BIN / "tantieme"), "serve", "--host", "127.0.0.1", "--port", str(port), *args]
    with contextlib.ExitStack() as files:
        out, err = (subprocess.DEVNULL, files.enter_context(log.open("a"))) if log else (subprocess.PIPE, subprocess.PIPE)
        process = subprocess.Popen(argv, env=env(home), stdout=out, stderr=err, text=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 300
    while healthy(url) is None:
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            out, err = process.communicate()
            raise RuntimeError(f"tantieme serve did not start ({process.returncode}):\n{out}\n"
                               f"{log.read_text()[-2000:] if log else err}")
        time.sleep(0.2)
    try:
        yield url, process
    finally:
        stop(process)
        for stream in (process.stdout, process.stderr):
            if stream:
                stream.close()


def tantieme(home: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "tantieme"), *args], env=env(home), capture_output=True, text=True, timeout=timeout)
