# pragma version ~=0.4.3
# pragma nonreentrancy off
"""
@title JSON metadata helpers
@custom:contract-name metadata_json
@license GNU Affero General Public License v3.0 only
@notice Stateless helpers that render ERC-721 metadata on chain, so that
        `tokenURI` answers a `data:application/json;base64,...` URI any
        wallet, marketplace or indexer can read without our servers:
        - `_escape`: a JSON string body (RFC 8259: quote and backslash
          escaped, control characters as backslash-u-00XX; other bytes,
          UTF-8 included, pass through),
        - `_hex32`, `_address`: `0x`-prefixed lowercase hexadecimal,
        - `_bool`: `true` or `false`,
        - `_uint_list`: a JSON array of decimal numbers,
        - `_data_uri`: JSON text as a base64 (RFC 4648, padded) data URI.
        Numbers need no helper: the `uint2str` built-in writes decimals
        (quote amounts above 2**53, which JavaScript cannot hold).

        Text is built in a buffer of 32-byte words (`uint256[N]`) filled
        byte by byte and cut to length once, because Vyper has no growable
        byte string; snekmate's `base64` returns one 4-character string per
        group and takes at most 1,024 bytes, too little for a document.
@custom:security Pure functions; bounds are checked by the types (an input
                 longer than a bound does not compile or reverts on
                 conversion).
"""


# @dev Longest text `_escape` takes, in bytes (URIs are at most 256).
MAX_ESCAPE_INPUT: constant(uint256) = 256


# @dev Longest escaped text: six bytes (a `u00XX` escape) per input byte.
MAX_ESCAPED: constant(uint256) = 6 * MAX_ESCAPE_INPUT


# @dev Most numbers in a `_uint_list`.
MAX_LIST: constant(uint256) = 16


# @dev Longest `_uint_list`: brackets, 78 digits and a comma per number.
MAX_LIST_TEXT: constant(uint256) = 2 + MAX_LIST * 79


# @dev Longest JSON document `_data_uri` takes, in bytes.
MAX_JSON: constant(uint256) = 7_680


# @dev Its base64 length: four characters per three bytes.
MAX_BASE64: constant(uint256) = MAX_JSON // 3 * 4


# @dev The data URI prefix of a base64 JSON document.
_DATA_URI_PREFIX: constant(String[29]) = "data:application/json;base64,"


# @dev Longest data URI `_data_uri` returns.
MAX_DATA_URI: constant(uint256) = 29 + MAX_BASE64


