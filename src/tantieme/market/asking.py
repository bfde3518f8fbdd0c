"""Asking the market: a question routed to the offers on chain, each provider's 402 checked
against its offer before anything is paid, the next provider asked when one fails.

    need = Need(prompt_bound(96), 96, cap=10**17)
    routed = ask_market(node, "How many hives fit on a roof?", account, "cheapest", need)
    routed.answer.fee, routed.choice.offer.agent_id, routed.attempts, routed.skipped
    ask_market(node, question, TreasuryPayer(node), "best", need)   # paid by the agent treasury

The offers are the chain's (`offers.list_offers`), ordered by `routing.route` within the
cap and the consent required; `routing.first_answer` asks them in turn through
`payments.client.ask_node`, each with `timeout` seconds, and keeps each attempt's time in
this client's `Latencies`; `best` explores an untried offer within the budget its
`routed.jsonl` keeps (`may_explore_now`: at most one route in `routing.EXPLORE_EVERY`).
Before signing a payment, the provider's 402 must ask for
this home's chain and AI token, be payable to the agent's wallet as the identity
registry has it now (ERC-8004 `getAgentWallet`), and quote at most the cap and at most
what the chosen offer's prices allow for the question (`need`'s prompt and completion
tokens): a provider whose prices rose since it offered them is not paid, and the next
one is asked, saying why. A provider that fails or times out after the payment was signed
is not left holding it: the authorization is canceled on chain (an account's EIP-3009
`cancelAuthorization`, a treasury's `releasePayment`) before the next one is asked, or, if the provider collected it
already, asking stops there with a `ChargedError` (the payer was charged once; the next
provider would charge again).

The payer is an account or an agent treasury (`agents.treasury.TreasuryPayer`). A
treasury pays only within its limits, so before choosing, an offer it may not pay —
its agent's wallet not on the allow-list, its estimated fee above the per-payment cap,
what is left of the day's limit or the balance, the treasury paused — is left out with
the reason; at payment time the treasury checks the 402's quote again.

Every routed answer is kept in `TANTIEME_HOME/routed.jsonl` (its record, the agent, its
node, the rating asked with `--rate`), so `tantieme agent feedback RECORD` finds the
bundle at the node that answered, and `tantieme agent feedback --routed` gives the
ratings left for later once their batches are settled. Asking never waits for that.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from tantieme.addresses import ZERO_ADDRESS
from tantieme.amounts import format_amount
from tantieme.config import home
from tantieme.errors import PaymentError, RemoteNodeError
from tantieme.market.routing import CONSENT, Attempt, Choice, Latencies, ModelOffer, Need, first_answer, may_explore, route
from tantieme.payments.client import CHAT_PATH

if TYPE_CHECKING:
    from eth_account.signers.local import LocalAccount
    from x402.schemas import PaymentRequirements

    from tantieme.agents.treasury import TreasuryPayer
    from tantieme.node import Node
    from tantieme.payments.client import RemoteAnswer

__all__ = [
    "CONTEXT_TOKENS",
    "Routed",
    "RoutedAnswer",
    "Skipped",
    "ask_market",
    "may_explore_now",
    "prompt_bound",
    "routed_answers",
]

# The prompt and answer tokens a routed question pays for at most, by default: the
# embedded model's context (a node quotes for the longest prompt its model reads).
CONTEXT_TOKENS = 2048


@dataclass(frozen=True)
class Skipped:
    """An offer the router left out, and why."""

    agent_id: int
    endpoint: str
    reason: str


@dataclass(frozen=True)
class RoutedAnswer:
    """A market's answer: who answered and for how much, whom the router tried before and
    whom it left out."""

    answer: RemoteAnswer
    choice: Choice
    attempts: list[Attempt]
    skipped: list[Skipped]

    @property
    def latency_ms(self) -> int:
        return self.attempts[-1].ms


@dataclass(frozen=True)
class Routed:
    """A routed answer as this client keeps it (`routed.jsonl`)."""

    record: str
    agent_id: int
    node: str
    """The base URL of the node that answered (its bundles at `/records/ID`)."""
    chain_id: int
    payer: str
    fee: str
    rate: str | None = None
    """The rating to give once the record is settled (`ask --route --rate`), if any."""
    strategy: str | None = None
    explored: bool = False
    """Whether the route passed a positively rated leader to explore (`routing.may_explore`),
    whoever answered in the end."""


def prompt_bound(max_tokens: int, context: int = CONTEXT_TOKENS) -> int:
    """The most prompt tokens a question with `max_tokens` of answer pays for by default."""
    return max(0, context - max_tokens)


def ask_market(
    node: Node,
    question: str,
    payer: LocalAccount | TreasuryPayer,
    strategy: str,
    need: Need,
    *,
    timeout: float = 60.0,
    latencies: Latencies | None = None,
    rate: str | None = None,
) -> RoutedAnswer:
    """Ask the market on `node`'s chain, paying from `payer` (an account, or an agent treasury
    within its limits): the offers `need` allows, in `strategy`'s order (`routing.route`),
    until one answers within `timeout` seconds. The answer is kept in `routed.jsonl` with
    `rate`, the rating to give once it is settled."""
    from tantieme.market.offers import list_offers, reputations

    offers = list_offers(node)
    if not offers:
        raise RemoteNodeError(
            f"no model offers on chain {node.conn.chain_id} yet: a node offers its model with `tantieme offers set`"
        )
    book = latencies or Latencies()
    scores = reputations(node, [o.agent_id for o in offers]) if strategy == "best" else {}
    ordered = route(offers, need, strategy, reputation=scores, latency=book.p95s(), explore=may_explore_now())
    routed = [c for c in ordered if _base(c.offer)]
    chosen = {c.offer.agent_id for c in routed}
    skipped = [Skipped(o.agent_id, o.endpoint, _why(o, need)) for o in offers if o.agent_id not in chosen]
    pay = _payment(node, question, payer, need)
    order = []
    for choice in routed:
        refusal = pay.refusal(choice)
        if refusal is None:
            order.append(choice)
        else:
            skipped.append(Skipped(choice.offer.agent_id, choice.offer.endpoint, refusal))
    if not order:
        raise RemoteNodeError(
            f"no offer fits among the {len(offers)} on chain {node.conn.chain_id}: "
            + "; ".join(f"agent #{s.agent_id} {s.reason}" for s in skipped)
        )

    choice, answer, attempts = first_answer(order, pay.ask, timeout=timeout, book=book)
    _keep(Routed(
        answer.record, choice.offer.agent_id, _base(choice.offer), node.conn.chain_id, payer.address, str(answer.fee), rate,
        strategy, explored=order[0].passed is not None,
    ))
    return RoutedAnswer(answer, choice, attempts, skipped)


@dataclass(frozen=True)
class _Payment:
    """How `ask_market` pays: `refusal(choice)` says why the payer may not pay an offer
    (None: it may), `ask(choice, seconds)` asks its node and pays it."""

    refusal: Callable[[Choice], str | None]
    ask: Callable[[Choice, float], RemoteAnswer]


def _payment(node: Node, question: str, payer: LocalAccount | TreasuryPayer, need: Need) -> _Payment:
    """Paying from an account (`ask_node`) or from an agent treasury within its limits
    (`ask_node_from_treasury`); each provider's 402 checked by `_checker` first."""
    from tantieme.agents.treasury import Quote, TreasuryPayer
    from tantieme.payments.client import ask_node, ask_node_from_treasury

    def options(choice: Choice, seconds: float) -> dict:
        return {
            "max_tokens": need.completion_tokens, "model": str(choice.offer.model), "timeout": seconds,
            "check": _checker(node, choice, need),
        }

    if not isinstance(payer, TreasuryPayer):
        return _Payment(lambda _choice: None, lambda choice, seconds: ask_node(
            _base(choice.offer), question, payer, token=node.deployment.token,
            balance=lambda _chain, _asset: node.balance(payer.address), cancel=_canceler(node, payer),
            **options(choice, seconds),
        ))

    def refusal(choice: Choice) -> str | None:
        from tantieme.agents.identity import identity_registry
        from tantieme.errors import TreasuryError

        wallet = identity_registry(node).functions.getAgentWallet(choice.offer.agent_id).call()
        if wallet == ZERO_ADDRESS:
            return "has no wallet to be paid at (ERC-8004 `agentWallet`)"
        try:
            payer.check(Quote(node.conn.chain_id, node.deployment.token, wallet, choice.quote))
        except TreasuryError as exc:
            return f"may cost {format_amount(choice.quote)} TAI, which the treasury may not pay: {exc}"
        return None

    return _Payment(refusal, lambda choice, seconds: ask_node_from_treasury(
        _base(choice.offer), question, payer, **options(choice, seconds),
    ))


