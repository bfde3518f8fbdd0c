"""`tantieme agent register|show|feedback` as a user types them: JSON by the rules, a paying
client's feedback from an exported bundle and from a record of this home, and hostile input
answered in one line."""

from __future__ import annotations

import json

import pytest

from tantieme.chain.accounts import DEV_PRIVATE_KEYS
from tantieme.ledger import settlement
from tantieme.node import Node

from .conftest import run, run_json
from .test_hostile_input import BAD_IDS, check

PAYER_INDEX = 5  # make_answer's payer


@pytest.fixture
def initialised(init_embedded):
    init_embedded()
    run("init")


def test_register_show__json_by_the_rules(initialised, json_rules):
    registered = run_json("agent", "register", "--name", "Roof bees node")
    json_rules(registered)
    assert registered["registered"] and registered["registration"]["name"] == "Roof bees node"
    shown = run_json("agent", "show")
    json_rules(shown)
    assert (shown["agent_id"], shown["uri"], shown["registration"]) == (1, registered["uri"], registered["registration"])
    updated = run_json("agent", "register", "--url", "http://127.0.0.1:8402")
    assert not updated["registered"] and updated["agent_id"] == 1
    assert "agent #1" in run("agent", "show", "1").output


def test_feedback__from_a_bundle_file_and_from_a_record_of_this_home(initialised, make_answer, payer, tmp_path,
                                                                     monkeypatch, json_rules):
    run("agent", "register")
    with Node.open() as node:
        rows = [make_answer(node), make_answer(node)]
        settlement.settle(node, {payer.address: payer})
    bundle = tmp_path / "answer.json"
    run("export", rows[0].digest, "-o", str(bundle))
    monkeypatch.setenv("TANTIEME_PRIVATE_KEY", DEV_PRIVATE_KEYS[PAYER_INDEX])
    first = run_json("agent", "feedback", str(bundle), "--value", "90", "--tag1", "starred")
    json_rules(first)
    assert (first["record"], first["value"], first["index"], first["client"]) == (rows[0].digest, "90", 1, payer.address)
    second = run("agent", "feedback", rows[1].digest[:18], "--value", "4.5")
    assert "rated agent #1 4.5 for record" in second.output
    refused = run("agent", "feedback", str(bundle), "--value", "10", ok=False)
    assert "rated already: one feedback per paid answer" in refused.stderr
    monkeypatch.delenv("TANTIEME_PRIVATE_KEY")
    reputation = run_json("agent", "show")["reputation"]
    # 90 and 4.5 average 47.25, shown at the decimals most feedback used (a tie: the fewest), as ERC-8004's reference
    assert (reputation["count"], reputation["clients"], reputation["average"]) == (2, 1, "47")


CASES = [
    *[["agent", "show", bad] for bad in BAD_IDS],
    *[["agent", "feedback", "{bundle}", "--value", "90", "--agent", bad] for bad in BAD_IDS],
    ["agent", "show"], ["agent", "show", "99"], ["agent", "bogus"], ["agent", "register", "--bogus"],
    ["agent", "register", "--url", "ftp://x"], ["agent", "register", "--url", ""], ["agent", "register", "--name", " "],
    ["agent", "register", "--image", "x.png"], ["agent", "register", "--description", "d" * 2000],
    ["agent", "feedback", "{bundle}"], ["agent", "feedback", "{bundle}", "--value", "1e3"],
    ["agent", "feedback", "{bundle}", "--value", "nan"], ["agent", "feedback", "{bundle}", "--value", "1" * 40],
    ["agent", "feedback", "{bundle}", "--value", "90", "--tag1", "t" * 65],
    ["agent", "feedback", "{missing}", "--value", "90"], ["agent", "feedback", "{work}", "--value", "90"],
    ["agent", "feedback", "{garbage}", "--value", "90"], ["agent", "feedback", "0xabc", "--value", "90"],
    ["agent", "feedback", "0x" + "ab" * 32, "--node", "http://127.0.0.1:9", "--value", "90"],
    ["agent", "feedback", "{bundle}", "--value", "90"],  # pending, and the node's own record
]


def test_hostile_input__one_line_errors(initialised, make_answer, tmp_path):
    with Node.open() as node:
        row = make_answer(node)
    bundle = tmp_path / "pending.json"
    run("export", row.digest, "-o", str(bundle))
    work = tmp_path / "work.md"
    work.write_text("A work.")
    garbage = tmp_path / "garbage.json"
    garbage.write_text(json.dumps({"format": "tantieme-bundle/1", "record": 5}))
    files = {"bundle": bundle, "missing": tmp_path / "missing.json", "work": work, "garbage": garbage}
    problems = {}
    for case in CASES:
        args = [a.format(**files) for a in case]
        if (problem := check(args)) is not None:
            problems[" ".join(args)] = problem
    assert problems == {}
