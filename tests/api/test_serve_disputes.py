"""A served node and disputes (the stub model; the embedded chain): an upheld dispute takes a
work out of the answers, and a derivative of it too when the reason is copied content (the chain
tags only the judged work); another reason leaves the derivative readable. The appeal
(`clearTag`) brings both back into the index the service keeps, although no asset was
registered meanwhile."""

from __future__ import annotations

from tantieme import disputes
from tantieme.assets import registry
from tantieme.assets.terms import preset
from tantieme.interaction import consents_to_retrieval
from tantieme.node import Node

from .conftest import chat

EVIDENCE = "https://example.org/original.html"


def test_tagged_work_and_copied_derivative__left_out__back_after_the_appeal(make_client, served_home, make_file):
    bees = served_home["work"]
    client = make_client()  # the node pays for itself

    def sources() -> list[int]:
        response = client.post("/v1/chat/completions", json=chat())
        assert response.status_code == 200, response.text
        return [s["asset"] for s in response.json()["tantieme"]["sources"]]

    with Node.open() as node:
        remix = registry.register(node, make_file("# Bees, again\n\nFour hives on forty square metres of roof."),
                                  terms=preset("non-commercial"), parents=(bees,), title="Remix").id
        other = registry.register(node, make_file("# Wasps\n\nWasps nest under roof tiles."),
                                  terms=preset("non-commercial"), title="Wasps").id
        wasp_remix = registry.register(node, make_file("# Wasps, again\n\nTiles shelter wasp nests."),
                                       terms=preset("non-commercial"), parents=(other,), title="Wasp remix").id
    assert bees in sources()

    with Node.open() as node:
        for asset, reason in ((bees, "copied-content"), (other, "contradicting-terms")):
            raised = disputes.raise_dispute(node, asset, reason, EVIDENCE)
            disputes.resolve(node, raised.dispute.id, uphold=True)
        readable = consents_to_retrieval(node)
        assert [readable(a) for a in (bees, remix, other, wasp_remix)] == [False, False, False, True]
        assert not disputes.module(node).functions.isTagged(remix).call()  # excluded by the node, not tagged
    assert bees not in sources() and remix not in sources()  # dropped from the index

    with Node.open() as node:
        block = node.conn.w3.eth.block_number
        node.conn.transact(disputes.module(node).functions.clearTag(bees))  # the appeal, by the module's owner
        assert disputes.cleared_since(node, block) == [bees]
        readable = consents_to_retrieval(node)
        assert [readable(a) for a in (bees, remix, other)] == [True, True, False]
    assert bees in sources()  # indexed again by the running service