@internal
@pure
def _escape(text: String[MAX_ESCAPE_INPUT]) -> String[MAX_ESCAPED]:
    """
    @dev The body of a JSON string holding `text` (without the quotes).
    @param text The text, at most 256 bytes.
    @return String The escaped text.
    """
    length: uint256 = len(text)
    raw: Bytes[MAX_ESCAPE_INPUT + 32] = concat(convert(text, Bytes[MAX_ESCAPE_INPUT]), empty(bytes32))
    words: uint256[MAX_ESCAPED // 32] = empty(uint256[MAX_ESCAPED // 32])
    pos: uint256 = 0
    for i: uint256 in range(MAX_ESCAPE_INPUT):
        if i == length:
            break
        char: uint256 = convert(extract32(raw, i), uint256) >> 248
        # The bytes to write, big-endian, and how many.
        out: uint256 = char
        count: uint256 = 1
        if char == 34 or char == 92:
            # A backslash before the quote or backslash.
            out = (92 << 8) | char
            count = 2
        elif char < 32:
            # Backslash, `u00` and two hexadecimal digits.
            out = (
                (92 << 40)
                | (117 << 32)
                | (48 << 24)
                | (48 << 16)
                | (self._hex_digit(char >> 4) << 8)
                | self._hex_digit(char & 15)
            )
            count = 6
        for k: uint256 in range(6):
            if k == count:
                break
            byte: uint256 = (out >> (8 * (count - 1 - k))) & 255
            words[pos // 32] |= byte << (248 - 8 * (pos % 32))
            pos += 1
    return convert(slice(abi_encode(words), 0, pos), String[MAX_ESCAPED])


@internal
@pure
def _hex32(word: bytes32) -> String[66]:
    """
    @dev `0x` and the 64 lowercase hexadecimal digits of `word`.
    @param word The 32 bytes.
    @return String The hexadecimal text.
    """
    number: uint256 = convert(word, uint256)
    high: uint256 = 0
    low: uint256 = 0
    for i: uint256 in range(32):
        # Digit i of each half, most significant first.
        high |= self._hex_digit((number >> (252 - 4 * i)) & 15) << (248 - 8 * i)
        low |= self._hex_digit((number >> (124 - 4 * i)) & 15) << (248 - 8 * i)
    return concat("0x", convert(abi_encode(high, low), String[64]))


@internal
@pure
def _address(account: address) -> String[42]:
    """
    @dev `0x` and the 40 lowercase hexadecimal digits of `account`.
    @param account The address.
    @return String The hexadecimal text.
    """
    digits: String[66] = self._hex32(convert(account, bytes32))
    return concat("0x", slice(digits, 26, 40))


@internal
@pure
def _bool(flag: bool) -> String[5]:
    """
    @dev The JSON literal of a boolean.
    @param flag The boolean.
    @return String `true` or `false`.
    """
    if flag:
        return "true"
    return "false"


@internal
@pure
def _uint_list(numbers: DynArray[uint256, MAX_LIST]) -> String[MAX_LIST_TEXT]:
    """
    @dev The JSON array of `numbers` in decimal, e.g. `[1,20,300]`.
    @param numbers At most 16 numbers.
    @return String The array.
    """
    words: uint256[MAX_LIST_TEXT // 32 + 1] = empty(uint256[MAX_LIST_TEXT // 32 + 1])
    words[0] = 91 << 248
    pos: uint256 = 1
    for i: uint256 in range(len(numbers), bound=MAX_LIST):
        if i != 0:
            words[pos // 32] |= 44 << (248 - 8 * (pos % 32))
            pos += 1
        number: uint256 = numbers[i]
        digits: uint256 = 1
        rest: uint256 = number // 10
        for _: uint256 in range(77):
            if rest == 0:
                break
            rest //= 10
            digits += 1
        # Digits from the last one back.
        for k: uint256 in range(78):
            if k == digits:
                break
            at: uint256 = pos + digits - 1 - k
            words[at // 32] |= (48 + number % 10) << (248 - 8 * (at % 32))
            number //= 10
        pos += digits
    words[pos // 32] |= 93 << (248 - 8 * (pos % 32))
    return convert(slice(abi_encode(words), 0, pos + 1), String[MAX_LIST_TEXT])


@internal
@pure
def _data_uri(json: String[MAX_JSON]) -> String[MAX_DATA_URI]:
    """
    @dev `data:application/json;base64,` and the padded base64 of `json`.
    @param json The JSON document, at most 7,680 bytes.
    @return String The data URI.
    """
    length: uint256 = len(json)
    raw: Bytes[MAX_JSON + 32] = concat(convert(json, Bytes[MAX_JSON]), empty(bytes32))
    words: uint256[MAX_BASE64 // 32] = empty(uint256[MAX_BASE64 // 32])
    pos: uint256 = 0
    for group: uint256 in range(MAX_JSON // 3):
        if 3 * group >= length:
            break
        # Three input bytes (zeros past the end) as 24 bits.
        bits: uint256 = convert(extract32(raw, 3 * group), uint256) >> 232
        chars: uint256 = 0
        for k: uint256 in range(4):
            chars = (chars << 8) | self._base64_char((bits >> (18 - 6 * k)) & 63)
        # Four characters start at a multiple of 4, so they stay in one word.
        words[pos // 32] |= chars << (224 - 8 * (pos % 32))
        pos += 4
    # One or two input bytes in the last group: one or two `=` at the end.
    padding: uint256 = (3 - length % 3) % 3
    for k: uint256 in range(2):
        if k == padding:
            break
        at: uint256 = pos - 1 - k
        offset: uint256 = 248 - 8 * (at % 32)
        words[at // 32] = (words[at // 32] & ~(255 << offset)) | (61 << offset)
    return concat(_DATA_URI_PREFIX, convert(slice(abi_encode(words), 0, pos), String[MAX_BASE64]))


@internal
@pure
def _hex_digit(nibble: uint256) -> uint256:
    """
    @dev The ASCII code of a lowercase hexadecimal digit.
    @param nibble A value below 16.
    @return uint256 `0`-`9` or `a`-`f`.
    """
    if nibble < 10:
        return 48 + nibble
    return 87 + nibble


@internal
@pure
def _base64_char(sextet: uint256) -> uint256:
    """
    @dev The ASCII code of a base64 digit (RFC 4648 standard alphabet).
    @param sextet A value below 64.
    @return uint256 `A`-`Z`, `a`-`z`, `0`-`9`, `+` or `/`.
    """
    if sextet < 26:
        return 65 + sextet
    if sextet < 52:
        return 71 + sextet
    if sextet < 62:
        return sextet - 4
    if sextet == 62:
        return 43
    return 47
