"""Dev keys and passphrase-encrypted keystores."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from eth_account import Account
from web3 import Web3

from tantieme.chain import (
    DEV_MNEMONIC,
    DEV_PRIVATE_KEYS,
    create_keystore,
    dev_account,
    keystore_path,
    load_account,
    load_keystore,
)
from tantieme.errors import ConfigError

FAST = 2**4  # scrypt work factor for tests only


def test_dev_keys__derive_from_the_dev_mnemonic() -> None:
    Account.enable_unaudited_hdwallet_features()
    derived = [
        Account.from_mnemonic(DEV_MNEMONIC, account_path=f"m/44'/60'/0'/0/{i}").key.to_0x_hex()
        for i in range(len(DEV_PRIVATE_KEYS))
    ]
    assert derived == list(DEV_PRIVATE_KEYS)
    assert dev_account().address == "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"


def test_dev_accounts__are_anvils_accounts(anvil: str) -> None:
    w3 = Web3(Web3.HTTPProvider(anvil))
    assert w3.eth.accounts == [dev_account(i).address for i in range(10)]


def test_keystore__round_trip__mode_0600(tantieme_home: Path) -> None:
    key = "0x" + "11" * 32
    path = create_keystore("correct horse", private_key=key, iterations=FAST)
    assert path == keystore_path() == tantieme_home / "keys" / "default.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert key[2:] not in path.read_text()
    assert json.loads(path.read_text())["crypto"]["kdf"] == "scrypt"
    assert load_keystore(path, "correct horse").key.to_0x_hex() == key


def test_keystore__wrong_passphrase__config_error() -> None:
    path = create_keystore("correct horse", name="op", iterations=FAST)
    with pytest.raises(ConfigError, match=f"^wrong passphrase for keystore {path}$"):
        load_keystore(path, "battery staple")


def test_keystore__new_key_each_time__never_overwritten() -> None:
    first = load_keystore(create_keystore("pw", name="a", iterations=FAST), "pw")
    second = load_keystore(create_keystore("pw", name="b", iterations=FAST), "pw")
    assert first.address != second.address
    with pytest.raises(ConfigError, match="already exists"):
        create_keystore("pw", name="a", iterations=FAST)


@pytest.mark.parametrize("name", ["", "../x", ".hidden"])
def test_keystore__bad_name__config_error(name: str) -> None:
    with pytest.raises(ConfigError, match="invalid keystore name"):
        keystore_path(name)


def test_keystore__missing_or_garbage__config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="^no keystore at"):
        load_keystore(tmp_path / "none.json", "pw")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(ConfigError, match="^cannot read keystore"):
        load_keystore(tmp_path / "bad.json", "pw")


def test_load_account__env_key_first(monkeypatch: pytest.MonkeyPatch) -> None:
    create_keystore("pw", iterations=FAST)
    monkeypatch.setenv("TANTIEME_PRIVATE_KEY", DEV_PRIVATE_KEYS[3])
    assert load_account().address == dev_account(3).address


def test_load_account__bad_env_key__config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TANTIEME_PRIVATE_KEY", "0x1234")
    with pytest.raises(ConfigError, match="TANTIEME_PRIVATE_KEY is not a valid private key"):
        load_account()


def test_load_account__keystore_passphrase_from_env_then_callback(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = create_keystore("pw", name="node", private_key=DEV_PRIVATE_KEYS[2], iterations=FAST)
    asked: list[str] = []

    def prompt() -> str:
        asked.append("asked")
        return "pw"

    assert load_account("node", prompt).address == dev_account(2).address
    assert load_account(path, prompt).address == dev_account(2).address
    assert asked == ["asked", "asked"]
    monkeypatch.setenv("TANTIEME_PASSPHRASE", "pw")
    assert load_account("node", prompt).address == dev_account(2).address
    assert len(asked) == 2  # the env var wins; no prompt


def test_load_account__no_key__says_how_to_get_one() -> None:
    with pytest.raises(ConfigError, match="^no signing key: set TANTIEME_PRIVATE_KEY"):
        load_account()
    create_keystore("pw", iterations=FAST)
    with pytest.raises(ConfigError, match="needs a passphrase: set TANTIEME_PASSPHRASE"):
        load_account()
