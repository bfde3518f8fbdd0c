"""AIToken: ERC-20 (snekmate) + EIP-2612 + EIP-3009, signed by eth-account
keys and by ERC-1271 contract wallets; minting on local chains only.

Signatures come from eth-account's `sign_typed_data`, an implementation
independent of the contract, so passing tests prove the EIP-712 encoding
interoperates with wallets and x402 clients. The contract wallet is a small
test mock (`mocks/erc1271_wallet.vy`) whose owners sign with eth-account.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import boa
import pytest
from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils import function_signature_to_4byte_selector as selector
from eth_utils import keccak
from hypothesis import given
from hypothesis import strategies as st

from .conftest import (
    FUZZ,
    LOCAL_CHAIN_ID,
    ONE_TOKEN,
    PUBLIC_CHAIN_ID,
    TOKEN_NAME,
    TOKEN_SYMBOL,
    TOKEN_VERSION,
    Signer,
    events,
    fresh_state,
)

WALLET = Path(__file__).resolve().parent / "mocks" / "erc1271_wallet.vy"
MAX_SUPPLY = 2**128
ANVIL_CHAIN_ID = 31_337
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141

TYPES = {
    "TransferWithAuthorization": [
        {"name": "from", "type": "address"},
        {"name": "to", "type": "address"},
        {"name": "value", "type": "uint256"},
        {"name": "validAfter", "type": "uint256"},
        {"name": "validBefore", "type": "uint256"},
        {"name": "nonce", "type": "bytes32"},
    ],
    "CancelAuthorization": [
        {"name": "authorizer", "type": "address"},
        {"name": "nonce", "type": "bytes32"},
    ],
    "Permit": [
        {"name": "owner", "type": "address"},
        {"name": "spender", "type": "address"},
        {"name": "value", "type": "uint256"},
        {"name": "nonce", "type": "uint256"},
        {"name": "deadline", "type": "uint256"},
    ],
}
TYPES["ReceiveWithAuthorization"] = TYPES["TransferWithAuthorization"]

TRANSFER = "TransferWithAuthorization"
RECEIVE = "ReceiveWithAuthorization"
CANCEL = "CancelAuthorization"

AUTH_ARGS = "address,address,uint256,uint256,uint256,bytes32,bytes"
TRANSFER_BYTES = selector(f"transferWithAuthorization({AUTH_ARGS})")
RECEIVE_BYTES = selector(f"receiveWithAuthorization({AUTH_ARGS})")
CANCEL_BYTES = selector("cancelAuthorization(address,bytes32,bytes)")
PERMIT_BYTES = selector("permit(address,address,uint256,uint256,bytes)")
BYTES_TYPES = {
    TRANSFER_BYTES: AUTH_ARGS.split(","),
    RECEIVE_BYTES: AUTH_ARGS.split(","),
    CANCEL_BYTES: ["address", "bytes32", "bytes"],
    PERMIT_BYTES: ["address", "address", "uint256", "uint256", "bytes"],
}


# ---------------------------------------------------------------- helpers --


class Signature(NamedTuple):
    v: int
    r: bytes
    s: bytes
    raw: bytes  # r ‖ s ‖ v, for the `bytes signature` overloads


def domain(token, chain_id: int | None = None) -> dict:
    return {
        "name": TOKEN_NAME,
        "version": TOKEN_VERSION,
        "chainId": boa.env.evm.patch.chain_id if chain_id is None else chain_id,
        "verifyingContract": token.address,
    }


def sign(signer: Signer, token, primary: str, message: dict, chain_id: int | None = None):
    """An EIP-712 signature made by eth-account."""
    signed = Account.sign_typed_data(
        signer.key, domain(token, chain_id), {primary: TYPES[primary]}, message
    )
    r, s = signed.r.to_bytes(32, "big"), signed.s.to_bytes(32, "big")
    return Signature(signed.v, r, s, bytes(signed.signature))


def signer_from(seed: bytes) -> Signer:
    account = Account.from_key(keccak(seed))
    return Signer(account.address, account.key)


def nonce_of(label: str) -> bytes:
    return keccak(label.encode())


def authorization(payer: Signer, to: str, value: int, *, after: int | None = None,
                  before: int | None = None, nonce: bytes = b"") -> dict:
    """An EIP-3009 message, valid from a second ago for an hour by default."""
    now = boa.env.timestamp
    return {
        "from": payer.address,
        "to": to,
        "value": value,
        "validAfter": now - 1 if after is None else after,
        "validBefore": now + 3_600 if before is None else before,
        "nonce": nonce or nonce_of("n1"),
    }


def fields(message: dict) -> tuple:
    return tuple(message[k] for k in ("from", "to", "value", "validAfter", "validBefore", "nonce"))


def submit(token, function: str, message: dict, sig: Signature, sender: str):
    """Call `transferWithAuthorization` or `receiveWithAuthorization`."""
    return getattr(token, function)(*fields(message), sig.v, sig.r, sig.s, sender=sender)


def cancel(token, authorizer: str, nonce: bytes, sig: Signature, sender: str):
    return token.cancelAuthorization(authorizer, nonce, sig.v, sig.r, sig.s, sender=sender)


def call_bytes_overload(token, fn_selector: bytes, args: tuple, signature: bytes, sender: str):
    """Call a USDC v2.2 `bytes signature` overload by raw calldata."""
    data = fn_selector + abi_encode(BYTES_TYPES[fn_selector], [*args, signature])
    return boa.env.raw_call(token.address, sender=sender, data=data)


def revert_reason(error: Exception) -> str:
    """The Error(string) reason of a raw-call revert."""
    data = error.args[0]
    assert data[:4] == selector("Error(string)")
    return abi_decode(["string"], data[4:])[0]


@pytest.fixture
def funded_payer(token, payer, deployer) -> Signer:
    token.mint(payer.address, 100 * ONE_TOKEN, sender=deployer)
    return payer


# -------------------------------------------------------------- metadata --


def test_metadata(token, deployer):
    assert (token.name(), token.symbol(), token.decimals()) == (TOKEN_NAME, TOKEN_SYMBOL, 18)
    assert token.version() == TOKEN_VERSION
    assert token.totalSupply() == 0
    assert token.owner() == deployer
    assert token.is_minter(deployer)


def test_eip712_domain__matches_eth_account(token):
    bits, name, version, chain_id, contract, _, _ = token.eip712Domain()
    assert (bits, name, version, chain_id) == (b"\x0f", TOKEN_NAME, TOKEN_VERSION, LOCAL_CHAIN_ID)
    assert contract == token.address
    message = {"authorizer": token.address, "nonce": b"\x00" * 32}
    signable = encode_typed_data(domain(token), {CANCEL: TYPES[CANCEL]}, message)
    assert token.DOMAIN_SEPARATOR() == signable.header


def test_typehashes(token):
    auth = (
        "(address from,address to,uint256 value,uint256 validAfter,uint256 validBefore,"
        "bytes32 nonce)"
    )
    assert token.TRANSFER_WITH_AUTHORIZATION_TYPEHASH() == keccak(text=TRANSFER + auth)
    assert token.RECEIVE_WITH_AUTHORIZATION_TYPEHASH() == keccak(text=RECEIVE + auth)
    assert token.CANCEL_AUTHORIZATION_TYPEHASH() == keccak(
        text="CancelAuthorization(address authorizer,bytes32 nonce)"
    )
    assert token.PERMIT_TYPEHASH() == keccak(
        text="Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)"
    )


# ---------------------------------------------------------------- minting --


def test_initial_supply__goes_to_the_deployer(token_deployer, deployer):
    with boa.env.prank(deployer):
        token = token_deployer.deploy(TOKEN_NAME, TOKEN_SYMBOL, TOKEN_NAME, TOKEN_VERSION, 7 * ONE_TOKEN)
    assert token.balanceOf(deployer) == token.totalSupply() == 7 * ONE_TOKEN


def test_initial_supply__above_the_cap__reverts(token_deployer, deployer):
    with boa.env.prank(deployer), boa.reverts("ai_token: supply cap exceeded"):
        token_deployer.deploy(TOKEN_NAME, TOKEN_SYMBOL, TOKEN_NAME, TOKEN_VERSION, MAX_SUPPLY + 1)


def test_mint__by_minter(token, deployer, asker):
    token.mint(asker, 5 * ONE_TOKEN, sender=deployer)
    assert token.balanceOf(asker) == token.totalSupply() == 5 * ONE_TOKEN


@pytest.mark.parametrize("chain_id", [LOCAL_CHAIN_ID, ANVIL_CHAIN_ID])
def test_mint__on_local_chains(token, deployer, asker, chain_id):
    boa.env.evm.patch.chain_id = chain_id  # the anchor restores it
    token.mint(asker, 5, sender=deployer)
    assert token.balanceOf(asker) == 5


@pytest.mark.parametrize("chain_id", [1, PUBLIC_CHAIN_ID, LOCAL_CHAIN_ID + 1, ANVIL_CHAIN_ID - 1])
def test_mint__on_any_other_chain__reverts_even_for_the_owner(token, deployer, operator, asker, chain_id):
    token.set_minter(operator, True, sender=deployer)
    boa.env.evm.patch.chain_id = chain_id
    for minter in (deployer, operator):
        with boa.reverts("ai_token: minting only on local chains"):
            token.mint(asker, 1, sender=minter)
    assert token.totalSupply() == 0


def test_mint__beyond_the_cap__reverts(token, deployer, asker):
    token.mint(asker, MAX_SUPPLY, sender=deployer)
    with boa.reverts("ai_token: supply cap exceeded"):
        token.mint(asker, 1, sender=deployer)
    assert token.totalSupply() == MAX_SUPPLY
    assert token.MAX_SUPPLY() == MAX_SUPPLY


def test_mint__by_non_minter__reverts(token, asker):
    with boa.reverts("erc20: access is denied"):
        token.mint(asker, 1, sender=asker)


def test_set_minter__faucet_can_mint(token, deployer, operator, asker):
    token.set_minter(operator, True, sender=deployer)
    token.mint(asker, 7, sender=operator)
    assert token.balanceOf(asker) == 7


def test_set_minter__by_non_owner__reverts(token, operator):
    with boa.reverts("ownable: caller is not the owner"):
        token.set_minter(operator, True, sender=operator)


# ----------------------------------------------------------------- permit --


def permit_message(payer: Signer, spender: str) -> dict:
    deadline = boa.env.timestamp + 60
    return {"owner": payer.address, "spender": spender, "value": 3, "nonce": 0,
            "deadline": deadline}


def test_permit__signed_by_eth_account(token, funded_payer, operator):
    message = permit_message(funded_payer, operator)
    sig = sign(funded_payer, token, "Permit", message)
    token.permit(funded_payer.address, operator, 3, message["deadline"], *sig[:3], sender=operator)
    assert token.allowance(funded_payer.address, operator) == 3
    assert token.nonces(funded_payer.address) == 1


def test_permit__replayed__reverts(token, funded_payer, operator):
    message = permit_message(funded_payer, operator)
    sig = sign(funded_payer, token, "Permit", message)
    args = (funded_payer.address, operator, 3, message["deadline"], *sig[:3])
    token.permit(*args, sender=operator)
    with boa.reverts("ai_token: invalid signature"):
        token.permit(*args, sender=operator)


def test_permit__expired__reverts(token, funded_payer, operator):
    message = permit_message(funded_payer, operator)
    sig = sign(funded_payer, token, "Permit", message)
    boa.env.time_travel(seconds=61)
    with boa.reverts("ai_token: permit is expired"):
        token.permit(funded_payer.address, operator, 3, message["deadline"], *sig[:3], sender=operator)
    assert token.nonces(funded_payer.address) == 0


def test_permit__someone_else_signed__reverts(token, funded_payer, operator):
    message = permit_message(funded_payer, operator)
    sig = sign(signer_from(b"impostor"), token, "Permit", message)
    with boa.reverts("ai_token: invalid signature"):
        token.permit(funded_payer.address, operator, 3, message["deadline"], *sig[:3], sender=operator)


def test_permit__high_s__reverts(token, funded_payer, operator):
    message = permit_message(funded_payer, operator)
    sig = sign(funded_payer, token, "Permit", message)
    high_s = (SECP256K1_N - int.from_bytes(sig.s, "big")).to_bytes(32, "big")
    with boa.reverts("ecdsa: invalid signature `s` value"):
        token.permit(funded_payer.address, operator, 3, message["deadline"], 55 - sig.v, sig.r, high_s,
                     sender=operator)


def test_permit_bytes(token, funded_payer, operator):
    message = permit_message(funded_payer, operator)
    raw = sign(funded_payer, token, "Permit", message).raw
    args = (funded_payer.address, operator, 3, message["deadline"])
    call_bytes_overload(token, PERMIT_BYTES, args, raw, operator)
    assert token.allowance(funded_payer.address, operator) == 3
    with pytest.raises(Exception) as replay:
        call_bytes_overload(token, PERMIT_BYTES, args, raw, operator)
    assert revert_reason(replay.value) == "ai_token: invalid signature"


# ------------------------------------------------ transferWithAuthorization --


def test_transfer_with_authorization(token, funded_payer, operator, asker):
    message = authorization(funded_payer, asker, 2 * ONE_TOKEN)
    sig = sign(funded_payer, token, TRANSFER, message)

    submit(token, "transferWithAuthorization", message, sig, operator)
    used, transfer = token.get_logs()

    assert type(used).__name__ == "AuthorizationUsed"  # before Transfer, as USDC
    assert (used.authorizer, used.nonce) == (funded_payer.address, message["nonce"])
    assert (transfer.sender, transfer.receiver, transfer.value) == (
        funded_payer.address, asker, 2 * ONE_TOKEN)
    assert token.balanceOf(asker) == 2 * ONE_TOKEN
    assert token.balanceOf(funded_payer.address) == 98 * ONE_TOKEN
    assert token.authorizationState(funded_payer.address, message["nonce"])


def test_transfer_with_authorization__replayed__reverts(token, funded_payer, operator, asker):
    message = authorization(funded_payer, asker, ONE_TOKEN)
    sig = sign(funded_payer, token, TRANSFER, message)
    submit(token, "transferWithAuthorization", message, sig, operator)
    with boa.reverts("ai_token: authorization is used or canceled"):
        submit(token, "transferWithAuthorization", message, sig, operator)


def test_transfer_with_authorization__distinct_nonces(token, funded_payer, operator, asker):
    for label in ("a", "b", "c"):
        message = authorization(funded_payer, asker, ONE_TOKEN, nonce=nonce_of(label))
        sig = sign(funded_payer, token, TRANSFER, message)
        submit(token, "transferWithAuthorization", message, sig, operator)
    assert token.balanceOf(asker) == 3 * ONE_TOKEN
    assert not token.authorizationState(funded_payer.address, nonce_of("d"))


def test_transfer_with_authorization__not_yet_valid__reverts(token, funded_payer, operator, asker):
    message = authorization(funded_payer, asker, ONE_TOKEN, after=boa.env.timestamp)
    sig = sign(funded_payer, token, TRANSFER, message)
    with boa.reverts("ai_token: authorization is not yet valid"):  # strictly after
        submit(token, "transferWithAuthorization", message, sig, operator)
    boa.env.time_travel(seconds=1)
    submit(token, "transferWithAuthorization", message, sig, operator)
    assert token.balanceOf(asker) == ONE_TOKEN


def test_transfer_with_authorization__expired__reverts(token, funded_payer, operator, asker):
    message = authorization(funded_payer, asker, ONE_TOKEN, before=boa.env.timestamp + 10)
    sig = sign(funded_payer, token, TRANSFER, message)
    boa.env.time_travel(seconds=10)
    with boa.reverts("ai_token: authorization is expired"):  # strictly before
        submit(token, "transferWithAuthorization", message, sig, operator)


def test_transfer_with_authorization__tampered_value__reverts(token, funded_payer, operator, asker):
    message = authorization(funded_payer, asker, ONE_TOKEN)
    sig = sign(funded_payer, token, TRANSFER, message)
    tampered = dict(message, value=2 * ONE_TOKEN)
    with boa.reverts("ai_token: invalid signature"):
        submit(token, "transferWithAuthorization", tampered, sig, operator)


def test_transfer_with_authorization__someone_else_signed__reverts(token, funded_payer, operator,
                                                                    asker):
    message = authorization(funded_payer, asker, ONE_TOKEN)
    sig = sign(signer_from(b"impostor"), token, TRANSFER, message)
    with boa.reverts("ai_token: invalid signature"):
        submit(token, "transferWithAuthorization", message, sig, operator)


def test_transfer_with_authorization__high_s__reverts(token, funded_payer, operator, asker):
    message = authorization(funded_payer, asker, ONE_TOKEN)
    sig = sign(funded_payer, token, TRANSFER, message)
    # The mirrored signature (s' = n - s, v flipped) still recovers the
    # payer through `ecrecover`, but is the malleable twin.
    high_s = (SECP256K1_N - int.from_bytes(sig.s, "big")).to_bytes(32, "big")
    twin = Signature(55 - sig.v, sig.r, high_s, b"")
    with boa.reverts("ecdsa: invalid signature `s` value"):
        submit(token, "transferWithAuthorization", message, twin, operator)


def test_transfer_with_authorization__other_deployment__reverts(token_deployer, token, funded_payer,
                                                                 deployer, operator, asker):
    with boa.env.prank(deployer):
        twin = token_deployer.deploy(TOKEN_NAME, TOKEN_SYMBOL, TOKEN_NAME, TOKEN_VERSION, 0)
    twin.mint(funded_payer.address, 100 * ONE_TOKEN, sender=deployer)
    message = authorization(funded_payer, asker, ONE_TOKEN)
    sig = sign(funded_payer, token, TRANSFER, message)
    with boa.reverts("ai_token: invalid signature"):
        submit(twin, "transferWithAuthorization", message, sig, operator)
    submit(token, "transferWithAuthorization", message, sig, operator)  # good where signed


def test_transfer_with_authorization__other_chain__reverts(token, funded_payer, operator, asker):
    message = authorization(funded_payer, asker, ONE_TOKEN)
    sig = sign(funded_payer, token, TRANSFER, message)
    original = boa.env.evm.patch.chain_id
    boa.env.evm.patch.chain_id = original + 10
    try:
        with boa.reverts("ai_token: invalid signature"):
            submit(token, "transferWithAuthorization", message, sig, operator)
        # The domain follows the chain id: a signature for this chain works.
        assert token.eip712Domain()[3] == original + 10
        here = sign(funded_payer, token, TRANSFER, message, chain_id=original + 10)
        submit(token, "transferWithAuthorization", message, here, operator)
    finally:
        boa.env.evm.patch.chain_id = original
    assert token.balanceOf(asker) == ONE_TOKEN


def test_transfer_with_authorization__beyond_balance__reverts_keeping_nonce(token, funded_payer,
                                                                             operator, asker):
    message = authorization(funded_payer, asker, 101 * ONE_TOKEN)
    sig = sign(funded_payer, token, TRANSFER, message)
    with boa.reverts("erc20: transfer amount exceeds balance"):
        submit(token, "transferWithAuthorization", message, sig, operator)
    assert not token.authorizationState(funded_payer.address, message["nonce"])


def test_transfer_with_authorization__receive_signature__reverts(token, funded_payer, operator,
                                                                  asker):
    message = authorization(funded_payer, asker, ONE_TOKEN)
    sig = sign(funded_payer, token, RECEIVE, message)
    with boa.reverts("ai_token: invalid signature"):
        submit(token, "transferWithAuthorization", message, sig, operator)


# ------------------------------------------------- receiveWithAuthorization --


def test_receive_with_authorization__by_payee(token, funded_payer, asker):
    message = authorization(funded_payer, asker, ONE_TOKEN)
    sig = sign(funded_payer, token, RECEIVE, message)
    submit(token, "receiveWithAuthorization", message, sig, asker)
    assert token.balanceOf(asker) == ONE_TOKEN
    assert token.authorizationState(funded_payer.address, message["nonce"])


def test_receive_with_authorization__by_relayer__reverts(token, funded_payer, operator, asker):
    message = authorization(funded_payer, asker, ONE_TOKEN)
    sig = sign(funded_payer, token, RECEIVE, message)
    with boa.reverts("ai_token: caller must be the payee"):
        submit(token, "receiveWithAuthorization", message, sig, operator)


def test_receive_with_authorization__transfer_signature__reverts(token, funded_payer, asker):
    message = authorization(funded_payer, asker, ONE_TOKEN)
    sig = sign(funded_payer, token, TRANSFER, message)
    with boa.reverts("ai_token: invalid signature"):
        submit(token, "receiveWithAuthorization", message, sig, asker)


# ------------------------------------------------------ cancelAuthorization --


def cancellation(payer: Signer, token, nonce: bytes, signer: Signer | None = None) -> Signature:
    return sign(signer or payer, token, CANCEL, {"authorizer": payer.address, "nonce": nonce})


def test_cancel_authorization__then_use__reverts(token, funded_payer, operator, asker):
    message = authorization(funded_payer, asker, ONE_TOKEN)
    sig = sign(funded_payer, token, TRANSFER, message)

    cancel(token, funded_payer.address, message["nonce"],
           cancellation(funded_payer, token, message["nonce"]), operator)

    [log] = events(token, "AuthorizationCanceled")
    assert (log.authorizer, log.nonce) == (funded_payer.address, message["nonce"])
    assert token.authorizationState(funded_payer.address, message["nonce"])
    with boa.reverts("ai_token: authorization is used or canceled"):
        submit(token, "transferWithAuthorization", message, sig, operator)
    assert token.balanceOf(asker) == 0


def test_cancel_authorization__twice__reverts(token, funded_payer, operator):
    nonce = nonce_of("cancel")
    sig = cancellation(funded_payer, token, nonce)
    cancel(token, funded_payer.address, nonce, sig, operator)
    with boa.reverts("ai_token: authorization is used or canceled"):
        cancel(token, funded_payer.address, nonce, sig, operator)


def test_cancel_authorization__after_use__reverts(token, funded_payer, operator, asker):
    message = authorization(funded_payer, asker, ONE_TOKEN)
    used = sign(funded_payer, token, TRANSFER, message)
    submit(token, "transferWithAuthorization", message, used, operator)
    sig = cancellation(funded_payer, token, message["nonce"])
    with boa.reverts("ai_token: authorization is used or canceled"):
        cancel(token, funded_payer.address, message["nonce"], sig, operator)


def test_cancel_authorization__not_the_authorizer__reverts(token, funded_payer, operator):
    nonce = nonce_of("cancel")
    sig = cancellation(funded_payer, token, nonce, signer=signer_from(b"impostor"))
    with boa.reverts("ai_token: invalid signature"):
        cancel(token, funded_payer.address, nonce, sig, operator)


# ------------------------------------- USDC v2.2 `bytes signature` overloads --


def test_transfer_with_authorization_bytes(token, funded_payer, operator, asker):
    message = authorization(funded_payer, asker, ONE_TOKEN)
    raw = sign(funded_payer, token, TRANSFER, message).raw
    call_bytes_overload(token, TRANSFER_BYTES, fields(message), raw, operator)
    assert token.balanceOf(asker) == ONE_TOKEN
    assert token.authorizationState(funded_payer.address, message["nonce"])
    with pytest.raises(Exception) as replay:
        call_bytes_overload(token, TRANSFER_BYTES, fields(message), raw, operator)
    assert revert_reason(replay.value) == "ai_token: authorization is used or canceled"


def test_transfer_with_authorization_bytes__short_signature__reverts(token, funded_payer,
                                                                     operator, asker):
    message = authorization(funded_payer, asker, ONE_TOKEN)
    raw = sign(funded_payer, token, TRANSFER, message).raw
    with pytest.raises(Exception) as error:
        call_bytes_overload(token, TRANSFER_BYTES, fields(message), raw[:64], operator)
    assert revert_reason(error.value) == "ai_token: invalid signature length"


def test_receive_with_authorization_bytes(token, funded_payer, operator, asker):
    message = authorization(funded_payer, asker, ONE_TOKEN)
    raw = sign(funded_payer, token, RECEIVE, message).raw
    with pytest.raises(Exception) as error:
        call_bytes_overload(token, RECEIVE_BYTES, fields(message), raw, operator)
    assert revert_reason(error.value) == "ai_token: caller must be the payee"
    call_bytes_overload(token, RECEIVE_BYTES, fields(message), raw, asker)
    assert token.balanceOf(asker) == ONE_TOKEN


def test_cancel_authorization_bytes(token, funded_payer, operator):
    nonce = nonce_of("cancel")
    raw = cancellation(funded_payer, token, nonce).raw
    call_bytes_overload(token, CANCEL_BYTES, (funded_payer.address, nonce), raw, operator)
    assert token.authorizationState(funded_payer.address, nonce)


def test_default__unknown_selector__reverts(token, operator):
    with pytest.raises(Exception) as error:
        boa.env.raw_call(token.address, sender=operator, data=b"\xde\xad\xbe\xef" + b"\x00" * 64)
    assert revert_reason(error.value) == "ai_token: unknown function"


def test_default__ether__reverts(token, operator):
    boa.env.set_balance(operator, 10**18)
    with pytest.raises(Exception):
        boa.env.raw_call(token.address, sender=operator, value=1)


# ------------------------------------------- ERC-1271 contract wallets --
# A wallet signs through its owners' keys; the token asks the wallet.


@pytest.fixture(scope="module")
def wallet_deployer():
    return boa.load_partial(str(WALLET))


def wallet_of(wallet_deployer, token, deployer, *owners: Signer):
    wallet = wallet_deployer.deploy([o.address for o in owners])
    token.mint(wallet.address, 100 * ONE_TOKEN, sender=deployer)
    return wallet


def wallet_sign(owners, wallet, token, primary: str, message: dict) -> bytes:
    """The wallet's signature: each owner's 65 bytes over the same digest."""
    return b"".join(sign(owner, token, primary, message).raw for owner in owners)


def as_vrs(raw: bytes) -> tuple[int, bytes, bytes]:
    return raw[64], raw[:32], raw[32:64]


def test_wallet__permit_vrs(wallet_deployer, token, deployer, payer, operator):
    wallet = wallet_of(wallet_deployer, token, deployer, payer)
    message = {"owner": wallet.address, "spender": operator, "value": 5, "nonce": 0,
               "deadline": boa.env.timestamp + 60}
    raw = wallet_sign([payer], wallet, token, "Permit", message)
    token.permit(wallet.address, operator, 5, message["deadline"], *as_vrs(raw), sender=operator)
    assert token.allowance(wallet.address, operator) == 5
    token.transferFrom(wallet.address, operator, 5, sender=operator)
    assert token.balanceOf(operator) == 5


def test_wallet__permit_bytes_two_owners(wallet_deployer, token, deployer, payer, operator):
    second = signer_from(b"second owner")
    wallet = wallet_of(wallet_deployer, token, deployer, payer, second)
    message = {"owner": wallet.address, "spender": operator, "value": 5, "nonce": 0,
               "deadline": boa.env.timestamp + 60}
    raw = wallet_sign([payer, second], wallet, token, "Permit", message)
    assert len(raw) == 130
    call_bytes_overload(token, PERMIT_BYTES, (wallet.address, operator, 5, message["deadline"]), raw, operator)
    assert token.allowance(wallet.address, operator) == 5


@pytest.mark.parametrize("form", ["vrs", "bytes"])
def test_wallet__transfer_with_authorization(wallet_deployer, token, deployer, payer, operator, asker, form):
    wallet = wallet_of(wallet_deployer, token, deployer, payer)
    message = dict(authorization(payer, asker, ONE_TOKEN), **{"from": wallet.address})
    raw = wallet_sign([payer], wallet, token, TRANSFER, message)
    if form == "vrs":
        token.transferWithAuthorization(*fields(message), *as_vrs(raw), sender=operator)
    else:
        call_bytes_overload(token, TRANSFER_BYTES, fields(message), raw, operator)
    assert token.balanceOf(asker) == ONE_TOKEN
    assert token.authorizationState(wallet.address, message["nonce"])


@pytest.mark.parametrize("form", ["vrs", "bytes"])
def test_wallet__receive_with_authorization(wallet_deployer, token, deployer, payer, asker, form):
    wallet = wallet_of(wallet_deployer, token, deployer, payer)
    message = dict(authorization(payer, asker, ONE_TOKEN), **{"from": wallet.address})
    raw = wallet_sign([payer], wallet, token, RECEIVE, message)
    if form == "vrs":
        token.receiveWithAuthorization(*fields(message), *as_vrs(raw), sender=asker)
    else:
        call_bytes_overload(token, RECEIVE_BYTES, fields(message), raw, asker)
    assert token.balanceOf(asker) == ONE_TOKEN


@pytest.mark.parametrize("form", ["vrs", "bytes"])
def test_wallet__cancel_authorization(wallet_deployer, token, deployer, payer, operator, form):
    wallet = wallet_of(wallet_deployer, token, deployer, payer)
    nonce = nonce_of("wallet cancel")
    raw = wallet_sign([payer], wallet, token, CANCEL, {"authorizer": wallet.address, "nonce": nonce})
    if form == "vrs":
        token.cancelAuthorization(wallet.address, nonce, *as_vrs(raw), sender=operator)
    else:
        call_bytes_overload(token, CANCEL_BYTES, (wallet.address, nonce), raw, operator)
    assert token.authorizationState(wallet.address, nonce)


def test_wallet__two_owner_transfer_needs_both(wallet_deployer, token, deployer, payer, operator, asker):
    second = signer_from(b"second owner")
    wallet = wallet_of(wallet_deployer, token, deployer, payer, second)
    message = dict(authorization(payer, asker, ONE_TOKEN), **{"from": wallet.address})
    only_first = wallet_sign([payer], wallet, token, TRANSFER, message)
    with pytest.raises(Exception) as error:
        call_bytes_overload(token, TRANSFER_BYTES, fields(message), only_first, operator)
    assert revert_reason(error.value) == "ai_token: invalid signature"
    both = wallet_sign([payer, second], wallet, token, TRANSFER, message)
    call_bytes_overload(token, TRANSFER_BYTES, fields(message), both, operator)
    assert token.balanceOf(asker) == ONE_TOKEN


def test_wallet__refusing_wallet__reverts(wallet_deployer, token, deployer, payer, operator, asker):
    wallet = wallet_of(wallet_deployer, token, deployer, payer)
    wallet.set_refuse(True)
    message = dict(authorization(payer, asker, ONE_TOKEN), **{"from": wallet.address})
    raw = wallet_sign([payer], wallet, token, TRANSFER, message)
    with boa.reverts("ai_token: invalid signature"):
        token.transferWithAuthorization(*fields(message), *as_vrs(raw), sender=operator)


def test_wallet__owner_key_alone_cannot_spend_for_the_wallet(wallet_deployer, token, deployer, payer,
                                                             operator, asker):
    """The owner's signature over another message (its own address as the
    payer) is no signature of the wallet."""
    wallet = wallet_of(wallet_deployer, token, deployer, payer)
    message = dict(authorization(payer, asker, ONE_TOKEN), **{"from": wallet.address})
    other = wallet_sign([payer], wallet, token, TRANSFER, authorization(payer, asker, ONE_TOKEN))
    with boa.reverts("ai_token: invalid signature"):
        token.transferWithAuthorization(*fields(message), *as_vrs(other), sender=operator)


def test_wallet__contract_without_erc1271__reverts(token, router, deployer, payer, operator, asker):
    """A signer with code that does not answer ERC-1271 is refused."""
    token.mint(router.address, ONE_TOKEN, sender=deployer)
    message = dict(authorization(payer, asker, 1), **{"from": router.address})
    raw = sign(payer, token, TRANSFER, message).raw
    with boa.reverts("ai_token: invalid signature"):
        token.transferWithAuthorization(*fields(message), *as_vrs(raw), sender=operator)


def test_bytes_signature__eoa_needs_65_bytes(token, funded_payer, operator, asker):
    message = authorization(funded_payer, asker, ONE_TOKEN)
    raw = sign(funded_payer, token, TRANSFER, message).raw
    for wrong in (raw + b"\x00", raw * 2):
        with pytest.raises(Exception) as error:
            call_bytes_overload(token, TRANSFER_BYTES, fields(message), wrong, operator)
        assert revert_reason(error.value) == "ai_token: invalid signature length"


def test_bytes_signature__longest_and_too_long(wallet_deployer, token, deployer, payer, operator, asker):
    message = authorization(payer, asker, ONE_TOKEN)
    token.mint(payer.address, ONE_TOKEN, sender=deployer)
    with pytest.raises(Exception) as error:
        call_bytes_overload(token, TRANSFER_BYTES, fields(message), b"\x01" * 1_025, operator)
    assert revert_reason(error.value) == "ai_token: signature too long"
    with pytest.raises(Exception) as error:  # read whole, then refused for its length
        call_bytes_overload(token, TRANSFER_BYTES, fields(message), b"\x01" * 1_024, operator)
    assert revert_reason(error.value) == "ai_token: invalid signature length"


# ------------------------------------------------------------------ fuzz --


@FUZZ
@given(
    value=st.integers(min_value=0, max_value=200 * ONE_TOKEN),
    after_offset=st.integers(min_value=-100, max_value=100),
    before_offset=st.integers(min_value=-100, max_value=100),
    nonce=st.binary(min_size=32, max_size=32),
)
def test_transfer_with_authorization__fuzz(token, funded_payer, operator, asker, value,
                                           after_offset, before_offset, nonce):
    """Succeeds exactly inside the window and within the balance, once;
    tokens are conserved either way."""
    with fresh_state():
        now = boa.env.timestamp
        message = authorization(funded_payer, asker, value, after=max(now + after_offset, 0),
                                before=now + before_offset, nonce=nonce)
        sig = sign(funded_payer, token, TRANSFER, message)
        supply = token.totalSupply()
        in_window = message["validAfter"] < now < message["validBefore"]
        if in_window and value <= 100 * ONE_TOKEN:
            submit(token, "transferWithAuthorization", message, sig, operator)
            assert token.balanceOf(asker) == value
            with boa.reverts("ai_token: authorization is used or canceled"):
                submit(token, "transferWithAuthorization", message, sig, operator)
        else:
            with boa.reverts():
                submit(token, "transferWithAuthorization", message, sig, operator)
            assert not token.authorizationState(funded_payer.address, nonce)
        assert token.balanceOf(asker) + token.balanceOf(funded_payer.address) == 100 * ONE_TOKEN
        assert token.totalSupply() == supply
