"""A disputed work on the creator's dashboard page and in the report: once an upheld dispute
tags it, the page shows a badge with the reason beside its title and the report marks it;
works without a tag show none. Each work says whether retrieval reads it, and if not why
(the stub model; the embedded chain)."""

from __future__ import annotations

from tantieme import disputes
from tantieme.node import Node
from tantieme.report import report

from report.homes import CREATORS, build  # tests/report/homes.py

HTML = {"Accept": "text/html,application/xhtml+xml"}


def test_creator_page_and_report__show_a_tagged_work_as_disputed(served_home, make_client, tmp_path):
    with Node.open() as node:
        filled = build(node)
        raised = disputes.raise_dispute(node, filled["remix"], "copied-content", "https://example.org/rye.html")
        disputes.resolve(node, raised.dispute.id, uphold=True)
    page = make_client(gate="none").get(f"/dashboard/creators/{CREATORS['bruno'].address}", headers=HTML).text
    section = page[page.index(f'id="asset-{filled["remix"]}"'):]
    assert '<span class="bad disputed"' in section[:600] and "disputed: copied-content" in section[:600]
    assert ('<span class="bad">Left out of retrieval</span>: tagged copied content (dispute 1).'
            in section[:section.index("</section>")])
    ada = make_client(gate="none").get(f"/dashboard/creators/{CREATORS['ada'].address}", headers=HTML).text
    assert "disputed" not in ada
    assert '<span class="ok">Read and cited by AI</span> (retrieval).' in ada
    chen = make_client(gate="none").get(f"/dashboard/creators/{CREATORS['chen'].address}", headers=HTML).text
    letters = chen[chen.index(f'id="asset-{filled["letters"]}"'):]
    assert "Left out of retrieval</span>: no consent to retrieval (its terms or an ancestor&#39;s)." in letters
    with Node.open(readonly=True) as node:
        works = {w["asset"]: w for w in report(node)["works"]}
    assert works[filled["remix"]]["disputed"] == "copied-content"
    assert works[filled["bees"]]["disputed"] is None
    assert works[filled["remix"]]["retrieval"] == {"included": False, "reason": "tagged copied content (dispute 1)"}
    assert works[filled["bees"]]["retrieval"] == {"included": True, "reason": None}
    assert works[filled["model"]]["retrieval"] == {
        "included": False, "reason": "a model is not a document retrieval reads (works and datasets are)"}