def _checker(node: Node, choice: Choice, need: Need):
    """The check of a provider's 402 before anything is signed (see the module's doc)."""
    from tantieme.agents.identity import identity_registry

    offer, agent = choice.offer, f"agent #{choice.offer.agent_id}"

    def check(required: PaymentRequirements) -> None:
        network = f"eip155:{node.conn.chain_id}"
        if required.network != network:
            raise PaymentError(f"{agent} asks to be paid on {required.network}, not on this home's chain {network}: not paid")
        if required.asset.lower() != node.deployment.token.lower():
            raise PaymentError(f"{agent} asks to be paid in {required.asset}, not in the AI token {node.deployment.token}: not paid")
        wallet = identity_registry(node).functions.getAgentWallet(offer.agent_id).call()
        if wallet == ZERO_ADDRESS or required.pay_to.lower() != wallet.lower():
            where = f"at its wallet {wallet}" if wallet != ZERO_ADDRESS else "nowhere: it has no wallet"
            raise PaymentError(f"{agent} asks to be paid at {required.pay_to}, but the chain says it is paid {where}: not paid")
        amount = int(required.amount)
        if amount > need.cap:
            raise PaymentError(f"{agent} quotes {format_amount(amount)} TAI, above your cap of {format_amount(need.cap)} TAI: not paid")
        if amount > choice.quote:
            raise PaymentError(
                f"{agent} quotes {format_amount(amount)} TAI, above the {format_amount(choice.quote)} TAI its offer's "
                f"prices allow for {need.prompt_tokens:,} prompt and {need.completion_tokens:,} completion tokens "
                "(its prices rose since it offered them, or its model reads longer prompts: --prompt-tokens): not paid"
            )

    return check


