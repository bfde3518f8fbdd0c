"""The embedded chain: genesis, persistence across processes, kill -9, one writer."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from web3 import Web3

from tantieme.chain import EMBEDDED_CHAIN_ID, Connection, connect, dev_account, open_embedded
from tantieme.chain.embedded import DEV_BALANCE, GAS_LIMIT
from tantieme.locking import default_lock_timeout
from tantieme.errors import ChainError, ChainLockedError, ConfigError

from .conftest import store_artifact

CHAINPROC = Path(__file__).with_name("chainproc.py")


def run(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, str(CHAINPROC), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=True)


def spawn(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(CHAINPROC), *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )


# --------------------------------------------------------------- genesis --


def test_genesis__chain_id_gas_limit_and_funded_dev_accounts(embedded: Connection) -> None:
    w3 = embedded.w3
    block = w3.eth.get_block("latest")
    assert (embedded.chain_id, w3.eth.chain_id, w3.net.version) == (
        EMBEDDED_CHAIN_ID,
        EMBEDDED_CHAIN_ID,
        str(EMBEDDED_CHAIN_ID),
    )
    assert block["number"] == 0 and block["gasLimit"] == GAS_LIMIT >= 30_000_000
    assert block["baseFeePerGas"] == 10**9
    assert embedded.account.address == dev_account(0).address == w3.eth.default_account
    assert [w3.eth.get_balance(dev_account(i).address) for i in range(10)] == [DEV_BALANCE] * 10


def test_open__creates_sqlite_under_home(tantieme_home: Path) -> None:
    with open_embedded() as chain:
        assert chain.directory == tantieme_home / "chain"
    db = sqlite3.connect(tantieme_home / "chain" / "chain.sqlite3")
    assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert dict(db.execute("SELECT name, value FROM meta"))["chain_id"] == str(EMBEDDED_CHAIN_ID)
    db.close()


def test_open__other_chain_id__refuses(tantieme_home: Path) -> None:
    open_embedded().close()
    db = sqlite3.connect(tantieme_home / "chain" / "chain.sqlite3")
    with db:
        db.execute("UPDATE meta SET value = '1' WHERE name = 'chain_id'")
    db.close()
    with pytest.raises(ConfigError, match="made by another version"):
        open_embedded()
    with pytest.raises(ConfigError):  # not ChainLockedError: the failure released the lock
        open_embedded()


# ----------------------------------------------------------- persistence --


@pytest.mark.timeout(120)
def test_reopen__receipts_logs_calls_of_a_previous_process(artifact_file: Path) -> None:
    out = json.loads(run("store", str(artifact_file)).stdout)
    with connect() as conn:
        w3 = conn.w3
        contract = w3.eth.contract(address=out["address"], abi=store_artifact()["abi"])
        receipt = w3.eth.get_transaction_receipt(out["second"])
        assert receipt["status"] == 1 and receipt["blockNumber"] == out["second_block"] == 3
        (event,) = contract.events.Stored().process_receipt(receipt)
        assert event["args"]["value"] == 42 and event["args"]["who"] == conn.account.address
        assert w3.eth.get_transaction(out["first"])["blockNumber"] == 2

        logs = contract.events.Stored.get_logs(from_block=0, to_block="latest")
        assert [log["args"]["value"] for log in logs] == [5, 42]
        only_last = w3.eth.get_logs({"fromBlock": 3, "toBlock": 3, "address": contract.address})
        assert [log["transactionHash"].to_0x_hex() for log in only_last] == [out["second"]]
        by_topic = contract.events.Stored.get_logs(
            from_block=0, argument_filters={"who": dev_account(2).address}
        )
        assert list(by_topic) == []

        assert contract.functions.value().call() == 42
        assert w3.eth.get_transaction_count(conn.account.address) == 3
        assert conn.transact(contract.functions.store(43))["blockNumber"] == 4
        assert contract.functions.value().call() == 43


def test_reopen__same_process__keeps_head_and_state(embedded: Connection) -> None:
    to = dev_account(3).address
    for value in (1, 2, 3):
        embedded.transact({"to": to, "value": value}, gas=21_000)
    head = embedded.w3.eth.get_block("latest")
    embedded.close()
    with connect() as again:
        assert again.w3.eth.get_block("latest") == head
        assert again.w3.eth.get_balance(to) == DEV_BALANCE + 6


def test_idle_node__next_block_stamped_when_mined(embedded: Connection) -> None:
    embedded.transact({"to": dev_account(3).address, "value": 1}, gas=21_000)
    time.sleep(1.1)
    sent = int(time.time())
    receipt = embedded.transact({"to": dev_account(3).address, "value": 1}, gas=21_000)
    assert embedded.w3.eth.get_block(receipt["blockNumber"])["timestamp"] >= sent


# ----------------------------------------------------------------- crash --


def _check_consistent(w3: Web3, reported: int) -> int:
    """The chain after a crash: the reported blocks, linked, and balances that add up."""
    head = w3.eth.block_number
    assert reported <= head <= reported + 1  # printed after commit; at most one more
    sender, recipient = dev_account(0).address, dev_account(1).address
    spent = received = 0
    parent = w3.eth.get_block(0)["hash"]
    for number in range(1, head + 1):
        block = w3.eth.get_block(number, full_transactions=True)
        assert block["parentHash"] == parent
        parent = block["hash"]
        (tx,) = block["transactions"]
        receipt = w3.eth.get_transaction_receipt(tx["hash"])
        assert receipt["status"] == 1 and receipt["blockHash"] == block["hash"]
        received += tx["value"]
        spent += tx["value"] + receipt["gasUsed"] * receipt["effectiveGasPrice"]
    assert w3.eth.get_balance(recipient) == DEV_BALANCE + received
    assert w3.eth.get_balance(sender) == DEV_BALANCE - spent
    assert w3.eth.get_transaction_count(sender) == head
    return head


@pytest.mark.timeout(120)
def test_kill_9__while_mining__leaves_last_committed_block() -> None:
    reported = 0
    for blocks in (15, 30):  # twice: a crash after a recovery, too
        with spawn("mine") as miner:
            assert miner.stdout is not None
            for line in miner.stdout:
                reported = int(line)
                if reported >= blocks:
                    break
            os.kill(miner.pid, signal.SIGKILL)
        assert reported >= blocks, "the miner stopped before it was killed"
        with connect() as conn:
            head = _check_consistent(conn.w3, reported)
            receipt = conn.transact({"to": dev_account(1).address, "value": 1}, gas=21_000)
            assert receipt["blockNumber"] == head + 1


# ------------------------------------------------------------------ lock --


def _hold() -> subprocess.Popen[str]:
    holder = spawn("hold")
    assert holder.stdout is not None
    word, pid = holder.stdout.readline().split()
    assert word == "ready" and int(pid) == holder.pid
    return holder


def _send(holder: subprocess.Popen[str]) -> int:
    assert holder.stdin is not None and holder.stdout is not None
    holder.stdin.write("tx\n")
    holder.stdin.flush()
    return int(holder.stdout.readline())


@pytest.mark.timeout(120)
def test_second_writer__another_process__waits_then_chain_locked_error() -> None:
    with _hold() as holder:
        started = time.monotonic()
        with pytest.raises(ChainLockedError) as raised:
            connect(lock_timeout=0.5)
        assert time.monotonic() - started >= 0.5
        assert str(raised.value).startswith(
            f"the embedded chain at {Path(os.environ['TANTIEME_HOME']) / 'chain'} is in use by "
            f"process {holder.pid} (chainproc.py hold) for 0.5 s; try again when it finishes "
            "(or wait longer: TANTIEME_LOCK_TIMEOUT=SECONDS)"
        )
        assert _send(holder) == 1  # the holder still works
        assert holder.stdin is not None
        holder.stdin.close()
        assert holder.wait(timeout=30) == 0
    with connect() as conn:  # released at exit
        assert conn.w3.eth.block_number == 1


@pytest.mark.timeout(120)
def test_second_writer__waits_for_the_lock_and_says_so() -> None:
    heard: list[str] = []
    with _hold() as holder:
        assert holder.stdin is not None

        def waiting(message: str) -> None:
            heard.append(message)
            holder.stdin.close()  # the holder finishes once the other writer waits

        with connect(lock_timeout=60, on_wait=waiting) as conn:
            assert holder.wait(timeout=30) == 0
            assert conn.transact({"to": dev_account(1).address, "value": 1}, gas=21_000)["blockNumber"] == 1
    assert heard == [
        f"waiting for process {holder.pid} (chainproc.py hold) to finish with the embedded chain (up to 60 s)"
    ]


@pytest.mark.timeout(120)
def test_reader__beside_a_writer__sees_committed_blocks_and_cannot_write() -> None:
    with _hold() as holder:
        assert _send(holder) == 1
        with connect(readonly=True) as reader:
            assert reader.w3.eth.block_number == 1
            assert _send(holder) == 2
            assert reader.w3.eth.block_number == 2
            assert reader.w3.eth.get_balance(dev_account(1).address) == DEV_BALANCE + 2
            with pytest.raises(ChainError, match="this connection to the chain is read-only"):
                reader.transact({"to": dev_account(1).address, "value": 1}, gas=21_000)
            raw = dev_account(1).sign_transaction({
                "to": dev_account(2).address, "value": 1, "gas": 21_000, "gasPrice": 2 * 10**9,
                "nonce": 0, "chainId": reader.chain_id,
            })
            with pytest.raises(ChainError, match="is open read-only here"):
                reader.w3.eth.send_raw_transaction(raw.raw_transaction)
        assert holder.stdin is not None
        holder.stdin.close()
        assert holder.wait(timeout=30) == 0


def test_reader__no_chain_yet__says_run_init() -> None:
    with pytest.raises(ConfigError, match="there is no embedded chain at .*: run `tantieme init` first"):
        open_embedded(readonly=True)


def test_second_writer__same_process__chain_locked_error_at_once(embedded: Connection) -> None:
    started = time.monotonic()
    with pytest.raises(ChainLockedError, match=f"in use by process {os.getpid()} \\(this one"):
        open_embedded(lock_timeout=30)
    assert time.monotonic() - started < 5
    embedded.close()
    open_embedded().close()


def test_second_writer__another_thread_of_this_process__waits_its_turn(embedded: Connection) -> None:
    import threading

    opened: list[object] = []
    waiting = threading.Thread(target=lambda: opened.append(_open_or_error()))
    waiting.start()
    time.sleep(0.5)
    assert opened == []  # the service's threads take turns: it waits for this thread's writer
    embedded.close()
    waiting.join(30)
    (second,) = opened
    assert not isinstance(second, Exception), second
    second.close()


def _open_or_error() -> object:
    try:
        return open_embedded(lock_timeout=30)
    except ChainLockedError as exc:
        return exc


def test_lock_timeout__from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TANTIEME_LOCK_TIMEOUT", "7.5")
    assert default_lock_timeout() == 7.5
    for bad in ("soon", "-1", "nan"):
        monkeypatch.setenv("TANTIEME_LOCK_TIMEOUT", bad)
        with pytest.raises(ConfigError, match="is not a number of seconds"):
            default_lock_timeout()


# ---------------------------------------------------------------- damage --


@pytest.mark.parametrize("keep", [100, 0.5])
def test_damaged_database__clear_chain_error(tantieme_home: Path, keep: float) -> None:
    with connect() as conn:
        for value in range(1, 40):
            conn.transact({"to": dev_account(1).address, "value": value}, gas=21_000)
    db = tantieme_home / "chain" / "chain.sqlite3"
    size = db.stat().st_size
    os.truncate(db, keep if isinstance(keep, int) else int(size * keep))
    for readonly in (False, True):
        with pytest.raises(ChainError, match="is damaged .*restore a backup with `tantieme restore FILE`"):
            with connect(readonly=readonly) as conn:
                for number in range(conn.w3.eth.block_number + 1):
                    conn.w3.eth.get_block(number, full_transactions=True)
                conn.w3.eth.get_balance(dev_account(1).address)


@pytest.mark.timeout(120)
def test_reader__calls_while_a_writer_mines__each_sees_one_block() -> None:
    """A reader's calls, made while a writer in another thread mines block after block, each
    read one consistent block (no half-followed head: a call's nonce never mismatches)."""
    import threading

    writer = connect()
    errors: list[Exception] = []
    done = threading.Event()

    def mine() -> None:
        try:
            for _ in range(40):
                writer.transact({"to": dev_account(1).address, "value": 1}, gas=21_000)
        finally:
            done.set()

    with connect(readonly=True, account=dev_account(0)) as reader:
        thread = threading.Thread(target=mine)
        thread.start()
        calls = 0
        while not done.is_set():
            try:
                reader.w3.eth.call({"from": dev_account(0).address, "to": dev_account(1).address, "value": 0})
                reader.w3.eth.get_transaction_count(dev_account(0).address)
                calls += 1
            except Exception as exc:  # noqa: BLE001  (any failure is the bug)
                errors.append(exc)
        thread.join()
    writer.close()
    assert errors == [] and calls > 0
