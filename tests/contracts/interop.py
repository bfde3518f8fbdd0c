"""What the tests that drive our contracts with Foundry's `cast` (the `cast` fixture, on anvil)
read from its answers: a refusal's revert reason, and an event's logs as cast finds and decodes them."""

from __future__ import annotations

import re
from collections.abc import Callable


def reverted(refusal: str) -> str:
    """The revert reason in a refused `cast send`'s or `cast call`'s error ("" for a revert without one)."""
    found = re.search(r"execution reverted(?:: (.+?))?, data:", refusal)
    assert found, f"not a revert: {refusal}"
    return found[1] or ""


def cast_events(cast: Callable[..., object], address: str, signature: str, data_types: str, rpc: tuple[str, ...]
                ) -> list[tuple[list, list]]:
    """Each log of the event `signature` (`Name(type indexed,…,type)`) at `address`, as cast finds it
    (topic 0 from the signature) and decodes it: the indexed arguments (value types), then the data's
    (`data_types`, such as `(bytes32,uint256)`)."""
    indexed_types = re.findall(r"(\w+) indexed", signature)

    def decoded(log: dict) -> tuple[list, list]:
        topics = zip(indexed_types, log["topics"][1:], strict=True)
        return ([cast("decode-abi", f"f()({kind})", topic)[0] for kind, topic in topics],
                cast("decode-abi", f"f(){data_types}", log["data"]))

    return [decoded(log) for log in cast("logs", signature, "--address", address, "--from-block", "0", *rpc)]
