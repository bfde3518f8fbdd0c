"""The service's parts: the rate limiter, the gates' rules, and a stop that finishes the answers."""

from __future__ import annotations

import pytest

from tantieme import interaction
from tantieme.api import Limits, SelfPay, Service, Unpaid
from tantieme.api.errors import ApiError
from tantieme.api.payments import Payment, is_loopback
from tantieme.api.service import RateLimiter
from tantieme.chain.accounts import dev_account
from tantieme.errors import ConfigError
from tantieme.node import Node

from .conftest import QUESTION, records


def test_rate_limiter__burst_then_refill_per_payer():
    now = [0.0]
    limiter = RateLimiter(2, clock=lambda: now[0])
    limiter.check("a")
    limiter.check("a")
    with pytest.raises(ApiError) as refused:
        limiter.check("a")
    assert refused.value.status == 429 and refused.value.headers["Retry-After"] == "30"
    limiter.check("b")  # another payer has its own bucket
    now[0] = 30.0  # one question a half minute
    limiter.check("a")
    with pytest.raises(ApiError):
        limiter.check("a")


@pytest.mark.parametrize(("host", "loopback"), [
    ("127.0.0.1", True), ("127.0.0.2", True), ("::1", True), ("localhost", True),
    ("0.0.0.0", False), ("192.168.1.5", False), ("::", False), ("example.org", False),
])
def test_is_loopback(host, loopback):
    assert is_loopback(host) is loopback


def test_self_pay__refused_off_loopback():
    with pytest.raises(ConfigError, match="only on a loopback address"):
        SelfPay(dev_account(0), "0.0.0.0")


@pytest.mark.anyio
async def test_unpaid__admits_nothing():
    with pytest.raises(ApiError) as refused:
        await Unpaid().admit(None, interaction.Quote(None, None, 96, 10**17))
    assert refused.value.status == 402 and str(10**17) in refused.value.message


def test_stop__finishes_every_question_already_queued(served_home):
    account = dev_account(0)
    with Node.open(readonly=True, account=account) as node:
        service = Service(node, SelfPay(account, "127.0.0.1"), limits=Limits(queue=4, per_payer=3))
        service.start()
        priced = interaction.quote(None, 96)
        payment = Payment(payer=account.address, account=account, quote=priced.amount)
        futures = [service.submit(QUESTION, priced, payment) for _ in range(3)]
        service.stop()
        assert all(f.done() and f.result().record.digest for f in futures)
        with pytest.raises(ApiError) as refused:
            service.submit(QUESTION, priced, payment)
        assert refused.value.status == 503
    assert records() == 3


def test_serve__not_initialised__says_run_init(tmp_path):
    from .served import tantieme

    done = tantieme(tmp_path / "empty", "serve")
    assert done.returncode == 1 and "tantieme init" in done.stderr and "Traceback" not in done.stderr


def test_serve__off_loopback_without_admin_token__refused(tmp_path):
    from .served import tantieme

    done = tantieme(tmp_path / "empty", "serve", "--host", "0.0.0.0")
    assert done.returncode == 1 and "TANTIEME_ADMIN_TOKEN" in done.stderr


def test_settlements_at_once__one_writer_at_a_time__each_record_settled_once(make_client):
    """The periodic settlement, `POST /admin/settle` and a deposit by authorization may each open
    the node for writing at the same moment: the chain's writer lock makes them take turns (no
    lock of the service's own), none fails, and each record settles in exactly one batch."""
    import threading

    from tantieme.ledger.settlement import journal

    from .conftest import chat

    client = make_client(admin_token="secret")
    service = client.app.state.service
    for _ in range(3):
        assert client.post("/v1/chat/completions", json=chat()).status_code == 200
    start, settled, failed = threading.Barrier(4), [], []

    def settle() -> None:
        start.wait()
        try:
            settled.extend(service.settle())
        except Exception as exc:  # noqa: BLE001  (any failure fails the test below)
            failed.append(exc)

    threads = [threading.Thread(target=settle) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert failed == [] and sum(batch.records for batch in settled) == 3
    book = journal()
    rows = book.records()
    book.close()
    assert len(rows) == 3 and all(row.batch_id is not None for row in rows)
    assert len({row.batch_id for row in rows}) == 1
