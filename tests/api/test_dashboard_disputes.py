"""A disputed work on the creator's dashboard page and in the report: once an upheld dispute
tags it, the page shows a badge with the reason beside its title and the report marks it;
works without a tag show none (the stub model; the embedded chain)."""

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
    ada = make_client(gate="none").get(f"/dashboard/creators/{CREATORS['ada'].address}", headers=HTML).text
    assert "disputed" not in ada
    with Node.open(readonly=True) as node:
        works = {w["asset"]: w["disputed"] for w in report(node)["works"]}
    assert works[filled["remix"]] == "copied-content"
    assert works[filled["bees"]] is None
