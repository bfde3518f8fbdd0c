"""`tantieme demo market`: README's "A market on one machine" run as written (anvil, three real
`tantieme serve` nodes, the real model); the sourceless node, the cheapest, loses the traffic
by its paid ratings alone; `--json`'s document."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tantieme.cli.demo_cmd import _data
from tantieme.market.demo import NODES, SOURCELESS, Asked, MarketRun, NodeResult
from tantieme.market.routing import ModelOffer, Need, Reputation, may_explore, route

from api.served import env
from cli.conftest import run

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_block(kind: str = "sh") -> str:
    section = README.read_text().split("## A market on one machine", 1)[1].split("\n## ", 1)[0]
    (block,) = re.findall(rf"```{kind}\n(.*?)```", section, re.S)
    return block


@pytest.mark.slow
def test_demo_market__readme_run__the_sourceless_node_loses_the_traffic(tmp_path):
    block = readme_block()
    questions = int(re.search(r"--questions (\d+)", block).group(1))
    ran = subprocess.run(["bash", "-c", block], env=env(tmp_path / "home"), capture_output=True, text=True, timeout=900)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    out = ran.stdout
    # `best` from the first question: the untried nodes are tried (cheapest first) while nobody
    # is rated positively, the bakery within the exploration budget, then never the node rated 10.
    order = re.search(r"answered, in order: (.*)", out).group(1).split(", ")
    assert order == [f"{SOURCELESS} (no sources)", "bees-and-bikes", "bakery", *["bees-and-bikes"] * (questions - 3)]
    why = dict(re.findall(r"^#(\d+) \S+: (.*)$", out, re.M))
    assert why["1"] == why["2"] == "exploring: no paid ratings yet, and no offer within the cap has positive ones"
    assert re.fullmatch(r"exploring: no paid ratings yet \(ahead of agent #\d+, best lower bound 0\.21; .*\)", why["3"])
    assert all(why[str(n)].startswith("best lower bound") for n in range(4, questions + 1))
    assert readme_block("text").splitlines() == re.findall(r"^#\d+ .*$", out, re.M)  # as the README shows it
    shares = re.search(r"share of the answers, after each question: (.*)", out).group(1).split()
    assert shares == [f"{1 / n:.0%}" for n in range(1, questions + 1)]
    rows = {line.split("│")[1].strip(): [c.strip() for c in line.split("│")[2:-1]] for line in out.splitlines()
            if line.startswith("│") and line.split("│")[1].strip()}
    assert rows[SOURCELESS][2] == "1" and rows[SOURCELESS][4] == "none: no sources"
    assert rows["bees-and-bikes"][2] == str(questions - 2) and rows["bakery"][2] == "1"  # settled on chain
    assert re.fullmatch(r"ada [0-9.]+, chen [0-9.]+", rows["bees-and-bikes"][4])
    assert re.fullmatch(r"bruno [0-9.]+", rows["bakery"][4])


def test_demo_market__best_from_the_first_question__routes_replayed():
    """The demo's routes without the chain, each node rated as the demo rates it once it answers
    (90 with sources, 10 without): `best` tries the untried nodes, the cheapest first, and the
    sourceless node then loses the traffic by its rating alone."""
    offers = [
        ModelOffer(n, 1, spec.prompt_price, spec.completion_price, f"http://node{n}/v1/chat/completions", 5_000, 4)
        for n, spec in enumerate(NODES, start=1)
    ]
    need, rated, explored, picked = Need(100, 24, cap=10**18), {}, [], []
    for _ in range(12):
        head = route(offers, need, "best", reputation=rated, explore=may_explore(explored))[0]
        explored.append(head.passed is not None)
        spec, was = NODES[head.offer.agent_id - 1], rated.get(head.offer.agent_id, Reputation(0, 0))
        rated[head.offer.agent_id] = Reputation(was.positive + (spec.name != SOURCELESS), was.total + 1)
        picked.append(spec.name)
    assert picked == [SOURCELESS, "bees-and-bikes", "bakery", *["bees-and-bikes"] * 9]
    assert explored == [False, False, True, *[False] * 9]  # the bakery passed the leader: the budget


def test_demo_market__json_amounts_as_strings(json_rules):
    big = 2**60
    nodes = [NodeResult(spec, "http://127.0.0.1:1", "0x" + "11" * 20, n, {n: "ada"}, 2, big, {"ada": big})
             for n, spec in enumerate(NODES, start=1)]
    asked = [Asked(1, "q", "exploring", 3, SOURCELESS, 0, "10", big), Asked(2, "q", "best", 1, "bees-and-bikes", 2, "90", big)]
    data = _data(MarketRun(nodes, asked, 31337))
    json_rules(data)
    assert data["sourceless_share"] == [1.0, 0.5]
    assert data["nodes"][0]["earned"] == str(big) and data["asked"][0]["fee"] == str(big)


def test_demo_market__home_not_empty__refused(tmp_path):
    (tmp_path / "kept.txt").write_text("mine")
    out = " ".join(run("demo", "market", "--home", str(tmp_path), ok=False).output.split())
    assert f"{tmp_path} is not empty: give a new or empty folder" in out
    assert [p.name for p in tmp_path.iterdir()] == ["kept.txt"]
