"""An embedded node with its agent registries, and paid answers settled on its ledger."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tantieme.ledger import settlement
from tantieme.ledger.bundle import export
from tantieme.node import Node


@pytest.fixture
def embedded_node(init_embedded) -> Iterator[Node]:
    init_embedded()
    with Node.open() as opened:
        yield opened


@pytest.fixture
def settled_bundle(embedded_node, make_answer, payer) -> Callable[..., dict]:
    """A factory of bundles of answers `payer` paid (its own records, as in deposit mode),
    settled on the node's ledger unless `settle` is false."""

    def make(settle: bool = True) -> dict:
        row = make_answer(embedded_node)
        book = settlement.journal()
        if settle:
            settlement.settle(embedded_node, {payer.address: payer}, book=book)
        return export(embedded_node, book, row.digest)

    return make
