"""Signatures made by ethers (`data/sign_typed_data.cjs`), not by
eth-account: a `delegateBySig` and a `castVoteBySig` that a wallet or a
governance site would produce are accepted as they are."""

from __future__ import annotations

import json
from pathlib import Path

import boa

from .conftest import ONE_TOKEN, events
from .dao_fixtures import (  # noqa: F401 (fixtures)
    DAO_NAME,
    FOR,
    VOTES_NAME,
    dao,
    dao_deployer,
    mine,
    open_voting,
    pay_from_treasury,
    propose,
    stake,
    voters,
)

DATA = Path(__file__).parent / "data"
FAR = 2**40


def ethers_sign(nodejs, key: bytes, messages: list[dict]) -> list[bytes]:
    request = {"key": "0x" + key.hex(), "messages": messages}
    signatures = nodejs(DATA / "sign_typed_data.cjs", stdin=json.dumps(request))
    return [bytes.fromhex(signature[2:]) for signature in signatures]


def domain(name: str, contract) -> dict:
    return {"name": name, "version": "1", "chainId": boa.env.evm.patch.chain_id,
            "verifyingContract": contract.address}


def test_ethers_signatures__delegate_then_vote(dao, token, stake, voters, stranger, nodejs):
    alice, bob = voters[:2]
    stake(alice.address, 40 * ONE_TOKEN)
    stake(bob.address, ONE_TOKEN)
    (delegation,) = ethers_sign(nodejs, alice.key, [{
        "domain": domain(VOTES_NAME, dao.votes),
        "types": {"Delegation": [{"name": "delegatee", "type": "address"}, {"name": "nonce", "type": "uint256"},
                                 {"name": "expiry", "type": "uint256"}]},
        "message": {"delegatee": bob.address, "nonce": 0, "expiry": FAR},
    }])
    r, s, v = delegation[:32], delegation[32:64], delegation[64]
    dao.votes.delegateBySig(bob.address, 0, FAR, v, r, s, sender=stranger)
    assert dao.votes.delegates(alice.address) == bob.address
    mine()

    proposal = pay_from_treasury(token, bob.address, ONE_TOKEN)
    proposal_id = propose(dao, proposal, bob.address)
    open_voting(dao, proposal_id)
    (ballot,) = ethers_sign(nodejs, bob.key, [{
        "domain": domain(DAO_NAME, dao.governor),
        "types": {"Ballot": [{"name": "proposalId", "type": "uint256"}, {"name": "support", "type": "uint8"},
                             {"name": "voter", "type": "address"}, {"name": "nonce", "type": "uint256"}]},
        "message": {"proposalId": str(proposal_id), "support": FOR, "voter": bob.address, "nonce": 0},
    }])
    weight = dao.governor.castVoteBySig(proposal_id, FOR, bob.address, ballot,
                                        sender=stranger)
    assert weight == 41 * ONE_TOKEN
    (vote,) = events(dao.governor, "VoteCast")
    assert (vote.voter, vote.support, vote.weight) == (bob.address, FOR, 41 * ONE_TOKEN)
