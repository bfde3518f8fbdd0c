"""`transact` and reads through web3: the same results on the embedded chain and on anvil."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from web3.contract import Contract
from web3.exceptions import ContractLogicError

from tantieme.chain import Connection, dev_account, revert_reason, transact
from tantieme.errors import ChainError

from .conftest import FORBIDDEN, SILENT

Deploy = Callable[[Connection], Contract]


# -------------------------------------------------------------- transfers --


@pytest.mark.parametrize("gas", [None, 21_000])
def test_transact__transfer__moves_value_and_pays_eip1559_fees(
    conn: Connection, gas: int | None
) -> None:
    w3, to = conn.w3, dev_account(1).address
    before = w3.eth.get_balance(conn.account.address), w3.eth.get_balance(to)
    receipt = transact(w3, conn.account, {"to": to, "value": 10**15}, gas=gas)
    tx = w3.eth.get_transaction(receipt["transactionHash"])
    assert receipt["status"] == 1 and receipt["gasUsed"] == 21_000
    assert tx["type"] == 2 and tx["chainId"] == conn.chain_id
    assert tx["gas"] == 21_000  # estimated exactly for a plain transfer
    assert receipt["effectiveGasPrice"] <= tx["maxFeePerGas"]
    fee = receipt["gasUsed"] * receipt["effectiveGasPrice"]
    assert w3.eth.get_balance(conn.account.address) == before[0] - 10**15 - fee
    assert w3.eth.get_balance(to) == before[1] + 10**15


def test_transact__pending_nonce__one_after_another(conn: Connection) -> None:
    to = dev_account(2).address
    blocks = [conn.transact({"to": to, "value": 1}, gas=21_000)["blockNumber"] for _ in range(3)]
    assert blocks == [1, 2, 3]  # one block per transaction on both (auto-mining)
    assert conn.w3.eth.get_transaction_count(conn.account.address, "pending") == 3


def test_transact__threads__one_signer__no_nonce_clash(conn: Connection) -> None:
    to = dev_account(6).address

    def send(_: int) -> int:
        return conn.transact({"to": to, "value": 1}, gas=21_000)["status"]

    with ThreadPoolExecutor(max_workers=4) as pool:
        assert list(pool.map(send, range(12))) == [1] * 12
    assert conn.w3.eth.get_transaction_count(conn.account.address) == 12


def test_transact__stale_nonce__node_rejects(conn: Connection) -> None:
    conn.transact({"to": dev_account(1).address, "value": 1}, gas=21_000)
    with pytest.raises(ChainError, match="^the node rejected the transaction: "):
        conn.transact({"to": dev_account(1).address, "value": 1, "nonce": 0}, gas=21_000)


def test_transact__unfunded_account__node_rejects(conn: Connection) -> None:
    from eth_account import Account

    with pytest.raises(ChainError, match="^the node rejected the transaction: "):
        transact(conn.w3, Account.create(), {"to": dev_account(1).address, "value": 1}, gas=21_000)


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(values=st.lists(st.integers(0, 10**18), min_size=1, max_size=4))
def test_transact__transfers__conserve_value(embedded: Connection, values: list[int]) -> None:
    w3, to = embedded.w3, dev_account(4).address
    total_before = w3.eth.get_balance(embedded.account.address) + w3.eth.get_balance(to)
    fees = 0
    for value in values:
        receipt = embedded.transact({"to": to, "value": value}, gas=21_000)
        fees += receipt["gasUsed"] * receipt["effectiveGasPrice"]
    total_after = w3.eth.get_balance(embedded.account.address) + w3.eth.get_balance(to)
    assert total_after == total_before - fees  # the base fee burns, tips go to coinbase 0x0


def test_block_timestamps__follow_the_wall_clock(conn: Connection) -> None:
    start = int(time.time())
    for _ in range(20):  # 20 blocks in well under 20 s: the clock must not run ahead
        conn.transact({"to": dev_account(7).address, "value": 1}, gas=21_000)
    stamps = [conn.w3.eth.get_block(n)["timestamp"] for n in range(1, 21)]
    assert stamps == sorted(stamps)
    assert start <= stamps[0] and stamps[-1] <= int(time.time())


# -------------------------------------------------------------- contracts --


@pytest.mark.parametrize("gas", [None, 100_000])
def test_transact__contract_call__stores_and_logs(
    conn: Connection, deploy_store: Deploy, gas: int | None
) -> None:
    contract = deploy_store(conn)
    receipt = conn.transact(contract.functions.store(5), gas=gas)
    assert receipt["status"] == 1
    (event,) = contract.events.Stored().process_receipt(receipt)
    assert event["args"] == {"who": conn.account.address, "value": 5}
    assert contract.functions.value().call() == 5


def test_get_logs__block_range_address_and_topic(conn: Connection, deploy_store: Deploy) -> None:
    contract = deploy_store(conn)
    other = transact(conn.w3, dev_account(3), contract.functions.store(2))
    for value in (3, 4):
        conn.transact(contract.functions.store(value), gas=100_000)
        conn.transact({"to": dev_account(5).address, "value": 1}, gas=21_000)  # no logs
    events = contract.events.Stored
    assert [e["args"]["value"] for e in events.get_logs(from_block=0)] == [2, 3, 4]
    later = events.get_logs(from_block=other["blockNumber"] + 1)
    assert [e["args"]["value"] for e in later] == [3, 4]
    mine = events.get_logs(from_block=0, argument_filters={"who": conn.account.address})
    assert [e["args"]["value"] for e in mine] == [3, 4]
    nobody = conn.w3.eth.get_logs({"fromBlock": 0, "address": dev_account(9).address})
    assert list(nobody) == []


# ---------------------------------------------------------------- reverts --


@pytest.mark.parametrize("gas", [None, 100_000])  # caught by the estimate / mined and replayed
def test_transact__revert__raises_reason_string(
    conn: Connection, deploy_store: Deploy, gas: int | None
) -> None:
    contract = deploy_store(conn)
    with pytest.raises(ChainError) as raised:
        conn.transact(contract.functions.store(FORBIDDEN), gas=gas)
    assert str(raised.value) == "registry: parent forbids derivatives"


@pytest.mark.parametrize("gas", [None, 100_000])
def test_transact__revert_without_reason__execution_reverted(
    conn: Connection, deploy_store: Deploy, gas: int | None
) -> None:
    contract = deploy_store(conn)
    with pytest.raises(ChainError) as raised:
        conn.transact(contract.functions.store(SILENT), gas=gas)
    assert str(raised.value) == "execution reverted"


def test_transact__too_little_gas__out_of_gas(conn: Connection, deploy_store: Deploy) -> None:
    contract = deploy_store(conn)
    with pytest.raises(ChainError, match="^out of gas: the transaction used all of its 23000 gas$"):
        conn.transact(contract.functions.store(1), gas=23_000)


def test_call__revert__same_contract_logic_error(conn: Connection, deploy_store: Deploy) -> None:
    contract = deploy_store(conn)
    with pytest.raises(ContractLogicError) as raised:
        contract.functions.store(FORBIDDEN).call()
    assert raised.value.message == "execution reverted: registry: parent forbids derivatives"
    assert revert_reason(raised.value) == "registry: parent forbids derivatives"
    with pytest.raises(ContractLogicError) as raised:
        contract.functions.store(SILENT).call()
    assert (raised.value.message, raised.value.data) == ("execution reverted", "0x")


def test_gas_used__same_on_both_backends(
    embedded: Connection, rpc: Connection, deploy_store: Deploy
) -> None:
    used = []
    for conn in (embedded, rpc):
        contract = deploy_store(conn)
        deployed = conn.w3.eth.get_transaction_receipt(
            conn.w3.eth.get_block("latest")["transactions"][0]
        )
        first = conn.transact(contract.functions.store(1))
        second = conn.transact(contract.functions.store(2))
        used.append((deployed["gasUsed"], first["gasUsed"], second["gasUsed"]))
    assert used[0] == used[1]
