"""The chain: one `web3.Web3` for the embedded EVM or any JSON-RPC node.

    from tantieme.chain import connect

    with connect() as conn:                       # embedded, TANTIEME_HOME/chain
        receipt = conn.transact(contract.functions.register(...))

    with connect("rpc", rpc_url="http://127.0.0.1:8545") as conn:
        ...

Deployment and typed contract bindings live beside these modules.
"""

from tantieme.chain.accounts import (
    DEV_MNEMONIC,
    DEV_PRIVATE_KEYS,
    create_keystore,
    dev_account,
    keystore_path,
    load_account,
    load_keystore,
)
from tantieme.chain.backend import BACKENDS, Backend, Connection, connect
from tantieme.chain.embedded import CHAIN_ID as EMBEDDED_CHAIN_ID
from tantieme.chain.embedded import EmbeddedChain, open_embedded
from tantieme.chain.rpc import open_rpc
from tantieme.chain.transact import revert_reason, transact

__all__ = [
    "BACKENDS",
    "DEV_MNEMONIC",
    "DEV_PRIVATE_KEYS",
    "EMBEDDED_CHAIN_ID",
    "Backend",
    "Connection",
    "EmbeddedChain",
    "connect",
    "create_keystore",
    "dev_account",
    "keystore_path",
    "load_account",
    "load_keystore",
    "open_embedded",
    "open_rpc",
    "revert_reason",
    "transact",
]
