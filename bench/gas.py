"""Gas per operation, from transaction receipts, beside Story Protocol v1's figures.

Runs on a fresh embedded chain (py-evm; anvil gives the same receipts) through
the same contract calls the SDK makes. Registration is two transactions
(commit, then register): both are shown, and their sum is what compares with
Story's one. Then pay / distribute / claim gas against the number of ancestors
(a chain of derivatives 1, 4, 16, 64, 256, 1024 deep), and the registration
that walks every path of a graph with 1,024 ancestors (effective consent).
Then the ERC-8004 agent registries: registering an agent, and feedback from
a client who paid (proving its record settled on the ledger, then rating it),
and from an agent treasury that paid over x402 (its agent key through `rate`).
The reference ERC-8004 implementation publishes no gas figures; SPEC.md gives
its figures measured once by hand.
Then the model-offer registry: setting an agent's offer, beside a baseline
contract that stores the same arguments one field per slot with no checks
and no list (`bench/data/offer_baseline.vy`).
Then an agent treasury paying x402 authorizations: approving a payment,
and the transfer through the treasury's ERC-1271 check beside the same
transfer signed by an externally owned account.
Then the DAO: staking, a proposal's life, `castVote` beside an
OpenZeppelin-based governor's (~107k) for each way to count (tokens,
quadratic for commons-pool members, creators' reputation), and what
reputation adds to settlement: `settle` reads the router's reputation wiring
once, and the `credit` of a ledger pool tells the reputation votes in the
same transaction (the owners' checkpoints; no transaction of its own). Last, the commons pool: joining by a
work, inviting with a bond, the dividend claim (the day's first, which sets
the day's amount, and a later one). GoodDollar publishes no gas figure for
its UBI claim (none in its docs, whitepaper or repositories' issues that we
found), so the claim stands alone. Last, the dispute module: raising with a
bond, cancelling, rejecting (the bond to the owner) and upholding (the asset
tagged, its royalties redirected by the router's hook, the bond back).

    python bench/gas.py [--json] [--max-depth 1024]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

from rich.console import Console
from rich.progress import Progress
from rich.table import Table

# Story Protocol v1, periphery gas report (see DESIGN.md "Anchors").
STORY = {
    "register with terms": 673_293,  # mint + register + attach terms
    "mint licence": 417_585,
    "register 1-parent derivative": 382_994,
    "pay": 104_928,  # pay minting fee
}
# A measured OpenZeppelin 4.8-based governor (see DESIGN.md "Governance").
OZ_GOVERNOR = {
    "castVote": 107_000, "castVote, quadratic": 107_000, "castVote, reputation": 107_000, "propose, 1 call": 277_000,
}
TARGETS = {
    "castVote": 100_000,
    "castVote, quadratic": 100_000,
    "castVote, reputation": 100_000,
    "register with terms": 225_000,
    "mint licence": 140_000,
    "register 1-parent derivative: register": 200_000,
    "pay": 60_000,
    # The ERC-8004 reference's own figures (SPEC.md "AgentReputation", Gas): at most those.
    "register agent, 60-character URI": 195_036,
    "register agent, no URI": 106_883,
}
DEPTHS = (1, 4, 16, 64, 256, 1024)
URI_LEN = 60


def _dense_graph(register, terms) -> int:
    """Registration gas (the register step) of an asset whose parents give it
    1,024 ancestors counted per path: 16 roots, 16 × 16 above them, 3 assets
    naming those 16 and one naming 12; each path is walked for its consent."""
    free = terms.with_(commercial_use=False, minting_fee=0, royalty_bps=0, ai_output_commercial=False)
    roots = [register((), free)[0] for _ in range(16)]
    level1 = [register(tuple(roots), free)[0] for _ in range(16)]
    upper = [register(tuple(level1), free)[0] for _ in range(3)] + [register(tuple(level1[:12]), free)[0]]
    return register(tuple(upper), free)[2]


def _agent_gas(node, client) -> dict[str, int]:
    """Gas of the ERC-8004 registries: register an agent (the node), then a
    client pays it in a one-record batch it signed, proves the record and
    rates it; twice, so the second feedback is a returning client's."""
    from tantieme.chain import artifacts
    from tantieme.chain.deploy import contract
    from tantieme.ledger.records import Batch, InteractionRecord, asset_tree, record_tree
    from tantieme.ledger.settlement import domain

    def deploy(name: str, *args) -> object:
        artifact = artifacts.load(name)
        factory = node.conn.w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
        return contract(node.conn, name, node.conn.transact(factory.constructor(*args), gas=8_000_000)["contractAddress"])

    def gas(conn_node, fn) -> int:
        return conn_node.conn.transact(fn, gas=2_000_000)["gasUsed"]

    identity = deploy("agent_identity")
    reputation = deploy("agent_reputation", identity.address, node.deployment.ledger)
    ops = {
        "register agent, 60-character URI": gas(node, identity.functions.register("ipfs://bafy" + "a" * 49)),
        "register agent, no URI": gas(client, identity.functions.register()),
    }
    agent = 1
    ledger = node.ledger.functions

    def settled(payer, n: int, nonce: int) -> tuple[int, tuple, list[bytes], bytes]:
        """A record of the node paid by `payer` (the node itself: x402), alone in a batch `payer`
        signs and the node settles: (batch id, the record's fields, its proof, its digest)."""
        record = InteractionRecord(
            payer=payer.address, operator=node.address, model=1, prompt_hash=bytes([n]) * 32,
            output_hash=bytes([n + 1]) * 32, sources=(), weights=(), prompt_tokens=400, completion_tokens=100,
            fee=10**15, nonce=nonce, timestamp=1_767_225_600 + n,
        ).sign(payer.account, domain(node))
        tree = record_tree([record])
        assets = asset_tree({1: ledger.split(record.record.fee).call()[2] * n})
        commons, commons_bps, operator_bps = ledger.commons().call(), ledger.commons_bps().call(), ledger.operator_bps().call()
        batch = Batch(
            root=bytes.fromhex(tree.root[2:]), count=1, batch_nonce=ledger.batchNonces(payer.address, node.address).call(),
            operator=node.address, commons=commons, commons_bps=commons_bps, operator_bps=operator_bps,
            assets_root=bytes.fromhex(assets.root[2:]), total=record.record.fee, deadline=2**40,
        )
        signature = batch.sign(payer.account, domain(node)).signature
        struct = (batch.root, 1, batch.batch_nonce, node.address, commons, commons_bps, operator_bps,
                  batch.assets_root, batch.total, batch.deadline)
        node.conn.transact(
            ledger.settle(struct, payer.address, signature[64], signature[:32], signature[32:64], ""), gas=1_000_000
        )
        r = record.record
        fields = (r.payer, r.operator, r.model, r.prompt_hash, r.output_hash, [], [], r.prompt_tokens,
                  r.completion_tokens, r.fee, r.nonce, r.timestamp)
        return ledger.batchCount().call(), fields, [bytes.fromhex(p[2:]) for p in tree.get_proof(0)], record.digest

    for person in (client, node):
        person.conn.transact(person.token.functions.approve(node.deployment.ledger, 2**256 - 1), gas=100_000)
    for n in (1, 2):
        batch_id, fields, proof, digest = settled(client, n, n)
        which = "first" if n == 1 else "later"
        ops[f"prove payment ({which} feedback)"] = gas(
            client, reputation.functions.provePayment(agent, batch_id, fields, proof, bytes(32))
        )
        ops[f"give feedback ({which} from this client)"] = gas(
            client, reputation.functions.giveFeedback(agent, 87, 0, "starred", "", "", "", digest)
        )
        ops[f"prove + give feedback ({which})"] = (
            ops[f"prove payment ({which} feedback)"] + ops[f"give feedback ({which} from this client)"]
        )
    ops.update(_treasury_rating_gas(node, reputation, agent, settled, gas))
    return ops


