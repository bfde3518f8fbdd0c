"""Signing keys: the dev keys of the local chains, and passphrase-encrypted keystores.

A key comes, in this order, from `TANTIEME_PRIVATE_KEY`, or from a keystore file
(Web3 Secret Storage JSON, as geth and MetaMask write it) under
`TANTIEME_HOME/keys/` whose passphrase comes from `TANTIEME_PASSPHRASE` or from a
callback (the CLI prompts; the library never reads stdin).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

from eth_account import Account
from eth_account.signers.local import LocalAccount

from tantieme.config import home
from tantieme.errors import ConfigError

__all__ = [
    "DEV_MNEMONIC",
    "DEV_PRIVATE_KEYS",
    "ENV_PASSPHRASE",
    "ENV_PRIVATE_KEY",
    "create_keystore",
    "dev_account",
    "keystore_path",
    "load_account",
    "load_keystore",
]

ENV_PRIVATE_KEY = "TANTIEME_PRIVATE_KEY"
ENV_PASSPHRASE = "TANTIEME_PASSPHRASE"

# DEV ONLY. Public keys, known to everyone: never send real value to them.
# They are anvil's (and hardhat's) default accounts, m/44'/60'/0'/0/i of this
# mnemonic, so both local backends fund the same ten addresses and account 0 is
# the faucet of each.
DEV_MNEMONIC = "test test test test test test test test test test test junk"
DEV_PRIVATE_KEYS: tuple[str, ...] = (
    "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
    "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
    "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a",
    "0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba",
    "0x92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e",
    "0x4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356",
    "0xdbda1821b80551c9d65939329250298aa3472ba22feea921c0cf5d620ea67b97",
    "0x2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6",
)


def dev_account(index: int = 0) -> LocalAccount:
    """Dev account `index` (0-9), funded on the embedded chain and on anvil. DEV ONLY."""
    return Account.from_key(DEV_PRIVATE_KEYS[index])


def keystore_path(name: str = "default") -> Path:
    """Where the keystore called `name` lives: `TANTIEME_HOME/keys/<name>.json`."""
    if not name or "/" in name or name.startswith("."):
        raise ConfigError(f"invalid keystore name {name!r}: use letters, digits, - and _")
    return home() / "keys" / f"{name}.json"


def create_keystore(
    passphrase: str,
    *,
    name: str = "default",
    private_key: str | bytes | None = None,
    iterations: int | None = None,
) -> Path:
    """Encrypt `private_key` (a new random key if None) into keystore `name`; return its path.

    The file is created with mode 0600 and never overwritten. `iterations` is the
    scrypt work factor (eth-account's default, 2**18, when None; lower it only in tests).
    """
    if not passphrase:
        raise ConfigError("refusing to create a keystore with an empty passphrase")
    path = keystore_path(name)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    account = Account.from_key(private_key) if private_key is not None else Account.create()
    keystore = Account.encrypt(account.key, passphrase, iterations=iterations)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise ConfigError(f"keystore {path} already exists; choose another name") from None
    with os.fdopen(fd, "w") as f:
        json.dump(keystore, f)
    return path


def load_keystore(path: str | Path, passphrase: str) -> LocalAccount:
    """Decrypt the keystore at `path`; `ConfigError` if it is missing, invalid or locked."""
    path = Path(path)
    try:
        keystore = json.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"no keystore at {path}") from None
    except (OSError, ValueError) as e:
        raise ConfigError(f"cannot read keystore {path}: {e}") from None
    try:
        key = Account.decrypt(keystore, passphrase)
    except ValueError as e:
        if "MAC mismatch" in str(e):
            raise ConfigError(f"wrong passphrase for keystore {path}") from None
        raise ConfigError(f"invalid keystore {path}: {e}") from None
    return Account.from_key(key)


def load_account(
    keystore: str | Path | None = None,
    passphrase: Callable[[], str] | None = None,
) -> LocalAccount:
    """The operator's key: `TANTIEME_PRIVATE_KEY`, else a keystore.

    The keystore is `keystore` (a path or a name under `TANTIEME_HOME/keys/`), else
    the `default` one. Its passphrase is `TANTIEME_PASSPHRASE`, else `passphrase()`.
    """
    raw = os.environ.get(ENV_PRIVATE_KEY)
    if raw:
        try:
            return Account.from_key(raw.strip())
        except (ValueError, TypeError):
            raise ConfigError(f"{ENV_PRIVATE_KEY} is not a valid private key") from None
    if keystore is None:
        path = keystore_path()
    elif isinstance(keystore, Path) or os.sep in str(keystore) or str(keystore).endswith(".json"):
        path = Path(keystore)
    else:
        path = keystore_path(str(keystore))
    if not path.exists():
        raise ConfigError(
            f"no signing key: set {ENV_PRIVATE_KEY}, or create a keystore at {path} "
            "(tantieme.chain.accounts.create_keystore)"
        )
    secret = os.environ.get(ENV_PASSPHRASE)
    if secret is None:
        if passphrase is None:
            raise ConfigError(f"keystore {path} needs a passphrase: set {ENV_PASSPHRASE}")
        secret = passphrase()
    return load_keystore(path, secret)