def _canceler(node: Node, account: LocalAccount):
    """Cancels an authorization `account` signed on `node`'s chain (`client.cancel_authorization`),
    sent through `node` if it writes, else through a writer of this home opened as `account`."""
    from tantieme.node import Node
    from tantieme.payments.client import Authorization, cancel_authorization

    def cancel(signed: Authorization) -> str | None:
        if not node.conn.readonly:
            return cancel_authorization(node.as_account(account), signed)
        with Node.open(account=account) as writer:
            return cancel_authorization(writer, signed)

    return cancel


def _base(offer: ModelOffer) -> str | None:
    """The node's base URL of an offer's endpoint, None if it is not a node's chat endpoint."""
    endpoint = offer.endpoint.rstrip("/")
    return endpoint.removesuffix(CHAT_PATH) if endpoint.endswith(CHAT_PATH) else None


def _why(offer: ModelOffer, need: Need) -> str:
    """Why `route` left `offer` out (or this module, an endpoint no node answers at)."""
    from tantieme.ai.metering import fee

    missing = [name for name, bit in CONSENT.items() if need.consent & bit and not offer.consent & bit]
    if missing:
        return f"does not serve {', '.join(missing)} consent"
    quote = fee(offer.prices, need.prompt_tokens, need.completion_tokens)
    if quote > need.cap:
        return f"may cost {format_amount(quote)} TAI, above your cap of {format_amount(need.cap)} TAI"
    return f"offers {offer.endpoint!r}, not a node's {CHAT_PATH} endpoint"


def _path() -> Path:
    return home() / "routed.jsonl"


def _keep(routed: Routed) -> None:
    with _path().open("a") as handle:
        handle.write(json.dumps(asdict(routed)) + "\n")


def may_explore_now() -> bool:
    """Whether this client's next `best` route may explore (`routing.may_explore` over the
    `best` routes it kept)."""
    return may_explore([r.explored for r in routed_answers() if r.strategy == "best"])


def routed_answers() -> Iterator[Routed]:
    """The routed answers this client kept, oldest first (a line torn by a crash is skipped)."""
    if not _path().is_file():
        return
    for line in _path().read_text().splitlines():
        try:
            yield Routed(**json.loads(line))
        except (ValueError, TypeError):
            continue
