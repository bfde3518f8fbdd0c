"""The quickstart: the whole of tantieme on one machine, with the sample corpus.

Several creators register the project's sample works under different terms
(one refuses AI use, one is a derivative of another, one is a dataset), the
earnings flow upstream on chain, and every figure printed is read back from
the chain.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from tantieme.assets import registry
from tantieme.assets.royalties import claim, mint_license
from tantieme.assets.terms import preset
from tantieme.chain.accounts import dev_account
from tantieme.node import Node

SAMPLES_DIR = Path(__file__).resolve().parents[2] / "samples"
# Creators are dev accounts 1.. (account 0 is the node operator and faucet).
_FIRST_CREATOR_ACCOUNT = 1


@dataclass
class Catalog:
    """The sample corpus: works with their creators and terms, and questions about them."""

    works: list[dict]
    questions: list[dict]
    refused_question: dict
    root: Path = SAMPLES_DIR

    @classmethod
    def load(cls, root: Path = SAMPLES_DIR) -> Catalog:
        data = json.loads((root / "catalog.json").read_text())
        return cls(works=data["works"], questions=data["questions"], refused_question=data["refused_question"], root=root)

    def creators(self) -> list[str]:
        return list(dict.fromkeys(w["creator"] for w in self.works))


@dataclass
class Registered:
    """What the quickstart registered: asset ids by file, accounts by creator."""

    assets: dict[str, int] = field(default_factory=dict)
    creators: dict[str, str] = field(default_factory=dict)


def register_catalog(node: Node, catalog: Catalog, say: Callable[[str], None] = print) -> Registered:
    """Register every sample work as its creator (idempotent: known files are reused)."""
    out = Registered()
    accounts = {name: dev_account(_FIRST_CREATOR_ACCOUNT + i) for i, name in enumerate(catalog.creators())}
    for name, account in accounts.items():
        out.creators[name] = account.address
        if node.balance(account.address) == 0:
            node.faucet(account.address)
    for work in catalog.works:
        creator = node.as_account(accounts[work["creator"]])
        path = catalog.root / work["file"]
        existing = creator.registry.functions.assetOfContent(_sha256(path)).call()
        if existing:
            out.assets[work["file"]] = existing
            continue
        parents = (out.assets[work["parent"]],) if work.get("parent") else ()
        terms = preset(work["terms"])
        for parent in parents:
            parent_terms = registry.get(node, parent).terms
            if terms.commercial_use and parent_terms.commercial_use:
                mint_license(creator, parent)
        asset = registry.register(creator, path, kind=work["kind"], terms=terms, parents=parents, title=work["title"])
        out.assets[work["file"]] = asset.id
        say(f"#{asset.id} {work['title']} by {work['creator']} ({work['terms']})")
    return out


def collect_all(node: Node, registered: Registered) -> dict[str, int]:
    """Every creator collects and claims what their assets earned; returns wei per creator."""
    earned: dict[str, int] = {}
    for index, (name, _address) in enumerate(registered.creators.items()):
        creator = node.as_account(dev_account(_FIRST_CREATOR_ACCOUNT + index))
        earned[name] = claim(creator)["claimed"]
    return earned


def _sha256(path: Path) -> bytes:
    from tantieme.assets.store import sha256_file

    return sha256_file(path)
