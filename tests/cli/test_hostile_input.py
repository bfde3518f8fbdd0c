"""No input produces a traceback: every command, fed bad ids, amounts, options and files,
answers with one line (or one JSON document with --json) and a non-zero exit.

`TANTIEME_DEBUG` is set by the suite, so an unexpected exception escapes the CLI and
fails the test instead of being reported as a bug.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tantieme.cli import app

from .conftest import runner

ADDRESS = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
EIGHTY = "1" * 80
TOO_BIG = str(2**256)
BAD_IDS = ["-1", "0", EIGHTY, TOO_BIG, "abc", "1.5", "１"]
BAD_AMOUNTS = ["1e3", "nan", "inf", "-inf", "1_000", "-5", "0.0000000000000000001", "", "1" * 90, "1,5", "0x10"]
BAD_PERCENTS = ["nan", "inf", "-1", "101", "7.555", "abc", "1e1"]


def _id_cases() -> list[list[str]]:
    cases = []
    for bad in BAD_IDS:
        cases += [
            ["show", bad],
            ["consent", bad, "--revoke", "retrieval"],
            ["license", "mint", bad],
            ["pay", bad, "5"],
            ["claim", bad],
            ["model", "default", bad],
            ["model", "price", bad, "--prompt", "1"],
            ["model", "register", "--dataset", bad],
            ["register", "{work}", "--parent", bad],
            ["ask", "How many hives?", "--model", bad],
            ["dat", bad],
            ["verify", bad],
        ]
    return cases


def _amount_cases() -> list[list[str]]:
    cases = []
    for bad in BAD_AMOUNTS:
        cases += [
            ["pay", "1", bad],
            ["faucet", bad],
            ["transfer", ADDRESS, bad],
            ["register", "{work}", "--fee", bad],
            ["model", "register", "--price-prompt", bad],
            ["model", "price", "1", "--completion", bad],
        ]
    return cases


CASES = [
    *_id_cases(),
    *_amount_cases(),
    *[["register", "{work}", "--royalty", bad] for bad in BAD_PERCENTS],
    # options and arguments that do not exist or are missing
    *[[*command, "--bogus"] for command in (
        ["init"], ["register", "{work}"], ["assets"], ["show", "1"], ["consent", "1"], ["license", "mint", "1"],
        ["model", "register"], ["model", "list"], ["model", "default", "1"], ["model", "price", "1"], ["ask", "q"],
        ["history"], ["settle"], ["verify", "1"], ["dat", "1"], ["pay", "1", "1"], ["royalties"], ["claim"],
        ["balance"], ["transfer", ADDRESS, "1"], ["faucet"], ["chain", "status"], ["quickstart"],
    )],
    ["nosuchcommand"], ["show"], ["pay", "1"], ["transfer", ADDRESS], ["consent", "1"], ["register"],
    # models
    ["model", "register", "--backend", "openai"],
    ["model", "register", "--backend", "openai", "--base-url", "http://127.0.0.1:9/v1"],
    ["model", "register", "--backend", "nope"],
    ["model", "register", "--base-url", "http://127.0.0.1:9/v1"],
    ["model", "price", "1"],
    ["model", "default", "99"],
    # asking
    ["ask", ""], ["ask", "   "], ["ask", "q", "--k", "0"], ["ask", "q", "--k", "-1"], ["ask", "q", "--max-tokens", "0"],
    ["ask", "q", "--attribution", "guess"],
    # addresses
    ["transfer", "notanaddress", "5"], ["transfer", "0x123", "5"], ["balance", "nope"], ["royalties", "--owner", "nope"],
    ["license", "mint", "1", "--to", "nope"], ["faucet", "5", "--to", "nope"],
    # registration
    ["register", "{missing}"], ["register", "{dir}"], ["register", "/dev/zero"], ["register", "/dev/zero", "--terms", "open"], ["register", "{work}", "--kind", "song"],
    ["register", "{work}", "--terms", "free"], ["register", "{work}", "--ai", "dreaming"],
    ["register", "{work}", "--no-ai", "dreaming"], ["register", "{work}", "--expires", "-1"],
    ["register", "{work}", "--expires", EIGHTY], ["register", "{work}", "--parent", "1", "--parent", "1"],
    ["register", "{binary}", "--terms", "open"], ["register", "{binary}", "--ai", "retrieval"],
    ["register", "{work}", "--parent", "99"],
    ["consent", "99", "--revoke", "retrieval"], ["consent", "1", "--revoke", "dreaming"],
    # amounts beyond what the account holds, records that do not exist
    ["pay", "1", "99999999"], ["transfer", ADDRESS, "99999999"], ["license", "mint", "1", "--amount", "0"],
    ["license", "mint", "1", "--amount", EIGHTY], ["history", "--limit", "-1"], ["history", "--limit", EIGHTY],
    ["verify", "zzz"], ["verify", ""], ["dat", "1"], ["dat", "0xabc"],
    # the node itself
    ["init", "--chain", "nope"], ["init", "--chain", "rpc"], ["init", "--chain", "rpc", "--rpc-url", "ftp://x"],
    ["init", "--chain", "rpc", "--rpc-url", "http://127.0.0.1:9"],
]


@pytest.fixture
def files(tmp_path):
    """An initialised node holding asset #1, and the files the cases name."""
    work = tmp_path / "work.md"
    work.write_text("# Roof Bees\n\nFour hives fit on a flat roof of forty square metres.\n")
    binary = tmp_path / "photo.png"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8)
    assert runner.invoke(app, ["init"], catch_exceptions=False).exit_code == 0
    first = tmp_path / "first.md"
    first.write_text("A first work.")
    assert runner.invoke(app, ["register", str(first), "--terms", "open"], catch_exceptions=False).exit_code == 0
    return {"work": work, "binary": binary, "missing": tmp_path / "missing.md", "dir": tmp_path}