def _treasury_rating_gas(node, reputation, agent: int, settled, gas) -> dict[str, int]:
    """An agent treasury (agent key: dev account 7) pays the node over x402, the node settles
    the record as its own payer bound to the treasury's authorization, and the agent key
    rates as the treasury through its `rate` (proof, then feedback)."""
    import time

    from eth_account import Account

    from tantieme.chain.accounts import dev_account
    from tantieme.chain.deploy import deploy_treasury, contract
    from tantieme.payments.per_request import record_nonce

    agent_key = node.as_account(dev_account(7))
    address = deploy_treasury(node.conn, node.deployment.token, agent_key.address, reputation.address)
    bound = contract(node.conn, "agent_treasury", address).functions
    node.conn.transact(bound.setLimits(10**18, 10**18), gas=100_000)
    node.conn.transact(bound.setPayee(node.address, True), gas=100_000)
    node.conn.transact(node.token.functions.transfer(address, 10**18), gas=100_000)
    authorization = (node.address, 10**15, 0, int(time.time()) + 3_600, (7).to_bytes(32, "big"))
    agent_key.conn.transact(bound.approvePayment(*authorization), gas=500_000)
    signature = Account.unsafe_sign_hash(bound.paymentDigest(*authorization).call(), agent_key.account.key).signature
    node.conn.transact(node.token.functions.transferWithAuthorization(
        address, *authorization, signature[64], signature[:32], signature[32:64]), gas=500_000)
    batch_id, fields, proof, digest = settled(node, 3, record_nonce(address, authorization[4]))
    fns = reputation.functions
    prove = fns.provePayment(agent, batch_id, fields, proof, authorization[4])._encode_transaction_data()
    ops = {"treasury rate: prove payment (first feedback)": gas(agent_key, bound.rate(prove))}
    give = fns.giveFeedback(agent, 87, 0, "starred", "", "", "", digest)._encode_transaction_data()
    ops["treasury rate: give feedback (first from it)"] = gas(agent_key, bound.rate(give))
    assert fns.readFeedback(agent, address, 1).call()[0] == 87
    return ops


