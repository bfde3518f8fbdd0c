"""Reputation votes read by a tool that is not ours (Foundry's `cast`) on anvil, as a governor or
a voting site reads ERC-5805 votes: an answer citing the node's works settles and `claim` credits
them, which earns the reputation in the same transaction; `cast` reads ERC-6372
`clock()`/`CLOCK_MODE()`, `getVotes`, `getPastVotes` and `getPastTotalSupply` at the crediting's
block and later (decaying as 2^(−blocks/half-life)), decodes the `ReputationEarned` events (what the
router's `Credited` events of that transaction add up to), and finds transfers, approvals and
delegation refused (no such functions: a revert without a reason) and a stranger's `earn` refused."""

from __future__ import annotations

from tantieme.assets import royalties
from tantieme.chain.accounts import DEV_PRIVATE_KEYS, dev_account
from tantieme.ledger import settlement
from tantieme.node import Node

from .interop import cast_events, reverted

PAYER = dev_account(5)  # who pays for `make_answer`'s answers
STRANGER = 4
LATER = 100  # blocks
CLOCK_MODE = "mode=blocknumber&from=default"


def test_reputation_votes__read_by_cast__decaying__not_transferable(initialised_anvil, cast, make_answer):
    rpc = ("--rpc-url", initialised_anvil)
    with Node.open() as node:
        row = make_answer(node, fee=10**18)  # cites a work of the node's, answered by a model of the node's
        settlement.settle(node, {PAYER.address: PAYER})
        royalties.claim(node)  # credits the works, which earns their reputation
        votes, router, creator = node.deployment.reputation_votes, node.deployment.router, node.address

    def call(signature: str, *args: object, ok: bool = True):
        found = cast("call", votes, signature, *map(str, args), *rpc, ok=ok)
        return [int(str(value)) for value in found] if ok else found

    def block_number() -> int:
        return int(cast("block-number", *rpc))

    assert cast("call", votes, "CLOCK_MODE()(string)", *rpc) == [CLOCK_MODE]
    assert call("clock()(uint48)") == [block_number()]

    earned = cast_events(cast, votes, "ReputationEarned(address indexed,uint256)", "(uint256)", rpc)
    assert [account for (account,), _ in earned] == [creator]  # the node's works: one owner, one earning
    total = sum(int(str(amount)) for _, (amount,) in earned)
    (log,) = cast("logs", "ReputationEarned(address indexed,uint256)", "--address", votes, "--from-block", "0", *rpc)
    recorded_at = int(log["blockNumber"], 16)
    credited = cast("logs", "Credited(bytes32 indexed,uint256 indexed,uint256)", "--address", router,
                    "--from-block", str(recorded_at), "--to-block", str(recorded_at), *rpc)
    assert {int(c["topics"][2], 16) for c in credited} == {*row.signed.record.sources, row.signed.record.model}
    assert sum(int(c["data"], 16) for c in credited) == total
    assert {c["transactionHash"] for c in credited} == {log["transactionHash"]}

    assert call("getPastVotes(address,uint256)(uint256)", creator, recorded_at - 1) == [0]
    assert call("getPastVotes(address,uint256)(uint256)", creator, recorded_at) == [total]
    assert call("getPastTotalSupply(uint256)(uint256)", recorded_at) == [total]
    (now,) = call("getVotes(address)(uint256)", creator)
    assert now == call("decay(uint256,uint256)(uint256)", total, block_number() - recorded_at)[0]
    assert 0 < now <= total
    for refused in (call("getPastVotes(address,uint256)(uint256)", creator, block_number(), ok=False),
                    call("getPastTotalSupply(uint256)(uint256)", block_number(), ok=False)):
        assert reverted(refused) == "reputation_votes: future lookup"

    # Blocks later (mined by anvil), the reputation has decayed as 2^(-elapsed / half-life).
    (half_life,) = call("halfLife()(uint256)")
    cast("rpc", "anvil_mine", hex(LATER), *rpc)
    elapsed = block_number() - recorded_at
    (decayed,) = call("getVotes(address)(uint256)", creator)
    assert decayed < now
    assert abs(decayed - total * 2 ** (-elapsed / half_life)) <= total * 1.1e-5
    assert call("getPastVotes(address,uint256)(uint256)", creator, recorded_at) == [total]

    # Reputation cannot move: no transfer, approval or delegation exists; only the router tells earnings.
    stranger = dev_account(STRANGER).address
    for signature, args in (
        ("transfer(address,uint256)", (stranger, 1)),
        ("transferFrom(address,address,uint256)", (creator, stranger, 1)),
        ("approve(address,uint256)", (stranger, 1)),
        ("delegate(address)", (stranger,)),
    ):
        refusal = cast("send", votes, signature, *map(str, args), "--private-key", DEV_PRIVATE_KEYS[0], *rpc, ok=False)
        assert reverted(refusal) == "", signature
    sources = f"[{','.join(map(str, row.signed.record.sources))}]"
    amounts = f"[{','.join('1' for _ in row.signed.record.sources)}]"
    forged = cast("send", votes, "earn(uint256[],uint256[])", sources, amounts,
                  "--private-key", DEV_PRIVATE_KEYS[STRANGER], *rpc, ok=False)
    assert reverted(forged) == "reputation_votes: caller is not the router"
    assert call("getVotes(address)(uint256)", stranger) == [0]
    cast("rpc", "anvil_mine", "0x1", *rpc)  # the refused `earn` mined nothing: end the block read above
    assert call("getPastVotes(address,uint256)(uint256)", creator, recorded_at + elapsed) == [decayed]