def check(args: list[str]) -> str | None:
    """What is wrong with how the CLI answered `args`, plainly and with --json; None if nothing."""
    try:
        plain = runner.invoke(app, args, catch_exceptions=False)
    except Exception as exc:  # TANTIEME_DEBUG: a bug escapes the CLI
        return f"raised {type(exc).__name__}: {exc}"
    lines = plain.stderr.strip().splitlines()
    if plain.exit_code not in (1, 2):
        return f"exit {plain.exit_code}: {plain.output!r}"
    if "Traceback" in plain.output or len(lines) != 1 or not lines[0].startswith("error: "):
        return f"not one error line: {plain.stderr!r}"
    if "InternalError" in plain.stderr or "a bug in tantieme" in plain.stderr:
        return f"reported as a bug: {plain.stderr!r}"
    try:
        scripted = runner.invoke(app, [*args, "--json"], catch_exceptions=False)
    except Exception as exc:
        return f"--json raised {type(exc).__name__}: {exc}"
    try:
        document = json.loads(scripted.stdout)
    except ValueError:
        return f"--json printed no JSON: {scripted.output!r}"
    if scripted.exit_code != plain.exit_code or set(document) != {"error", "kind"} or document["kind"] == "InternalError":
        return f"--json: exit {scripted.exit_code}, {document!r}"
    return None


def test_hostile_inputs__one_line_errors_never_a_traceback(files):
    problems = {}
    for case in CASES:
        args = [a.format(**files) for a in case]
        if (problem := check(args)) is not None:
            problems[" ".join(args)] = problem
    assert problems == {}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    command=st.sampled_from([["show", "{}"], ["pay", "1", "{}"], ["faucet", "{}"], ["register", "{work}", "--royalty", "{}"],
                             ["license", "mint", "1", "--amount", "{}"], ["history", "--limit", "{}"]]),
    value=st.one_of(
        st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=30),
        st.integers(min_value=-(2**300), max_value=-1).map(str),
        st.integers(min_value=2**256, max_value=2**300).map(str),
        st.floats(allow_nan=True, allow_infinity=True).map(repr),
    ),
)
def test_random_values__never_a_traceback(files, command, value):
    args = [a.format(value, **files) if a == "{}" else a.format(**files) for a in command]
    if value.startswith("-") and not value.lstrip("-").strip():
        return  # "-" or "--" alone is an option marker, not a value
    result = runner.invoke(app, args, catch_exceptions=False)
    assert "Traceback" not in result.output
    if result.exit_code != 0:
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), result.output
