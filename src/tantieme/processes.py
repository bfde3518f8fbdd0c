"""Child processes that must end cleanly: a server asked to stop finishes what it is doing."""

from __future__ import annotations

import signal
import subprocess


def stop(process: subprocess.Popen, grace: float = 120) -> None:
    """SIGTERM `process` if it still runs and wait up to `grace` seconds for it to end; kill it after."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