# An endpoint of 44 characters (two words of string data).
OFFER_ENDPOINT = "https://node.example.org/v1/chat/completions"


def _offer_gas(node, model: int) -> dict[str, int]:
    """Gas of the offer registry: the node sets its agent's offer (a new one,
    then new prices), a second agent's offer joins the list, the first is
    removed (the last moves into its place); and the baseline's first and
    second `setOffer` with the same arguments."""
    import vyper

    from tantieme.chain import artifacts

    def deploy(abi, bytecode, *args) -> object:
        factory = node.conn.w3.eth.contract(abi=abi, bytecode=bytecode)
        address = node.conn.transact(factory.constructor(*args), gas=8_000_000)["contractAddress"]
        return node.conn.w3.eth.contract(address=address, abi=abi)

    def gas(fn) -> int:
        return node.conn.transact(fn, gas=1_000_000)["gasUsed"]

    identity = artifacts.load("agent_identity")
    identity = deploy(identity.abi, identity.bytecode)
    registry = artifacts.load("offer_registry")
    offers = deploy(registry.abi, registry.bytecode, identity.address, node.deployment.registry).functions
    baseline = vyper.compile_code((Path(__file__).parent / "data" / "offer_baseline.vy").read_text(),
                                  output_formats=["abi", "bytecode"])
    baseline = deploy(baseline["abi"], baseline["bytecode"]).functions
    first, second = 1, 2  # the node's agents
    for _ in (first, second):
        gas(identity.functions.register())
    args = (model, 100 * 10**18, 400 * 10**18, OFFER_ENDPOINT, 1_200, 4)
    new_prices = (model, 90 * 10**18, 350 * 10**18, OFFER_ENDPOINT, 1_200, 4)
    return {
        "set offer, the registry's first": gas(offers.setOffer(first, *args)),
        "set offer, new prices": gas(offers.setOffer(first, *new_prices)),
        "set offer, another agent's first": gas(offers.setOffer(second, *args)),
        "remove offer (the last moves into its place)": gas(offers.removeOffer(first)),
        "baseline: set offer one field per slot, first": gas(baseline.setOffer(first, *args)),
        "baseline: set offer one field per slot, new prices": gas(baseline.setOffer(first, *new_prices)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.add_argument("--max-depth", type=int, default=1024, help="deepest derivative chain")
    args = parser.parse_args()
    os.environ["TANTIEME_HOME"] = tempfile.mkdtemp(prefix="tantieme-bench-")

    from tantieme import node as node_mod
    from tantieme.assets.registry import commitment
    from tantieme.assets.terms import preset
    from tantieme.chain.accounts import dev_account
    from tantieme.node import Node

    node_mod.init("embedded")
    node = Node.open()
    creator = node.as_account(dev_account(1))
    node.faucet(creator.address, 10**30)
    node.faucet(node.address, 10**30)
    creator.ensure_allowance(10**30)
    node.ensure_allowance(10**30)
    terms = preset("open").with_(minting_fee=10**18)
    registry = creator.registry.functions
    counter = iter(range(10**9))

    def register(parents: tuple[int, ...] = (), with_terms=terms, kind: int = 0) -> tuple[int, int, int]:
        """Commit, then register: the asset id and the gas of each step."""
        n = next(counter)
        content = n.to_bytes(32, "big") if n else b"\x01" + bytes(31)
        uri = f"ipfs://bafy{n:056d}"[:URI_LEN]
        salt = bytes(31) + b"\x07"
        commit = gas(creator, registry.commitRegistration(commitment(creator.address, content, salt)), 100_000)
        receipt = creator.conn.transact(
            registry.register(kind, content, uri, list(parents), with_terms.as_struct(), salt), gas=5_000_000
        )
        asset_id = registry.totalAssets().call()
        return asset_id, commit, receipt["gasUsed"]

    def gas(conn_node: Node, fn, limit: int = 30_000_000) -> int:
        return conn_node.conn.transact(fn, gas=limit)["gasUsed"]

    ops: dict[str, int] = {}
    root, ops["register with terms: commit"], ops["register with terms: register"] = register()
    ops["register with terms"] = ops["register with terms: commit"] + ops["register with terms: register"]
    ops["mint licence"] = gas(creator, registry.mintLicense(root, 1, creator.address))
    child, commit, reveal = register((root,))
    ops["register 1-parent derivative: commit"], ops["register 1-parent derivative: register"] = commit, reveal
    ops["register 1-parent derivative"] = commit + reveal
    router = node.router.functions
    # The licence fee above already paid `root` once: this is a steady-state payment.
    ops["pay"] = gas(node, router.pay(root, 10**18))
    vault = registry.royaltyVault(child).call()
    node.conn.transact(node.token.functions.transfer(vault, 10**18), gas=100_000)
    ops["sweep a royalty vault, first (deploys it)"] = gas(node, router.sweep(child))
    node.conn.transact(node.token.functions.transfer(vault, 10**18), gas=100_000)
    ops["sweep a royalty vault"] = gas(node, router.sweep(child))
    ops["register under 1,024 ancestors (every path walked)"] = _dense_graph(register, terms)
    ops.update(_agent_gas(node, creator))
    ops.update(_offer_gas(node, register(kind=2)[0]))

    # The chains grant no AI use, so registering them walks no ancestors (that
    # cost is the dense-graph row above); pay, distribute and claim do not
    # depend on consent.
    no_ai = terms.with_(ai_training=False, ai_fine_tuning=False, ai_retrieval=False, ai_output_commercial=False)
    scaling = []
    depths = [d for d in DEPTHS if d <= args.max_depth]
    with Progress(transient=True, disable=args.json) as progress:
        task = progress.add_task("building derivative chains", total=sum(depths))
        for depth in depths:
            chain = [register((), no_ai)[0]]
            for _ in range(depth):
                creator.conn.transact(registry.mintLicense(chain[-1], 1, creator.address), gas=300_000)
                chain.append(register((chain[-1],), no_ai)[0])
                progress.advance(task)
            leaf, ancestor = chain[-1], chain[0]
            pay_gas = gas(node, router.pay(leaf, 10**24))
            pay_again = gas(node, router.pay(leaf, 10**24))
            one = gas(creator, router.distribute(leaf))
            # The farthest ancestor collects: every asset between distributes, children first.
            total = one
            rest = list(reversed(chain[1:-1]))
            for start in range(0, len(rest), 64):
                total += gas(creator, router.distributeMany(rest[start : start + 64]))
            claim_gas = gas(creator, router.claim(ancestor))
            scaling.append(
                {
                    "ancestors": registry.ancestorCount(leaf).call(),
                    "first pay": pay_gas,
                    "pay": pay_again,
                    "distribute one asset": one,
                    "collect at the farthest ancestor": total,
                    "collect per ancestor": total // depth,
                    "claim": claim_gas,
                }
            )

    treasury = _treasury_gas(node)
    pool = _commons_gas(node, creator, root)
    disputed = _dispute_gas(node, creator, root)
    dao = _dao_gas(node)
    result = {
        "operations": {
            name: {"gas": value, "target": TARGETS.get(name), "story": STORY.get(name)}
            for name, value in ops.items()
        },
        "scaling": scaling,
        "dao": {
            name: {"gas": value, "target": TARGETS.get(name), "openzeppelin": OZ_GOVERNOR.get(name)}
            for name, value in dao.items()
        },
        "commons": pool,
        "disputes": disputed,
        "treasury": treasury,
    }
    if args.json:
        json.dump(result, sys.stdout, indent=2)
        print()
        return
    console = Console()
    table = Table("operation", "gas", "target", "Story v1", "ratio to Story", title="gas per operation")
    # The sums compare with Story's single transactions.
    for name, row in result["operations"].items():
        story = row["story"]
        table.add_row(
            name,
            f"{row['gas']:,}",
            f"≤ {row['target']:,}" if row["target"] else "",
            f"{story:,}" if story else "",
            f"{row['gas'] / story:.2f}" if story else "",
        )
    console.print(table)
    table = Table(*scaling[0].keys(), title="pay / distribute / claim against ancestors")
    for row in scaling:
        table.add_row(*(f"{v:,}" for v in row.values()))
    console.print(table)
    table = Table("operation", "gas", "target", "OpenZeppelin governor", title="the DAO")
    for name, row in result["dao"].items():
        table.add_row(
            name,
            f"{row['gas']:,}",
            f"≤ {row['target']:,}" if row["target"] else "",
            f"~{row['openzeppelin']:,}" if row["openzeppelin"] else "",
        )
    console.print(table)
    for key, title in (("commons", "the commons pool"), ("disputes", "the dispute module"),
                       ("treasury", "an agent treasury paying over x402")):
        table = Table("operation", "gas", title=title)
        for name, value in result[key].items():
            table.add_row(name, f"{value:,}")
        console.print(table)


def _commons_gas(node, creator, work: int) -> dict[str, int]:
    """The deployment's commons pool: the creator joins by its work and invites
    a second account (bonding for it); the machine tax arrives; both claim on
    the same day, the first claim setting the day's amount (and writing the
    pool's first day and total); the invitee leaves (its bond returns); a day
    later (the embedded chain follows the clock) the creator claims again: a
    day's first claim in the steady state. Both members hold AI tokens already."""
    import time

    from tantieme.chain.accounts import dev_account
    from tantieme.chain.deploy import contract

    address = node.deployment.commons_pool
    invitee = node.as_account(dev_account(2))
    node.faucet(invitee.address, 10**18)

    def gas(person, fn) -> int:
        return person.conn.transact(fn, gas=500_000)["gasUsed"]

    def pool(person):
        return contract(person.conn, "commons_pool", address).functions

    ops = {"join, by a work": gas(creator, pool(creator).join(work))}
    gas(creator, creator.token.functions.approve(address, 2**256 - 1))
    ops["invite (bonds 1 TAI)"] = gas(creator, pool(creator).invite(invitee.address))
    node.conn.transact(node.token.functions.transfer(address, 10**21), gas=100_000)
    ops["claim, the pool's first (sets the day's amount)"] = gas(creator, pool(creator).claim())
    ops["claim, later the same day"] = gas(invitee, pool(invitee).claim())
    ops["leave (the bond returns)"] = gas(invitee, pool(invitee).leave())
    tomorrow = time.time() + 86_400
    time.time = lambda: tomorrow
    ops["claim, a later day's first (sets its amount)"] = gas(creator, pool(creator).claim())
    return ops


def _dispute_gas(node, creator, work: int) -> dict[str, int]:
    """The deployment's dispute module (its owner, the node, judges): a raiser challenges the
    creator's work (the module's first dispute) and raises again after cancelling (the
    steady state); a rejection pays the bond to the owner; upheld after a payment, the work
    is tagged and its royalties redirected (distributed, then sent) by the router's hook."""
    from tantieme.chain.accounts import dev_account
    from tantieme.chain.deploy import contract, tag_bytes

    raiser = node.as_account(dev_account(3))
    node.faucet(raiser.address, 10**20)
    address = node.deployment.disputes

    def gas(person, fn) -> int:
        return person.conn.transact(fn, gas=500_000)["gasUsed"]

    def module(person):
        return contract(person.conn, "dispute_module", address).functions

    gas(raiser, raiser.token.functions.approve(address, 2**256 - 1))
    tag, evidence, uri = tag_bytes("COPIED_CONTENT"), b"\x01" * 32, "ipfs://bafkreievidence"
    ops = {"raise (bonds 1 TAI), the module's first": gas(raiser, module(raiser).raiseDispute(work, tag, evidence, uri))}
    ops["cancel (10 % of the bond to the owner)"] = gas(raiser, module(raiser).cancel(1))
    ops["raise (bonds 1 TAI)"] = gas(raiser, module(raiser).raiseDispute(work, tag, evidence, uri))
    ops["reject (the bond to the owner)"] = gas(node, module(node).reject(2))
    gas(raiser, module(raiser).raiseDispute(work, tag, evidence, uri))
    node.conn.transact(node.router.functions.pay(work, 10**18), gas=200_000)
    ops["uphold (tag, redirect royalties, bond back)"] = gas(node, module(node).uphold(3, raiser.address))
    return ops


def _treasury_gas(node) -> dict[str, int]:
    """An agent treasury (owner: the node's account; agent key: dev account 7) pays x402
    authorizations: the agent approves (the day's first, then a later one), the payee's
    facilitator submits `transferWithAuthorization` from the treasury (the token asks its
    `isValidSignature`), beside the same transfer signed by an externally owned account;
    the payee refunds quote − fee through `refundPayment` (today's allowance restored),
    beside the plain transfer it replaces; a pending approval is released (what the client
    does when a node took no answer back after it signed), beside an account's EIP-3009
    `cancelAuthorization`; an approval killed by a pause is released."""
    import time

    from eth_account import Account

    from tantieme.agents import treasury
    from tantieme.chain.accounts import dev_account
    from tantieme.chain.permit import sign_cancel_authorization, sign_receive_authorization

    agent, payer, payee = node.as_account(dev_account(7)), dev_account(8), dev_account(9).address
    node.faucet(payer.address, 10**20)
    node.faucet(payee, 1)  # both transfers below then write a balance already held
    address, _ = treasury.fund(node, 10**20)
    treasury.set_limits(node, daily=10**19, per_payment=10**18, allow=[payee], agent=agent.address)
    bound = treasury.treasury(node, address).functions
    _, name, version, *_ = node.token.functions.eip712Domain().call()

    def gas(person, fn) -> int:
        return person.conn.transact(fn, gas=500_000)["gasUsed"]

    def authorization(n: int) -> tuple:
        return (payee, 10**17, 0, int(time.time()) + 3_600, n.to_bytes(32, "big"))

    def collect(sender: str, args: tuple, signature: bytes) -> int:
        v, r, s = signature[64], signature[:32], signature[32:64]
        return gas(node, node.token.functions.transferWithAuthorization(sender, *args, v, r, s))

    ops = {}
    first, later, dead = authorization(1), authorization(2), authorization(3)
    ops["approve payment, the day's first"] = gas(agent, bound.approvePayment(*first))
    ops["approve payment, later the same day"] = gas(agent, bound.approvePayment(*later))
    digest = bound.paymentDigest(*first).call()
    ops["x402 transfer from the treasury (ERC-1271)"] = collect(
        address, first, bytes(Account.unsafe_sign_hash(digest, agent.account.key).signature),
    )
    typed = {
        "domain": {"name": name, "version": version, "chainId": node.conn.chain_id, "verifyingContract": node.deployment.token},
        "types": {"TransferWithAuthorization": [
            {"name": n, "type": t} for n, t in (("from", "address"), ("to", "address"), ("value", "uint256"),
                                                ("validAfter", "uint256"), ("validBefore", "uint256"), ("nonce", "bytes32"))
        ]},
        "primaryType": "TransferWithAuthorization",
        "message": dict(zip(("to", "value", "validAfter", "validBefore", "nonce"), first, strict=True), **{"from": payer.address}),
    }
    signed = Account.sign_typed_data(payer.key, full_message=typed)
    ops["x402 transfer from an externally owned account"] = collect(payer.address, first, bytes(signed.signature))
    refunder = node.as_account(dev_account(9))
    refund_nonce, before = (5).to_bytes(32, "big"), int(time.time()) + 3_600
    v, r, s = sign_receive_authorization(
        refunder.account, node.token.functions.eip712Domain().call(), address, 10**16, 0, before, refund_nonce,
    )
    ops["refund quote − fee to the treasury (refundPayment, allowance restored)"] = gas(
        node, bound.refundPayment(*first, 10**16, before, refund_nonce, v, r, s),
    )
    ops["refund quote − fee to an account (plain transfer)"] = gas(refunder, node.token.functions.transfer(payer.address, 10**16))
    ops["cancel an unanswered payment: release a pending approval"] = gas(agent, bound.releasePayment(*later))
    unanswered = (4).to_bytes(32, "big")
    v, r, s = sign_cancel_authorization(payer, node.token.functions.eip712Domain().call(), unanswered)
    ops["cancel an unanswered payment: an account's cancelAuthorization"] = gas(
        node, node.token.functions.cancelAuthorization(payer.address, unanswered, v, r, s),
    )
    gas(agent, bound.approvePayment(*dead))
    treasury.set_limits(node, paused=True)
    ops["release an approval killed by a pause"] = gas(agent, bound.releasePayment(*dead))
    return ops


def _dao_gas(node) -> dict[str, int]:
    """A DAO on the node's token: stake, delegate, then a one-call proposal
    voted on by voters whose last checkpoint is before its snapshot (the usual
    case), queued and executed (a timelock delay of 0 seconds here: the
    embedded chain keeps wall-clock time)."""
    from web3 import Web3

    from tantieme.chain.accounts import dev_account
    from tantieme.chain.deploy import LOCAL_DAO, contract, deploy_dao

    dao = deploy_dao(node.conn, node.deployment, replace(LOCAL_DAO, timelock_delay=0))
    people = [node.as_account(dev_account(i)) for i in (5, 6, 7, 8)]
    ops: dict[str, int] = {}

    def gas(person, fn) -> int:
        return person.conn.transact(fn, gas=3_000_000)["gasUsed"]

    def votes(person):
        return contract(person.conn, "staked_votes", dao.votes).functions

    def governor(person):
        return contract(person.conn, "governor", dao.governor).functions

    node.faucet(dao.timelock, 10**21)
    for person in people:
        node.faucet(person.address, 10**21)
        person.conn.transact(person.token.functions.approve(dao.votes, 2**256 - 1), gas=100_000)
    alice, bob, carol, dave = people
    ops["stake, first (delegates to self)"] = gas(alice, votes(alice).stake(10**20))
    ops["stake, again"] = gas(alice, votes(alice).stake(10**20))
    for person in (bob, carol, dave):
        gas(person, votes(person).stake(10**20))
    ops["delegate"] = gas(dave, votes(dave).delegate(bob.address))
    ops["requestWithdrawal"] = gas(carol, votes(carol).requestWithdrawal(10**18))
    call = bytes.fromhex(node.token.functions.transfer(alice.address, 10**18)._encode_transaction_data()[2:])
    proposal = ([node.deployment.token], [0], [call])
    description = "pay alice 1 TAI from the treasury"
    ops["propose, 1 call"] = gas(alice, governor(alice).propose(*proposal, description))
    proposal_id = governor(alice).hashProposal(*proposal, Web3.keccak(text=description)).call()
    while governor(alice).state(proposal_id).call() == 0:  # Pending
        node.faucet(node.address, 1)
    ops["castVote"] = gas(alice, governor(alice).castVote(proposal_id, 1))
    ops["castVote, the first Against"] = gas(carol, governor(carol).castVote(proposal_id, 0))
    ops["castVote, adding to a count"] = gas(bob, governor(bob).castVote(proposal_id, 1))
    while governor(alice).state(proposal_id).call() == 1:  # Active
        node.faucet(node.address, 1)
    ops["queue, 1 call"] = gas(dave, governor(dave).queue(*proposal, Web3.keccak(text=description)))
    ops["execute, 1 token transfer"] = gas(dave, governor(dave).execute(*proposal, Web3.keccak(text=description)))
    ops.update(_counting_gas(node, dao, people))
    return ops


def _counting_gas(node, dao, people) -> dict[str, int]:
    """Quadratic and reputation votes on the DAO `dao`: the four people join the
    node's commons pool (invited by the node, a member by its own work); answers
    citing works of alice and bob settle and are credited, which earns their
    reputation in the same transaction (the DAO deployed here reads the
    reputation votes the router is wired to); a passed proposal makes the pool's `setBond` quadratic and
    `setDividendRules` reputation-counted; then a proposal of each kind is
    voted on."""
    import os

    from web3 import Web3

    from tantieme.assets import registry, royalties
    from tantieme.assets.terms import preset
    from tantieme.chain.accounts import dev_account
    from tantieme.chain.deploy import contract
    from tantieme.ledger import settlement

    assert dao.reputation_votes == node.deployment.reputation_votes  # one per router

    ops: dict[str, int] = {}

    def gas(person, fn) -> int:
        return person.conn.transact(fn, gas=3_000_000)["gasUsed"]

    def governor(person):
        return contract(person.conn, "governor", dao.governor).functions

    def mine_while(proposal_id: int, state: int) -> None:
        while governor(node).state(proposal_id).call() == state:
            node.faucet(node.address, 1)

    def passed(person, calls: list[tuple[str, bytes]], description: str, voters, execute: bool = True) -> int:
        """Propose `calls`, have `voters` vote For (the first's gas returned), then queue and
        execute (`execute`; this DAO owns none of the node's contracts, only its governor)."""
        targets, values, calldatas = [t for t, _ in calls], [0] * len(calls), [c for _, c in calls]
        gas(person, governor(person).propose(targets, values, calldatas, description))
        proposal_id = governor(person).hashProposal(targets, values, calldatas, Web3.keccak(text=description)).call()
        mine_while(proposal_id, 0)
        first = gas(voters[0], governor(voters[0]).castVote(proposal_id, 1))
        for voter in voters[1:]:
            gas(voter, governor(voter).castVote(proposal_id, 1))
        if not execute:
            return first
        mine_while(proposal_id, 1)
        gas(person, governor(person).queue(targets, values, calldatas, Web3.keccak(text=description)))
        gas(person, governor(person).execute(targets, values, calldatas, Web3.keccak(text=description)))
        return first

    def encoded(fn) -> bytes:
        return bytes.fromhex(fn._encode_transaction_data()[2:])

    alice, bob, carol, dave = people
    pool = contract(node.conn, "commons_pool", node.deployment.commons_pool)
    own = registry.register_hash(node, os.urandom(32), kind="work", terms=preset("open"), title="node's", media_type="text/plain").id
    node.conn.transact(pool.functions.join(own), gas=300_000)
    node.conn.transact(node.token.functions.approve(pool.address, 2**256 - 1), gas=100_000)
    for person in people:
        node.conn.transact(pool.functions.invite(person.address), gas=300_000)

    works = [
        registry.register_hash(node, os.urandom(32), kind="work", terms=preset("open"), title=f"w{i}", media_type="text/plain").id
        for i in range(2)
    ]
    model = registry.register_hash(node, os.urandom(32), kind="model", terms=preset("open"), title="m", media_type="application/octet-stream").id
    for person, work in zip((alice, bob), works, strict=True):
        node.conn.transact(node.registry.functions.transferFrom(node.address, person.address, work), gas=200_000)
    payer = dev_account(9)
    node.faucet(payer.address, 10**24)
    book = settlement.journal()
    settlement.record(
        node, payer, model=model, question="q", answer="a", sources=works, weights=[0.5, 0.3],
        prompt_tokens=600, completion_tokens=40, fee=10**18, details={}, book=book,
    )
    (settled,) = settlement.settle(node, {payer.address: payer}, book=book)
    ops["settle, 1 record"] = settled.gas
    # `claim`'s crediting earns the owners' reputation in the same transaction.
    mine_from = node.conn.w3.eth.block_number
    royalties.credit(node, works, book=book)
    reputation = contract(node.conn, "reputation_votes", dao.reputation_votes)
    logs = reputation.events.ReputationEarned.get_logs(from_block=mine_from)
    assert sorted(log["args"]["account"] for log in logs) == sorted((alice.address, bob.address))
    ops["credit 2 assets of a settled batch, their owners' first reputation"] = (
        node.conn.w3.eth.get_transaction_receipt(logs[0]["transactionHash"])["gasUsed"]
    )

    bond, rules = pool.functions.setBond(10**18), pool.functions.setDividendRules(30, 1_000, 14)
    table = [
        (dao.governor, encoded(governor(node).setCounting(pool.address, encoded(bond)[:4], 2))),
        (dao.governor, encoded(governor(node).setCounting(pool.address, encoded(rules)[:4], 1))),
    ]
    passed(alice, table, "count the bond quadratically and the dividend by reputation", [alice, bob, carol])
    ops["castVote, quadratic"] = passed(alice, [(pool.address, encoded(bond))], "a bond of 1 TAI", [alice, bob], False)
    ops["castVote, reputation"] = passed(alice, [(pool.address, encoded(rules))], "the same rules", [alice, bob], False)
    return ops


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    main()
