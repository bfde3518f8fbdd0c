"""The running service: one node, its index and models kept loaded, and one model worker.

llama.cpp is not thread-safe, so every answer is made by one worker thread from a
bounded lobby (`tantieme.api.lobby`): each payer's questions in arrival order, the
payers in turn, at most `Limits.per_payer` waiting per payer (429 with
`Retry-After` above it); a full lobby is answered 503 with `Retry-After`. The node is open read-only (no writer's lock while idle: the CLI's
`settle` and `register` keep working beside it) and signs records with the node's
key; settling (`--settle-every`, `POST /admin/settle`) opens a writer for the
moment it takes.
"""

from __future__ import annotations

import contextlib
import logging
import math
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from tantieme.api.errors import ApiError
from tantieme.api.lobby import Lobby, LobbyFull, PayerFull
from tantieme.api.metrics import Metrics
from tantieme.api.payments import Gate, Payment
from tantieme.errors import AIError, LedgerError, PromptTooLongError, TantiemeError

if TYPE_CHECKING:
    from tantieme import ai
    from tantieme.interaction import Interaction, Quote
    from tantieme.ledger.settlement import Settled
    from tantieme.node import Node

__all__ = ["UNCONFIRMED_RETRY_S", "Limits", "RateLimiter", "Service"]

log = logging.getLogger("tantieme.api")

UNCONFIRMED_RETRY_S = 30
"""`Retry-After` of an answer withheld for its unconfirmed payment when the node settles only when
its operator says so."""


@dataclass(frozen=True)
class Limits:
    """What one request may ask, and how much the service takes at once."""

    queue: int = 8
    """Questions waiting for the model worker; more are answered 503."""
    per_payer: int = 2
    """Questions of one payer waiting for the model worker; more are answered 429 (the payers
    are answered in turn, so a payer's burst does not hold the others back)."""
    max_body_bytes: int = 65_536
    """Largest request body; larger ones are answered 413."""
    max_tokens: int = 512
    """Largest `max_tokens` a request may ask for; above it, 400."""
    default_max_tokens: int = 96
    """`max_tokens` of a request that names none (as `tantieme ask`)."""
    rate_per_minute: int = 60
    """Questions per payer and minute (bursts up to as many); above it, 429."""
    retry_after_s: int = 2
    """`Retry-After` of a full queue."""


class RateLimiter:
    """A token bucket per payer: `per_minute` questions a minute, bursts up to as many."""

    def __init__(self, per_minute: int, clock=time.monotonic) -> None:
        self.capacity = float(per_minute)
        self.refill = per_minute / 60.0
        self.clock = clock
        self.buckets: dict[str, tuple[float, float]] = {}
        self.lock = threading.Lock()

    def check(self, key: str) -> None:
        """Take one question from `key`'s bucket, or `ApiError(429)` with `Retry-After`."""
        with self.lock:
            now = self.clock()
            tokens, then = self.buckets.get(key, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - then) * self.refill)
            if tokens < 1:
                self.buckets[key] = (tokens, now)
                wait = math.ceil((1 - tokens) / self.refill)
                raise ApiError(
                    429, f"{key} asks more than {self.capacity:g} questions a minute: retry in {wait} s",
                    type="rate_limit_error", code="rate_limit_exceeded", headers={"Retry-After": str(wait)},
                )
            self.buckets[key] = (tokens - 1, now)


@dataclass
class _Job:
    question: str
    quote: Quote
    payment: Payment
    future: Future = field(default_factory=Future)


