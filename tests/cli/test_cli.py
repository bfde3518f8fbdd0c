"""The command line as a user sees it: output, JSON, exit codes."""

from __future__ import annotations

import json

import pytest

from tantieme.cli import app

from .conftest import run, run_json


@pytest.fixture
def initialised(init_embedded):
    init_embedded()
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
    assert asset.pop("reused") is False
    assert shown.pop("dispute") == {"disputed": False, "reason": None, "rightful_party": None}
    assert shown.pop("retrieval") == {"included": True, "reason": None}
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


# ------------------------------------------------------------ the CLI itself --

def _commands(command=None, path=()):
    """Every command's path, e.g. ("model", "register"), walking the command tree."""
    from typer.main import get_command

    command = command or get_command(app)
    for name, sub in getattr(command, "commands", {}).items():
        yield from _commands(sub, (*path, name)) if getattr(sub, "commands", None) else [(*path, name)]


def test_every_command__dash_h_and_help_with_an_example():
    commands = list(_commands())
    assert ("model", "list") in commands and ("balance",) in commands and ("transfer",) in commands
    for path in commands:
        short, long = run(*path, "-h"), run(*path, "--help")
        assert short.output == long.output, path
        assert "Example:" in long.output, path


def test_every_command__takes_json():
    for path in _commands():
        assert "--json" in run(*path, "--help").output, path


def test_version():
    from tantieme import __version__

    assert run("--version").output == f"tantieme {__version__}\n"


def test_shell_completion__script_and_completions():
    import os
    import subprocess
    import sys

    tantieme = [sys.executable, "-c", "from tantieme.cli import app; app(prog_name='tantieme')"]
    # The shell is named here: detecting it needs a shell above this process, and tests have none.
    named = {**os.environ, "_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION": "1"}
    script = subprocess.run([*tantieme, "--show-completion", "bash"], capture_output=True, text=True, env=named)
    assert "_TANTIEME_COMPLETE=complete_bash" in script.stdout, script.stderr
    env = {**os.environ, "_TANTIEME_COMPLETE": "complete_bash", "COMP_WORDS": "tantieme model ", "COMP_CWORD": "2"}
    words = subprocess.run(tantieme, capture_output=True, text=True, env=env, check=True).stdout.split()
    assert words == ["register", "list", "default", "price"]
    env.update(COMP_WORDS="tantieme register essay.md --terms n", COMP_CWORD="4")
    assert subprocess.run(tantieme, capture_output=True, text=True, env=env, check=True).stdout.split() == [
        "non-commercial", "no-ai"
    ]
    assert "--install-completion" in run("--help").output


def test_usage_error__one_line_and_json():
    result = run("show", "--nope", ok=False)
    assert result.exit_code == 2
    assert result.stderr == "error: No such option: --nope (see `tantieme show --help`)\n"
    assert json.loads(run("show", "--nope", "--json", ok=False).stdout) == {
        "error": "No such option: --nope (see `tantieme show --help`)", "kind": "UsageError"
    }


def test_unexpected_error__one_line_saying_it_is_a_bug(monkeypatch):
    from tantieme.cli import output

    monkeypatch.delenv("TANTIEME_DEBUG")
    monkeypatch.setattr(output, "to_json", lambda *_a, **_k: 1 / 0)
    result = run("model", "list", "--json", ok=False)
    assert result.exit_code == 70
    assert json.loads(result.stdout)["kind"] == "InternalError"
    assert "Traceback" not in result.output


# ---------------------------------------------------------------- JSON rules --

def test_json__amounts_are_strings_and_no_number_beyond_2_53():
    from tantieme.jsonsafe import to_json

    assert to_json({"balance": 9999945730000000000000, "fee": 5, "id": 3, "gas": 21000, "token_id": 2**200}) == {
        "balance": "9999945730000000000000", "fee": "5", "id": 3, "gas": "21000", "token_id": str(2**200)
    }
    assert to_json({"owed": {7: 10**20}, "big": 2**53, "small": 2**53 - 1, "ok": True, "h": b"\x01"}) == {
        "owed": {"7": str(10**20)}, "big": str(2**53), "small": 2**53 - 1, "ok": True, "h": "0x01"
    }


# ----------------------------------------------------------------- documents --

def test_register__title_from_the_document(initialised, tmp_path):
    essay = tmp_path / "essay.md"
    essay.write_text("# Bees Above the Tram Depot\n\nFour hives.\n")
    asset = run_json("register", str(essay), "--terms", "non-commercial")
    assert asset["title"] == "Bees Above the Tram Depot"
    assert asset["media_type"] == "text/markdown"
    notes = tmp_path / "notes.md"
    notes.write_text("# Heading\n\nx")
    assert run_json("register", str(notes), "--title", "Mine")["title"] == "Mine"


