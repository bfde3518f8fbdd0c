"""Fair admission: the lobby's lines per payer, served in turn, and a payer's burst that does not
hold back another payer's question."""

from __future__ import annotations

import threading

import pytest

from tantieme.api import SelfPay
from tantieme.api.lobby import Lobby, LobbyFull, PayerFull
from tantieme.chain.accounts import dev_account
from .conftest import QUESTION, chat, records, until_queued


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


def test_lobby__check__refuses_a_full_line_and_queues_nothing():
    lobby: Lobby[str] = Lobby(size=4, per_payer=1)
    lobby.check("a")  # no line yet: room
    lobby.put("a", "a1")
    with pytest.raises(PayerFull) as full:
        lobby.check("a")
    assert full.value.ahead == 1 and len(lobby) == 1
    lobby.check("b")
    assert len(lobby) == 1 and lobby.get() == "a1"
    lobby.check("a")


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
        self.admitted = 0
        self.released = 0

    def named_payer(self, request):
        return request.headers["x-test-payer"]

    async def admit(self, request, quote):
        from dataclasses import replace

        self.admitted += 1
        return replace(await super().admit(request, quote), payer=request.headers["x-test-payer"])

    async def cancelled(self, payment):
        self.released += 1


def test_burst_of_one_payer__another_payer_answered_next_not_after_the_burst(make_client, held_model):
    gate = NamedPayers()
    client = make_client(gate=gate, queue=8, per_payer=3)
    service = client.app.state.service

    def ask(who: str, n: int, statuses: list) -> threading.Thread:
        question = f"{QUESTION} ({who} {n})"
        thread = threading.Thread(target=lambda: statuses.append(client.post(
            "/v1/chat/completions", json=chat(question), headers={"X-Test-Payer": who},
        )))
        thread.start()
        return thread

    greedy: list = []
    threads = [ask("greedy", 0, greedy)]
    assert held_model.entered.acquire(timeout=30)  # the model answers the greedy payer's first question
    for n in range(1, 4):
        threads.append(ask("greedy", n, greedy))
        until_queued(service, n)
    refused = client.post("/v1/chat/completions", json=chat(), headers={"X-Test-Payer": "greedy"})
    assert refused.status_code == 429, refused.text
    error = refused.json()["error"]
    assert error["code"] == "payer_queue_full" and "3 questions waiting" in error["message"]
    assert int(refused.headers["Retry-After"]) >= 1
    assert (gate.admitted, gate.released) == (4, 0)  # refused before its payment was asked for
    polite: list = []
    threads.append(ask("polite", 0, polite))
    until_queued(service, 4)
    held_model.let(5)
    for thread in threads:
        thread.join(30)
    answered = [next(who for who in ("greedy", "polite") if f"({who} " in asked) for asked in held_model.asked]
    assert answered == ["greedy", "greedy", "polite", "greedy", "greedy"]  # one greedy question, then the polite one
    assert [r.status_code for r in greedy + polite] == [200] * 5 and records() == 5