class Service:
    """A node answering over HTTP: `start()` loads everything, `stop()` finishes the answer
    in progress (and those queued before it) and stops.

    `node` is open read-only and signs as the node's account (`Node.open(readonly=True,
    account=...)`); `settle_every` settles the node's pending records every so many seconds.
    """

    def __init__(
        self,
        node: Node,
        gate: Gate,
        *,
        limits: Limits = Limits(),
        settle_every: float | None = None,
        admin_token: str | None = None,
    ) -> None:
        self.node = node
        self.gate = gate
        self.limits = limits
        self.settle_every = settle_every
        self.admin_token = admin_token
        self.limiter = RateLimiter(limits.rate_per_minute)
        self.metrics = Metrics(lambda: len(self._lobby))
        self._lobby: Lobby[_Job] = Lobby(limits.queue, limits.per_payer)
        self._ready = threading.Event()
        self._stopping = threading.Event()
        self._failed: BaseException | None = None
        self._threads: list[threading.Thread] = []
        self._indexed_through = -1
        self._cleared_from = self.node.deployment.block  # appeals looked at up to here
        self.answer_s = 0.0
        """Seconds the model worker takes per answer: a moving average, the recent answers weighted most."""
        self._next_settlement: float | None = None  # when the periodic settlement runs next (monotonic)
        self._settle_s = 0.0  # how long the last one took

    # ------------------------------------------------------------ lifecycle --

    def start(self) -> None:
        """Load the default model, the index and the query embedder, then take questions."""
        from tantieme import interaction

        interaction.quote(None, self.limits.default_max_tokens)  # loads the default model: warm answers
        worker = threading.Thread(target=self._work, name="tantieme-model", daemon=True)
        worker.start()
        self._threads.append(worker)
        self._ready.wait()
        if self._failed is not None:
            raise self._failed
        if self.settle_every:
            settler = threading.Thread(target=self._settle_loop, name="tantieme-settle", daemon=True)
            settler.start()
            self._threads.append(settler)

    def stop(self) -> None:
        self._stopping.set()
        self._lobby.close()  # the worker answers every question already queued, then stops
        for thread in self._threads:
            thread.join()
        self._threads.clear()

    # -------------------------------------------------------------- answers --

    @property
    def queued(self) -> int:
        return len(self._lobby)

    def check_room(self) -> None:
        """`ApiError(503)` with `Retry-After` when no question can be queued now (the queue is
        full, or the node stops): asked before a payment is, so a busy node costs nobody a
        payment's verification."""
        if self._stopping.is_set():
            raise ApiError(503, "the node is shutting down", type="server_error", code="shutting_down",
                           headers={"Retry-After": str(self.limits.retry_after_s)})
        if self._lobby.full():
            raise self._full()

    def check_line(self, payer: str) -> None:
        """`ApiError(429)` when `payer` has `Limits.per_payer` questions waiting: asked before a
        payment naming `payer` is verified (`Gate.named_payer`), so a full line costs no
        verification. It only refuses: a request naming someone else's address is turned away
        only when that payer's own line is full, and takes no place in it."""
        try:
            self._lobby.check(payer.lower())
        except PayerFull as full:
            raise self._payer_full(payer, full.ahead) from None

    def submit(self, question: str, quote: Quote, payment: Payment) -> Future:
        """Queue a paid question for the model worker, in its payer's line; `ApiError(503)` when
        the lobby is full, `ApiError(429)` when the payer has `Limits.per_payer` questions waiting."""
        self.check_room()
        job = _Job(question, quote, payment)
        try:
            self._lobby.put(payment.payer.lower(), job)
        except LobbyFull:
            raise self._full() from None
        except PayerFull as full:
            raise self._payer_full(payment.payer, full.ahead) from None
        return job.future

    def _payer_full(self, payer: str, ahead: int) -> ApiError:
        """A full line's 429. `Retry-After`: until this payer's next question leaves the lobby
        (`ahead` questions), at the pace of the recent answers."""
        wait = max(1, math.ceil(ahead * self.answer_s))
        return ApiError(
            429, f"{payer} has {self.limits.per_payer} questions waiting for this node's model already: "
            f"send the next one after an answer (retry in {wait} s)",
            type="rate_limit_error", code="payer_queue_full", headers={"Retry-After": str(wait)},
        )

    def _full(self) -> ApiError:
        """A full queue's 503. `Retry-After`: until half the queue is answered, at the pace of
        the recent answers (`answer_s`), or `Limits.retry_after_s` if that is longer; so the
        clients turned away come back when there is room, not all at once, again and again."""
        wait = max(self.limits.retry_after_s, math.ceil(len(self._lobby) * self.answer_s / 2))
        return ApiError(
            503, f"the node is busy: {self.limits.queue} questions are waiting for its model; retry in {wait} s",
            type="server_error", code="queue_full", headers={"Retry-After": str(wait)},
        )

    def _work(self) -> None:
        from tantieme import interaction
        from tantieme.ledger import settlement

        try:
            book = settlement.journal()
            index = interaction.open_index()
            self._sync(index)
            index.search("warm", 1)  # loads the query embedder
        except BaseException as exc:  # the service does not start: `start` raises it
            self._failed = exc
            self._ready.set()
            return
        self._ready.set()
        while (job := self._lobby.get()) is not None:
            if job.future.set_running_or_notify_cancel():
                started = time.perf_counter()
                try:
                    job.future.set_result(self._answer(job, index, book))
                except BaseException as exc:
                    job.future.set_exception(exc)
                took = time.perf_counter() - started
                self.metrics.answer.observe(took)
                self.answer_s = took if not self.answer_s else 0.8 * self.answer_s + 0.2 * took
        index.close()
        book.close()

    def _sync(self, index: ai.Index) -> None:
        """Index the works registered since the last question, and the works an appeal cleared
        (`clearTag`) since then. Consent only narrows (and `ai.ask` checks it live), so a work
        skipped once stays skipped, unless a dispute's tag kept it out and was lifted. Without a
        block since the last check nothing can have changed: one call (`python bench/resync.py`)."""
        from tantieme import disputes, interaction

        head = self.node.conn.w3.eth.block_number  # before the reads below: they see at least this block
        if head < self._cleared_from:
            return
        total = self.node.registry.functions.totalAssets().call()
        if total != self._indexed_through or disputes.cleared_since(self.node, self._cleared_from):
            interaction.sync_index(self.node, index, lambda msg: log.warning("%s", msg))
            self._indexed_through = total
        self._cleared_from = head + 1

    def _answer(self, job: _Job, index: ai.Index, book) -> Interaction:
        from tantieme import interaction

        try:
            self._sync(index)
            return interaction.ask(
                self.node, job.question, payer=job.payment.account, index=index, book=book,
                priced=job.quote, nonce=job.payment.record_nonce, sync=False, invoice=job.payment.invoice,
                payment=job.payment.journal,
            )
        except PromptTooLongError as exc:
            raise ApiError(400, str(exc), code="context_length_exceeded", param="messages") from None
        except AIError as exc:
            raise ApiError(400, str(exc), code="invalid_question", param="messages") from None
        except LedgerError as exc:  # the record's payer cannot pay the quote
            if job.payment.invoice is None and job.payment.payer != job.payment.account.address:
                # Paid over x402: the operator's account carries the split, not the asker's.
                log.error("cannot carry an answer's split: %s", exc)
                raise ApiError(
                    503, f"this node's operator account cannot carry the answer's split ({exc}); you were not "
                    "charged: ask again later or another node", type="server_error", code="node_unfunded",
                ) from None
            raise ApiError(402, str(exc), type="payment_required", code="insufficient_funds") from None
        except TantiemeError as exc:
            log.error("cannot answer: %s", exc)
            raise ApiError(503, str(exc), type="server_error", code="node_unavailable") from None

    # ----------------------------------------------------------- settlement --

    def settle(self, *, everything: bool = True) -> list[Settled]:
        """Settle the node's pending records now, and the gate's deposit vouchers: all of them,
        or only those due (a writer for as long as it takes)."""
        from tantieme.ledger import settlement

        account = self.node.account
        with self.writer() as writer:
            return settlement.settle(writer, {account.address: account}) + self.gate.settle(writer, everything=everything)

    @contextlib.contextmanager
    def writer(self) -> Iterator[Node]:
        """The node open for writing as its account, for as long as the block runs: one writer at a
        time, in this process or any other (`Node.open` waits for the chain's writer lock, or the
        home's on a JSON-RPC chain)."""
        from tantieme.node import Node

        with Node.open(account=self.node.account, on_wait=log.info) as writer:
            yield writer

    def unconfirmed_retry_s(self) -> int:
        """`Retry-After` of an answer withheld for its unconfirmed x402 payment (503
        `settlement_pending`, 409 `payment_unconfirmed`): until the node's next periodic
        settlement, whose recovery looks for the payment on chain, has run (as long as the
        last one took); `UNCONFIRMED_RETRY_S` without periodic settlement (the operator's
        next `tantieme settle` or `POST /admin/settle` looks)."""
        if self._next_settlement is None:
            return UNCONFIRMED_RETRY_S
        return max(1, math.ceil(self._next_settlement - time.monotonic() + self._settle_s))

    def _settle_loop(self) -> None:
        while True:
            self._next_settlement = time.monotonic() + self.settle_every
            if self._stopping.wait(self.settle_every):
                return
            started = time.monotonic()
            try:
                for batch in self.settle(everything=False):
                    log.info("settled batch %s: %s records, %s token wei", batch.chain_batch_id, batch.records, batch.total)
            except TantiemeError as exc:
                log.warning("periodic settlement failed (it is tried again): %s", exc)
            self._settle_s = time.monotonic() - started
