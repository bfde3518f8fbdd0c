# pragma version ~=0.4.3
"""
@title metadata_json test harness
@notice Exposes the `metadata_json` module's helpers for the tests.
"""

from tantieme.contracts import metadata_json


@external
@pure
def escape(text: String[metadata_json.MAX_ESCAPE_INPUT]) -> String[metadata_json.MAX_ESCAPED]:
    return metadata_json._escape(text)


@external
@pure
def hex32(word: bytes32) -> String[66]:
    return metadata_json._hex32(word)


@external
@pure
def address_text(account: address) -> String[42]:
    return metadata_json._address(account)


@external
@pure
def bool_text(flag: bool) -> String[5]:
    return metadata_json._bool(flag)


@external
@pure
def data_uri(json: String[metadata_json.MAX_JSON]) -> String[metadata_json.MAX_DATA_URI]:
    return metadata_json._data_uri(json)


@external
@pure
def uint_list(numbers: DynArray[uint256, metadata_json.MAX_LIST]) -> String[metadata_json.MAX_LIST_TEXT]:
    return metadata_json._uint_list(numbers)
