"""A node with answers that pay up a graph: a work and its derivative, a dataset and the
model trained on it; three answers settled in one batch, one still pending, one asset claimed;
and (`pool_members`) the commons pool's members: one by a work, who claims, and one invited."""

from __future__ import annotations

import os

from tantieme import commons, interaction
from tantieme.assets import registry, royalties
from tantieme.assets.terms import LicenseTerms, preset
from tantieme.chain.accounts import dev_account
from tantieme.ledger import settlement
from tantieme.node import Node

PAYER = dev_account(5)
CREATORS = {"ada": dev_account(1), "bruno": dev_account(2), "chen": dev_account(3)}
NON_COMMERCIAL = preset("non-commercial")
MODEL_TERMS = LicenseTerms(attribution=True, ai_retrieval=True)


def register(node: Node, who: str, kind: str, terms: LicenseTerms, parents: tuple[int, ...] = (), title: str = "") -> int:
    creator = node.as_account(CREATORS[who]) if who in CREATORS else node
    return registry.register_hash(
        creator, os.urandom(32), kind=kind, terms=terms, parents=parents, title=title or f"{who}'s {kind}",
        media_type="text/plain",
    ).id


def answer(node: Node, model: int, sources: list[int], weights: list[float], fee: int, question: str):
    """A signed, journaled record and its credentialed answer files, as `ask` makes them (no model run)."""
    row = settlement.record(
        node, PAYER, model=model, question=question, answer="Four hives.", sources=sources, weights=weights,
        prompt_tokens=120, completion_tokens=8, fee=fee, details={},
    )
    entry = interaction.ModelEntry(
        asset_id=model, name="m", backend="local", options={}, weights_hash="00" * 32,
        price_prompt_per_million=1, price_completion_per_million=1,
    )
    interaction.write_answer(node, row, entry)
    return row


def build(node: Node) -> dict:
    """Fill `node` (the operator, dev account 0) as the module says; returns the asset ids and records."""
    for account in (*CREATORS.values(), PAYER):
        node.faucet(account.address)
    bees = register(node, "ada", "work", preset("open"), title="Bees <b>above</b> the depot")
    remix = register(node, "bruno", "work", NON_COMMERCIAL, (bees,), title="Honey & rye")
    data = register(node, "chen", "dataset", preset("training-data"), title="Plain answers")
    letters = register(node, "chen", "work", preset("no-ai"), title="[i]Letters")
    model = register(node, "operator", "model", MODEL_TERMS, (data,), title="model")
    settled = [
        answer(node, model, [bees], [0.865], 10**16 + 7, "How many hives?"),
        answer(node, model, [remix, bees], [0.5, 0.25], 3 * 10**16 + 1, "What <script>alert(1)</script> bread?"),
        answer(node, model, [], [], 10**15, "Hello?"),
    ]
    (batch,) = settlement.settle(node, {PAYER.address: PAYER})
    royalties.claim(node.as_account(CREATORS["bruno"]), [remix])
    pending = answer(node, model, [bees], [1.0], 2 * 10**15, "And in winter?")
    return {
        "bees": bees, "remix": remix, "data": data, "letters": letters, "model": model,
        "settled": settled, "pending": pending, "batch": batch,
    }


def pool_members(node: Node, filled: dict) -> commons.Claim:
    """Ada joins the commons pool by her work and claims today's dividend (the settled batch's
    machine tax); she invites Bruno, bonding for him. Returns her claim."""
    ada = node.as_account(CREATORS["ada"])
    commons.join(ada, filled["bees"])
    paid = commons.claim(ada)
    commons.invite(ada, CREATORS["bruno"].address)
    return paid
