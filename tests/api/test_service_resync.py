"""The served index's check before each answer (`Service._sync`, embedded chain): without a
block since the last check it reads nothing but the head (no registration or appeal can have
landed); after a block it reads the registry and the appeals again, and takes in a new work."""

from __future__ import annotations

from types import SimpleNamespace

from tantieme.api.service import Service
from tantieme.assets import registry
from tantieme.assets.terms import preset
from tantieme.node import Node


class Index:
    """The index's side of a sync: which works were added."""

    def __init__(self) -> None:
        self.added: list[int] = []

    def __contains__(self, asset_id: int) -> bool:
        return asset_id in self.added

    def add_work(self, asset_id: int, *_args) -> None:
        self.added.append(asset_id)


def test_sync__no_new_block__reads_only_the_head(init_embedded, make_file):
    init_embedded()
    with Node.open() as node:
        index = Index()
        state = SimpleNamespace(node=node, _indexed_through=-1, _cleared_from=node.deployment.block)
        Service._sync(state, index)
        head = node.conn.w3.eth.block_number
        assert state._cleared_from == head + 1

        # No block since: the registry is not read (it would fail here) and nothing changes.
        idle = SimpleNamespace(node=SimpleNamespace(conn=node.conn, registry=None), _indexed_through=-1,
                               _cleared_from=head + 1)
        Service._sync(idle, index)
        assert (idle._indexed_through, idle._cleared_from) == (-1, head + 1)

        work = registry.register(node, make_file("# Wasps\n\nWasps nest under roof tiles."),
                                 terms=preset("open"), title="Wasps").id
        Service._sync(state, index)
        assert work in index.added and state._cleared_from == node.conn.w3.eth.block_number + 1
