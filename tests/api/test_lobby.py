"""Fair admission: the lobby's lines per payer, served in turn, and a payer's burst that does not
hold back another payer's question."""

from __future__ import annotations

import threading

import pytest

from tantieme.api import SelfPay
from tantieme.api.lobby import Lobby, LobbyFull, PayerFull
from tantieme.chain.accounts import dev_account
from .conftest import QUESTION, chat, records


def test_lobby__payers_in_turn__each_in_arrival_order():
    lobby: Lobby[str] = Lobby(size=8, per_payer=3)
    for item in ("g1", "g2", "g3"):
        lobby.put("greedy", item)
    lobby.put("polite", "p1")
    lobby.put("third", "t1")
    lobby.put("polite", "p2")
    assert [lobby.get() for _ in range(6)] == ["g1", "p1", "t1", "g2", "p2", "g3"]
    assert len(lobby) == 0


def test_lobby__bounds__per_payer_then_in_all():
    lobby: Lobby[str] = Lobby(size=4, per_payer=2)
    lobby.put("a", "a1")
    lobby.put("b", "b1")
    lobby.put("b", "b2")
    with pytest.raises(PayerFull) as full:
        lobby.put("b", "b3")
    assert full.value.ahead == 2  # a's question, then b's
    lobby.put("a", "a2")
    assert lobby.full()
    with pytest.raises(LobbyFull):
        lobby.put("c", "c1")
    assert lobby.get() == "a1" and not lobby.full()
    lobby.put("c", "c1")
    assert [lobby.get() for _ in range(4)] == ["b1", "a2", "c1", "b2"]


def test_lobby__closed__hands_out_what_waits_then_none():
    lobby: Lobby[str] = Lobby(size=2, per_payer=2)
    lobby.put("a", "a1")
    lobby.close()
    with pytest.raises(LobbyFull):
        lobby.put("b", "b1")
    assert lobby.get() == "a1" and lobby.get() is None
    with pytest.raises(ValueError):
        Lobby(size=0, per_payer=1)


class NamedPayers(SelfPay):
    """The node pays (as `--self-pay`), but each request names its payer (`X-Test-Payer`): the
    lobby's lines are per payer."""

    def __init__(self) -> None:
        super().__init__(dev_account(0), "127.0.0.1")
        self.released = 0

    async def admit(self, request, quote):
        from dataclasses import replace

        return replace(await super().admit(request, quote), payer=request.headers["x-test-payer"])

    async def cancelled(self, payment):
        self.released += 1


def test_burst_of_one_payer__another_payer_answered_next_not_after_the_burst(make_client, stub_model, monkeypatch):
    gate = NamedPayers()
    client = make_client(gate=gate, queue=8, per_payer=3)
    service = client.app.state.service
    gates = [threading.Semaphore(0)]
    entered = threading.Semaphore(0)
    answered: list[str] = []
    generate = stub_model.generate

    def one_at_a_time(self, messages, *args, **kwargs):
        entered.release()
        assert gates[0].acquire(timeout=30)
        asked = str(messages)
        answered.append(next(who for who in ("greedy", "polite") if f"({who} " in asked))
        return generate(self, messages, *args, **kwargs)

    monkeypatch.setattr(stub_model, "generate", one_at_a_time)

    def ask(who: str, n: int, statuses: list) -> threading.Thread:
        question = f"{QUESTION} ({who} {n})"
        thread = threading.Thread(target=lambda: statuses.append(client.post(
            "/v1/chat/completions", json=chat(question), headers={"X-Test-Payer": who},
        )))
        thread.start()
        return thread

    def until_queued(n: int) -> None:
        for _ in range(500):
            if service.queued == n:
                return
            threading.Event().wait(0.01)
        raise AssertionError(f"{service.queued} questions queued, not {n}")

    greedy: list = []
    threads = [ask("greedy", 0, greedy)]
    assert entered.acquire(timeout=30)  # the model answers the greedy payer's first question
    for n in range(1, 4):
        threads.append(ask("greedy", n, greedy))
        until_queued(n)
    refused = client.post("/v1/chat/completions", json=chat(), headers={"X-Test-Payer": "greedy"})
    assert refused.status_code == 429, refused.text
    error = refused.json()["error"]
    assert error["code"] == "payer_queue_full" and "3 questions waiting" in error["message"]
    assert int(refused.headers["Retry-After"]) >= 1 and gate.released == 1  # its payment released
    polite: list = []
    threads.append(ask("polite", 0, polite))
    until_queued(4)
    for _ in range(5):
        gates[0].release()
    for thread in threads:
        thread.join(30)
    assert answered == ["greedy", "greedy", "polite", "greedy", "greedy"]  # one greedy question, then the polite one
    assert [r.status_code for r in greedy + polite] == [200] * 5 and records() == 5