def test_register__jsonl_dataset_is_read_and_typed(initialised, tmp_path):
    data = tmp_path / "answers.jsonl"
    data.write_text('{"question": "How many hives?", "answer": "Four"}\n')
    asset = run_json("register", str(data), "--kind", "dataset", "--terms", "training-data")
    assert asset["media_type"] == "application/jsonl"
    assert asset["title"] == "answers"


def test_register__binary_file_with_ai_consent__refused_without__registered(initialised, tmp_path):
    photo = tmp_path / "photo.png"
    photo.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8)
    refused = run("register", str(photo), "--terms", "open", ok=False)
    assert "cannot be registered with AI consent" in refused.stderr and "--terms no-ai" in refused.stderr
    assert run("register", str(photo), "--terms", "private", "--ai", "training", ok=False).exit_code == 1
    assert run_json("assets") == []
    asset = run_json("register", str(photo), "--terms", "no-ai")
    assert not any(asset["terms"][f"ai_{use}"] for use in ("training", "fine_tuning", "retrieval", "output_commercial"))
    assert asset["media_type"] == "image/png"


# -------------------------------------------------------- money, one unit each --

def test_royalty__percent_in_and_out(initialised, tmp_path):
    work = tmp_path / "w.md"
    work.write_text("x")
    asset = run_json("register", str(work), "--terms", "open", "--royalty", "12.25")
    assert asset["terms"]["royalty_percent"] == 12.25
    assert "royalty_bps" not in asset["terms"]
    assert "12.25 % of derivatives' revenue" in run("show", "1").output
    assert "12.25 %" in run("assets").output


def test_balance_and_transfer(initialised):
    friend = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
    mine = run_json("balance")
    assert mine["balance"] == str(10_000 * 10**18)
    sent = run_json("transfer", friend, "2.5")
    assert sent["amount"] == str(25 * 10**17) and sent["tx"].startswith("0x")
    assert run_json("balance", friend)["balance"] == str(25 * 10**17)
    assert run_json("balance")["balance"] == str(10_000 * 10**18 - 25 * 10**17)
    assert "9997.5 TAI" in run("balance").output
    short = run("transfer", friend, "99999", ok=False)
    assert "not enough AI tokens: 9997.5 held, 99999 needed" in short.stderr


@pytest.mark.parametrize("bad", ["1e3", "nan", "inf", "1_000", "-5", "0.0000000000000000001"])
def test_amounts__anything_but_plain_decimals__clear_error(initialised, bad):
    result = run("faucet", "--", bad, ok=False)
    assert result.stderr.startswith("error: ") and ("plain decimal" in result.stderr or "decimals" in result.stderr)


def test_json__every_chain_command_follows_the_rules(tmp_path, json_rules):
    """The commands that need no model, in the order a user meets them (`ask` and the ledger's
    settled records are checked by the README walkthrough, on the real model)."""
    work = tmp_path / "w.md"
    work.write_text("# Roof Bees\n\nFour hives.")
    remix = tmp_path / "r.md"
    remix.write_text("# Roof Bees, Again\n\nStill four hives.")
    friend = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
    for args in (
        ["init"], ["register", str(work), "--terms", "open", "--fee", "2"], ["assets"], ["show", "1"],
        ["license", "mint", "1"], ["register", str(remix), "--terms", "open", "--parent", "1"], ["pay", "2", "10"],
        ["royalties"], ["claim"], ["balance"], ["balance", friend], ["transfer", friend, "1.5"], ["faucet", "3"],
        ["chain", "status"], ["consent", "1", "--revoke", "training"], ["history"], ["settle"], ["model", "list"],
    ):
        json_rules(run_json(*args))


def test_executable__output_whole_and_the_command_exit_code(tmp_path):
    """The `tantieme` executable ends its process without tearing the interpreter down: what the
    command printed still arrives whole, and the exit code is the command's."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    exe = str(Path(sys.executable).parent / "tantieme")
    env = {**os.environ, "TANTIEME_HOME": str(tmp_path / "home"), "COLUMNS": "100"}
    shown = subprocess.run([exe, "--help"], capture_output=True, text=True, env=env)
    assert shown.returncode == 0
    assert shown.stdout.rstrip().endswith("╯") and "quickstart" in shown.stdout
    failed = subprocess.run([exe, "nosuch", "--json"], capture_output=True, text=True, env=env)
    assert failed.returncode == 2 and json.loads(failed.stdout)["kind"] == "UsageError"
    unset = subprocess.run([exe, "balance", "--json"], capture_output=True, text=True, env=env)
    assert unset.returncode == 1 and "tantieme init" in json.loads(unset.stdout)["error"]
