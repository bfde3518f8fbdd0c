"""The command line as a user sees it: output, JSON, exit codes."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from tantieme.cli import app

runner = CliRunner()


def run(*args: str, ok: bool = True):
    result = runner.invoke(app, list(args), catch_exceptions=False)
    assert (result.exit_code == 0) == ok, result.output
    return result


def run_json(*args: str, ok: bool = True):
    return json.loads(run(*args, "--json", ok=ok).stdout)


@pytest.fixture
def initialised():
    return run_json("init")


def test_init__embedded__deploys_funds_and_marks_dev_key():
    result = run("init")
    assert "public dev key" in result.output
    assert "deployed now" in result.output
    again = run_json("init")
    assert again["deployed"] is False
    assert again["funded"] == "0"


def test_init__rpc__uses_the_node(anvil):
    data = run_json("init", "--chain", "rpc", "--rpc-url", anvil)
    assert data["chain_id"] == 31337
    status = run_json("chain", "status")
    assert status["backend"] == "rpc"
    assert status["token_balance"] == data["balance"]


def test_command_before_init__says_run_init():
    result = run("assets", ok=False)
    assert "run `tantieme init` first" in result.output


def test_register_show_pay_claim__round_trip(initialised, tmp_path):
    work = tmp_path / "essay.md"
    work.write_text("On rivers.")
    asset = run_json("register", str(work), "--terms", "open", "--title", "Rivers", "--royalty", "7.5")
    assert asset["id"] == 1
    assert asset["terms"]["royalty_percent"] == 7.5
    shown = run_json("show", "1")
    assert shown == asset
    assert [a["id"] for a in run_json("assets")] == [1]

    remix = tmp_path / "remix.md"
    remix.write_text("On rivers, again.")
    run("license", "mint", "1")
    run_json("register", str(remix), "--terms", "open", "--parent", "1")
    paid = run_json("pay", "2", "100")
    assert paid["amount"] == str(100 * 10**18)
    assert paid["tx"].startswith("0x") and len(paid["tx"]) == 66
    rows = {r["asset"]: r for r in run_json("royalties")}
    assert rows[1]["collectable"] == str(int(7.5 * 10**18))
    assert rows[2]["collectable"] == str(int(92.5 * 10**18))
    claimed = run_json("claim")
    assert claimed["claimed"] == str(100 * 10**18)


def test_register__ai_flags__override_preset(initialised, tmp_path):
    work = tmp_path / "w.txt"
    work.write_text("x")
    asset = run_json("register", str(work), "--terms", "private", "--ai", "retrieval", "--ai", "output-commercial")
    assert asset["terms"]["ai_retrieval"] and asset["terms"]["ai_output_commercial"]
    assert not asset["terms"]["ai_training"]


def test_register__bad_input__one_line_errors(initialised, tmp_path):
    assert "does not exist" in run("register", str(tmp_path / "missing.md"), ok=False).output
    assert "unknown terms preset 'free'" in run("register", __file__, "--terms", "free", ok=False).output
    err = run_json("register", str(tmp_path / "missing.md"), ok=False)
    assert err["kind"] == "AssetError"


def test_consent__revoke_then_regrant_is_impossible(initialised, tmp_path):
    work = tmp_path / "w.txt"
    work.write_text("x")
    run_json("register", str(work), "--terms", "open")
    after = run_json("consent", "1", "--revoke", "retrieval")
    assert after["terms"]["ai_retrieval"] is False
    assert after["terms"]["ai_training"] is True


def test_pay__zero__clear_error(initialised, tmp_path):
    work = tmp_path / "w.txt"
    work.write_text("x")
    run_json("register", str(work))
    assert "greater than zero" in run("pay", "1", "0", ok=False).output


def test_every_command_has_help_with_an_example():
    for command in ["init", "register", "assets", "show", "pay", "royalties", "claim", "consent", "faucet", "quickstart"]:
        assert "Example:" in run(command, "--help").output, command


def test_register__unparsable_pdf_with_retrieval_consent__clear_error_nothing_registered(initialised, tmp_path):
    broken = tmp_path / "paper.pdf"
    broken.write_bytes(b"%PDF-1.7\n this is not a pdf body")
    result = run("register", str(broken), "--terms", "open", ok=False)
    assert "error:" in result.output
    assert run_json("assets") == []


def test_register__binary_file_as_text__clear_error(initialised, tmp_path):
    binary = tmp_path / "notes.txt"
    binary.write_bytes(bytes(range(256)) * 4)
    assert "error:" in run("register", str(binary), "--terms", "open", ok=False).output
    assert run_json("assets") == []
