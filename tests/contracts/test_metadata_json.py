"""`metadata_json.vy`: the JSON, hex and base64 helpers behind on-chain
`tokenURI`s, checked against Python's own encoders."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import boa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from .conftest import FUZZ

MOCK = Path(__file__).resolve().parent / "mocks" / "metadata_json_mock.vy"

PREFIX = "data:application/json;base64,"


@pytest.fixture(scope="module")
def helpers():
    return boa.load(str(MOCK))


def json_body(text: str) -> str:
    """What belongs between the quotes of a JSON string holding `text`."""
    return json.dumps(text, ensure_ascii=False)[1:-1]


def test_escape__quotes_backslashes_and_control_characters(helpers):
    assert helpers.escape('say "hi"\\ \n\t\x00\x1f\x7f é') == 'say \\"hi\\"\\\\ \\u000a\\u0009\\u0000\\u001f\x7f é'


def test_escape__longest_input_all_control_characters(helpers):
    text = "\x01" * 256
    assert helpers.escape(text) == "\\u0001" * 256
    assert json.loads('"' + helpers.escape(text) + '"') == text


@FUZZ
@given(text=st.text(max_size=80).filter(lambda t: len(t.encode()) <= 256))
def test_escape__decodes_back_to_the_text(helpers, text):
    escaped = helpers.escape(text)
    assert json.loads('"' + escaped + '"') == text


def test_hex32_and_address(helpers):
    word = bytes(range(32))
    assert helpers.hex32(word) == "0x" + word.hex()
    account = "0x00000000000000000000000000000000000000aB"
    assert helpers.address_text(account) == account.lower()
    assert helpers.address_text("0x" + "ff" * 20) == "0x" + "ff" * 20


def test_bool(helpers):
    assert (helpers.bool_text(True), helpers.bool_text(False)) == ("true", "false")


@pytest.mark.parametrize("numbers", [[], [0], [7, 10, 2**53 - 1], [2**256 - 1] * 16, list(range(16))])
def test_uint_list(helpers, numbers):
    assert json.loads(helpers.uint_list(numbers)) == numbers
    assert helpers.uint_list(numbers) == json.dumps(numbers, separators=(",", ":"))


@FUZZ
@given(numbers=st.lists(st.integers(min_value=0, max_value=2**256 - 1), max_size=16))
def test_uint_list__fuzz(helpers, numbers):
    assert json.loads(helpers.uint_list(numbers)) == numbers


@pytest.mark.parametrize("length", [0, 1, 2, 3, 4, 5, 6, 95, 96, 97, 7_679, 7_680])
def test_data_uri__every_padding_and_the_bound(helpers, length):
    text = ("{}" + "abcdefghij" * 800)[:length]
    uri = helpers.data_uri(text)
    assert uri == PREFIX + base64.b64encode(text.encode()).decode()


@FUZZ
@given(text=st.text(max_size=300))
def test_data_uri__is_python_base64(helpers, text):
    assert helpers.data_uri(text) == PREFIX + base64.b64encode(text.encode()).decode()


def test_data_uri__over_the_bound_does_not_encode(helpers):
    with pytest.raises(Exception):  # the ABI bound of the harness refuses it
        helpers.data_uri("x" * 7_681)
