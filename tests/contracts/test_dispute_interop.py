"""The dispute module read and driven by a tool that is not ours (Foundry's `cast`) on anvil:
`cast` approves the bond and raises a dispute against a work with royalties pending, a bad call
refused with the module's exact reason; tantieme's SDK sees that dispute as `cast` wrote it, and
its judgement (upheld, royalties redirected) is what `cast` then reads (`isTagged`, `tagOf`,
`rightfulParty`, `disputes(id)`) and decodes from the module's own events."""

from __future__ import annotations

from eth_utils import keccak
from tantieme import disputes
from tantieme.addresses import ZERO_ADDRESS
from tantieme.assets import registry, royalties
from tantieme.assets.terms import preset
from tantieme.chain.accounts import DEV_PRIVATE_KEYS, dev_account
from tantieme.chain.deploy import LOCAL_DISPUTES
from tantieme.node import Node

from .interop import cast_events, reverted

RAISER = 3
ROYALTIES = 10**18 // 2
DISPUTE = "(uint256,address,uint256,bytes32,uint8)"  # asset, raiser, bond, tag, status
COPIED_CONTENT = "0x" + b"COPIED_CONTENT".ljust(32, b"\0").hex()
EVIDENCE_URI = "ipfs://bafkreievidence"
NO_TAG = "0x" + "00" * 32
OPEN, UPHELD = 1, 2


def test_dispute__raised_by_cast__judged_by_tantieme__read_and_decoded_by_cast(initialised_anvil, cast):
    rpc = ("--rpc-url", initialised_anvil)
    with Node.open() as node:
        work = registry.register_hash(node, keccak(b"Roof Bees"), kind="work", terms=preset("open"), title="Roof Bees",
                                      media_type="text/markdown").id
        royalties.pay(node, work, ROYALTIES)  # pending at the router: an upheld dispute sends them on
        module, token = node.deployment.disputes, node.deployment.token
        raiser = dev_account(RAISER).address
        node.faucet(raiser)

        def call(address: str, signature: str, *args: object) -> list:
            return cast("call", address, signature, *map(str, args), *rpc)

        def send(address: str, signature: str, *args: object, ok: bool = True):
            return cast("send", address, signature, *map(str, args), "--private-key", DEV_PRIVATE_KEYS[RAISER],
                        *rpc, ok=ok)

        def balance(who: str) -> int:
            return int(call(token, "balanceOf(address)(uint256)", who)[0])

        bond = int(call(module, "bond()(uint256)")[0])
        assert bond == LOCAL_DISPUTES.bond
        assert call(module, "isTagged(uint256)(bool)", work) == [False]
        assert call(module, "tagOf(uint256)(bytes32)", work) == [NO_TAG]
        assert call(module, f"disputes(uint256)({DISPUTE})", 1) == [[0, ZERO_ADDRESS, 0, NO_TAG, 0]]

        raise_ = "raiseDispute(uint256,bytes32,bytes32,string)"
        evidence = "0x" + keccak(EVIDENCE_URI.encode()).hex()  # as `tantieme dispute raise` hashes a URI
        assert reverted(send(module, raise_, work, COPIED_CONTENT, evidence, EVIDENCE_URI, ok=False)) == (
            "erc20: insufficient allowance")
        assert send(token, "approve(address,uint256)", module, bond)["status"] == "0x1"
        unknown = "0x" + b"LOOKS_SIMILAR".ljust(32, b"\0").hex()
        for bad, reason in (
            ((work, unknown, evidence, EVIDENCE_URI), "disputes: tag not allowed"),
            ((work, COPIED_CONTENT, NO_TAG, EVIDENCE_URI), "disputes: no evidence"),
            ((10**6, COPIED_CONTENT, evidence, EVIDENCE_URI), "disputes: unknown asset"),
        ):
            assert reverted(send(module, raise_, *bad, ok=False)) == reason
        before = balance(raiser)
        receipt = send(module, raise_, work, COPIED_CONTENT, evidence, EVIDENCE_URI)
        assert receipt["status"] == "0x1"
        assert balance(raiser) == before - bond
        assert call(module, f"disputes(uint256)({DISPUTE})", 1) == [[work, raiser, bond, COPIED_CONTENT, OPEN]]
        assert reverted(send(module, raise_, work, COPIED_CONTENT, evidence, EVIDENCE_URI, ok=False)) == (
            "disputes: caller has an open dispute on the asset")

        # The module's own event, found by cast from its signature and decoded by cast.
        raised = cast_events(cast, module, "DisputeRaised(uint256 indexed,uint256 indexed,address indexed,bytes32,"
                             "bytes32,string,uint256)", "(bytes32,bytes32,string,uint256)", rpc)
        assert raised == [([1, work, raiser], [COPIED_CONTENT, evidence, EVIDENCE_URI, bond])]

        # tantieme reads the dispute cast raised, and judges it.
        assert disputes.get(node, 1) == disputes.Dispute(
            1, work, raiser, bond, "copied-content", "open", evidence, EVIDENCE_URI)
        judged = disputes.resolve(node, 1, uphold=True)
        assert judged.redirected == ROYALTIES
        assert balance(raiser) == before + ROYALTIES  # the bond back, and the work's royalties

        assert call(module, "isTagged(uint256)(bool)", work) == [True]
        assert call(module, "tagOf(uint256)(bytes32)", work) == [COPIED_CONTENT]
        assert call(module, "rightfulParty(uint256)(address)", work) == [raiser]
        assert call(module, f"disputes(uint256)({DISPUTE})", 1) == [[work, raiser, bond, COPIED_CONTENT, UPHELD]]
        upheld = cast_events(cast, module, "DisputeUpheld(uint256 indexed,uint256 indexed,address indexed,bytes32,"
                             "uint256)", "(bytes32,uint256)", rpc)
        assert upheld == [([1, work, raiser], [COPIED_CONTENT, ROYALTIES])]

        # A tagged work cannot be disputed again; a judged dispute cannot be judged again.
        assert send(token, "approve(address,uint256)", module, bond)["status"] == "0x1"
        assert reverted(send(module, raise_, work, COPIED_CONTENT, evidence, EVIDENCE_URI, ok=False)) == (
            "disputes: asset already tagged")
        assert reverted(send(module, "uphold(uint256,address)", 1, raiser, ok=False)) == (
            "disputes: caller is not the arbiter or the owner")
        judge = cast("send", module, "reject(uint256)", "1", "--private-key", DEV_PRIVATE_KEYS[0], *rpc, ok=False)
        assert reverted(judge) == "disputes: dispute already closed"

