"""Any EVM JSON-RPC node (anvil locally, an L2 in production) over HTTP."""

from __future__ import annotations

from requests.exceptions import RequestException
from web3 import HTTPProvider, Web3
from web3.exceptions import Web3Exception

from tantieme.errors import ChainError

__all__ = ["open_rpc"]


def open_rpc(url: str, *, timeout: float = 10.0) -> Web3:
    """A `Web3` on the node at `url`, checked by asking its chain id.

    Raises `ChainError` if the node cannot be reached or does not answer JSON-RPC.
    """
    if not url.startswith(("http://", "https://")):
        raise ChainError(f"unsupported JSON-RPC URL {url!r}: use http:// or https://")
    w3 = Web3(HTTPProvider(url, request_kwargs={"timeout": timeout}))
    try:
        w3.eth.chain_id
    except (RequestException, OSError) as e:
        raise ChainError(
            f"cannot reach JSON-RPC at {url}: {_why(e)}; is the node running?"
        ) from None
    except (Web3Exception, ValueError) as e:
        raise ChainError(f"{url} does not answer Ethereum JSON-RPC: {e}") from None
    return w3


def _why(error: Exception) -> str:
    """A short cause for a failed HTTP request (requests' own messages run to lines)."""
    text = str(error).lower()
    for needle, why in (
        ("refused", "connection refused"),
        ("timed out", "timed out"),
        ("name or service not known", "unknown host"),
        ("nodename nor servname", "unknown host"),
        ("temporary failure in name resolution", "unknown host"),
    ):
        if needle in text:
            return why
    return type(error).__name__
