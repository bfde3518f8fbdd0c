"""Disputes: anyone challenges a registered asset with a bond and evidence; the DAO or its arbiter rules.

Upheld, the asset is tagged: the node no longer reads or cites it, nor its derivatives
for copied content (`exclusion_rule`, beside consent; `tantieme show`, the report and the
dashboard say why a work is left out by the same rule), it is shown disputed, and
its royalties go to the rightful party the judgement names. Rejected, the bond goes
to the asset's owner. Every call is tried first (an `eth_call`), so a refused one
sends nothing and says why, and how to fix it, in one line; the contract's rules are
in `contracts/SPEC.md` ("DisputeModule").
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from eth_utils import keccak
from web3.contract import Contract
from web3.logs import DISCARD

from tantieme.addresses import ZERO_ADDRESS
from tantieme.amounts import format_amount
from tantieme.chain.deploy import DISPUTE_TAGS, deployed_contract, router_marks, tag_bytes
from tantieme.chain.logs import event_logs
from tantieme.chain.transact import approve_if_short, send_checked
from tantieme.errors import ChainError, DisputeError, InputError, TantiemeError
from tantieme.node import Node

if TYPE_CHECKING:
    from tantieme.dao import Action

__all__ = [
    "REASONS", "STATUSES", "Dispute", "DisputeError", "Judgement", "Tag", "Tagging", "cancel", "cleared_since",
    "clear", "disputes", "evidence_of", "exclusion_rule", "limitation", "module", "raise_dispute", "redirect", "resolve",
    "retrieval_exclusion", "retrieval_status", "set_arbiter", "tag_of", "tagged", "tags_now",
]

_GAS = 400_000
_COPIED_REASON = "copied-content"
_MAX_URI = 256
# The contract's statuses, by number.
STATUSES = {1: "open", 2: "upheld", 3: "rejected", 4: "cancelled"}
# The reasons the CLI offers, as the deployment allows them (lower case, dashes).
REASONS = tuple(tag.lower().replace("_", "-") for tag in DISPUTE_TAGS)


@dataclass(frozen=True)
class Dispute:
    """A dispute as the chain holds it, with the evidence its raising logged."""

    id: int
    asset_id: int
    raiser: str
    bond: int  # token wei
    reason: str
    status: str  # open, upheld, rejected, cancelled
    evidence_hash: str
    evidence_uri: str


@dataclass(frozen=True)
class Judgement:
    """What a raise, cancel or judgement did: the dispute after it, and the tokens it moved."""

    dispute: Dispute
    tx: str
    gas: int
    redirected: int = 0  # royalties sent to the rightful party (upheld)
    rightful_party: str | None = None
    paid_to_owner: int = 0  # the bond (rejected) or the fee (cancelled) paid to the asset's owner
    note: str | None = None  # what the judgement could not do on this home (`limitation`)


@dataclass(frozen=True)
class Tag:
    """An upheld dispute's mark on an asset."""

    reason: str
    rightful_party: str


def module(node: Node) -> Contract:
    """The deployment's dispute module, bound."""
    return deployed_contract(node.conn, node.deployment, "disputes", "dispute_module", "dispute module")


def reason_of(tag: bytes) -> str:
    """A contract tag as the CLI names it (`COPIED_CONTENT` → `copied-content`)."""
    return tag.rstrip(b"\0").decode(errors="replace").lower().replace("_", "-")


def evidence_of(evidence: str) -> tuple[bytes, str]:
    """The evidence's hash and URI: a file's bytes hashed (no URI: publish it and give the URI
    to have one logged), or a URI's text hashed and logged."""
    path = Path(evidence)
    if path.is_file():
        return keccak(path.read_bytes()), ""
    if "://" not in evidence:
        raise InputError(f"evidence {evidence!r} is neither a file nor a URI (such as ipfs://… or https://…)")
    if len(evidence.encode()) > _MAX_URI:
        raise InputError(f"the evidence URI is {len(evidence.encode())} bytes; at most {_MAX_URI} are logged")
    return keccak(evidence.encode()), evidence


def raise_dispute(node: Node, asset_id: int, reason: str, evidence: str, max_bond: int | None = None) -> Judgement:
    """Challenge `asset_id` for `reason` (one of `REASONS`), depositing the module's bond (approved
    here if needed); `max_bond`: refuse if the bond is higher than the caller agreed to."""
    if reason not in REASONS:
        raise InputError(f"unknown reason {reason!r}; choose from {', '.join(REASONS)}")
    evidence_hash, uri = evidence_of(evidence)
    bound = module(node)
    bond = bound.functions.bond().call()
    if max_bond is not None and bond > max_bond:
        raise DisputeError(
            f"the dispute bond is {format_amount(bond)} TAI, more than the {format_amount(max_bond)} TAI "
            "you agreed to (--bond): nothing was sent"
        )
    call = bound.functions.raiseDispute(asset_id, tag_bytes(reason.upper().replace("-", "_")), evidence_hash, uri)
    approve_if_short(node.conn, node.token, call, bound.address, bond, lambda why: _refused(node, why, asset_id=asset_id))
    receipt = _send(node, call, asset_id=asset_id)
    (event,) = bound.events.DisputeRaised().process_receipt(receipt, errors=DISCARD)
    return Judgement(get(node, event.args.dispute_id), receipt["transactionHash"].to_0x_hex(), receipt["gasUsed"])


def resolve(node: Node, dispute_id: int, *, uphold: bool, to: str | None = None) -> Judgement:
    """Judge an open dispute as its arbiter or the module's owner: uphold (tag the asset, its royalties
    to `to`, by default the raiser; the bond back) or reject (the bond to the asset's owner)."""
    bound = module(node)
    dispute = get(node, dispute_id)
    if not uphold and to is not None:
        raise InputError("--to names who receives an upheld dispute's royalties: it goes with --uphold only")
    if uphold:
        rightful = to or dispute.raiser
        router = bound.functions.router().call()
        if router != ZERO_ADDRESS and not router_marks(node.conn, router):
            raise DisputeError(
                f"upholding dispute #{dispute_id} would tag asset #{dispute.asset_id} for good: {_NO_UNTAG}; nothing "
                "was sent"
            )
        if router == ZERO_ADDRESS and to is not None:
            raise DisputeError(f"--to cannot be honoured: {_NO_HOOK}; uphold without --to to tag the work only; "
                               "nothing was sent")
        _collect(node, dispute.asset_id)
        receipt = _send(node, bound.functions.uphold(dispute_id, rightful), dispute_id=dispute_id)
        (event,) = bound.events.DisputeUpheld().process_receipt(receipt, errors=DISCARD)
        return Judgement(get(node, dispute_id), receipt["transactionHash"].to_0x_hex(), receipt["gasUsed"],
                         redirected=event.args.redirected, rightful_party=rightful,
                         note=_NO_HOOK if router == ZERO_ADDRESS else None)
    receipt = _send(node, bound.functions.reject(dispute_id), dispute_id=dispute_id)
    (event,) = bound.events.DisputeRejected().process_receipt(receipt, errors=DISCARD)
    return Judgement(get(node, dispute_id), receipt["transactionHash"].to_0x_hex(), receipt["gasUsed"],
                     paid_to_owner=event.args.bond)


def redirect(node: Node, asset_id: int) -> int:
    """Send a tagged asset's royalties credited since its judgement (records signed before it and
    settled after) to its rightful party: credited from this node's journal and distributed up from
    its derivatives first. Anyone may. The amount, in token wei."""
    bound = module(node)
    if bound.functions.rightfulParty(asset_id).call() == ZERO_ADDRESS:
        raise DisputeError(f"asset #{asset_id} is not tagged by an upheld dispute: its royalties are its owner's")
    if bound.functions.router().call() == ZERO_ADDRESS:
        raise DisputeError(f"asset #{asset_id}'s royalties cannot be redirected: {_NO_HOOK}")
    _collect(node, asset_id)
    receipt = _send(node, bound.functions.redirect(asset_id), asset_id=asset_id)
    (event,) = bound.events.RoyaltiesRedirected().process_receipt(receipt, errors=DISCARD)
    return event.args.amount


def _collect(node: Node, asset_id: int) -> None:
    """Move what the asset is owed into the router's pending: credited from this node's journal's
    pools (its own and its derivatives'), and distributed up from its derivatives."""
    from tantieme.assets.registry import all_assets
    from tantieme.assets.royalties import credit, distribute_upstream, upstream_of

    credit(node, sorted(upstream_of(all_assets(node), [asset_id])))
    distribute_upstream(node, [asset_id])


def set_arbiter(node: Node, arbiter: str) -> Action:
    """The DAO's action appointing `arbiter` to judge disputes beside the module's owner (its
    timelock after the handover); the zero address appoints none. `Dao.propose` proposes it."""
    from tantieme.dao import Action

    bound = module(node).functions
    current = bound.arbiter().call()
    data = bound.setArbiter(arbiter)._encode_transaction_data()
    return Action(node.deployment.disputes, 0, bytes.fromhex(data[2:]),
                  f"appoint {arbiter} to judge disputes (now {current if current != ZERO_ADDRESS else 'nobody'})")


def clear(node: Node, asset_id: int) -> Action:
    """The DAO's action clearing `asset_id`'s tag on appeal (the module's `clearTag`): retrieval
    reads it, and its copied-content derivatives, again, and its owner claims its royalties
    again. `Dao.propose` proposes it. Refused here, in one line, where it could only revert."""
    from tantieme.dao import Action

    bound = module(node).functions
    tag = tag_of(node, asset_id)
    if tag is None:
        raise DisputeError(f"asset #{asset_id} is not tagged by an upheld dispute: there is no tag to clear")
    router = bound.router().call()
    if router != ZERO_ADDRESS and not router_marks(node.conn, router):
        raise DisputeError(f"asset #{asset_id}'s tag cannot be cleared: {_NO_UNTAG}")
    data = bound.clearTag(asset_id)._encode_transaction_data()
    return Action(node.deployment.disputes, 0, bytes.fromhex(data[2:]),
                  f"clear asset #{asset_id}'s {tag.reason} tag (its royalties to its owner again)")


def limitation(node: Node) -> str | None:
    """What this home's dispute module cannot do, by the royalty router it was built for, and the
    way out; None: it does everything (tag, redirect royalties, stop the owner's claim, clear)."""
    if node.deployment.disputes is None:
        return None
    router = module(node).functions.router().call()
    if router == ZERO_ADDRESS:
        return _NO_HOOK
    return None if router_marks(node.conn, router) else _NO_UNTAG


# What a dispute module built for an older home's router cannot do, and the way out: the router
# is fixed in the registry, so only contracts deployed anew (a new home's `tantieme init`) have it.
_NEW_HOME = "contracts deployed anew can (`tantieme init` in a new TANTIEME_HOME, works registered there)"
_NO_HOOK = (
    "this home's royalty router predates the dispute hook, so an upheld dispute takes the work out of "
    f"retrieval but cannot move its royalties or stop its owner's claim; {_NEW_HOME}"
)
_NO_UNTAG = (
    "this home's dispute module calls `untag` on a royalty router whose code predates it, so a tag "
    f"could never be cleared on appeal; {_NEW_HOME}"
)


def cancel(node: Node, dispute_id: int) -> Judgement:
    """Withdraw one's open dispute: the bond back, less the fee the module pays the asset's owner."""
    bound = module(node)
    receipt = _send(node, bound.functions.cancel(dispute_id), dispute_id=dispute_id)
    (event,) = bound.events.DisputeCancelled().process_receipt(receipt, errors=DISCARD)
    return Judgement(get(node, dispute_id), receipt["transactionHash"].to_0x_hex(), receipt["gasUsed"],
                     paid_to_owner=event.args.fee)


def get(node: Node, dispute_id: int) -> Dispute:
    """One dispute; a clear error if there is none."""
    found = disputes(node, ids=[dispute_id])
    if not found:
        raise DisputeError(f"there is no dispute #{dispute_id}: `tantieme dispute list` shows them")
    return found[0]


def disputes(node: Node, *, open_only: bool = False, ids: list[int] | None = None) -> list[Dispute]:
    """Every dispute (or those of `ids`), oldest first, with the evidence their raising logged."""
    bound = module(node)
    count = bound.functions.disputeCount().call()
    wanted = [i for i in (ids if ids is not None else range(1, count + 1)) if 1 <= i <= count]
    if not wanted:
        return []
    filters = {"dispute_id": wanted} if ids is not None else {}
    logs = event_logs(bound.events.DisputeRaised(), node.deployment.block, **filters)
    evidence = {log.args.dispute_id: (log.args.evidence_hash, log.args.evidence_uri) for log in logs}
    found = []
    for dispute_id in wanted:
        asset_id, raiser, bond, tag, status = bound.functions.disputes(dispute_id).call()
        if open_only and STATUSES[status] != "open":
            continue
        evidence_hash, uri = evidence.get(dispute_id, (b"", ""))
        found.append(Dispute(dispute_id, asset_id, raiser, bond, reason_of(tag), STATUSES[status],
                             "0x" + bytes(evidence_hash).hex(), uri))
    return found


def tagged(node: Node) -> Callable[[int], bool]:
    """The live answer to "did an upheld dispute tag this asset?" (never, on a deployment without disputes)."""
    if node.deployment.disputes is None:
        return lambda asset_id: False
    is_tagged = module(node).functions.isTagged  # one binding for every check
    return lambda asset_id: bool(is_tagged(asset_id).call())


@dataclass(frozen=True)
class Tagging:
    """An upheld dispute's tag on an asset: its reason, and the dispute when it is known."""

    reason: str  # copied-content, missing-training-data, contradicting-terms
    dispute_id: int | None = None

    def spoken(self) -> str:
        """`copied content (dispute 3)`."""
        said = self.reason.replace("-", " ")
        return said if self.dispute_id is None else f"{said} (dispute {self.dispute_id})"


def exclusion_rule(
    consents: Callable[[int], bool],
    tag: Callable[[int], Tagging | None],
    parents: Callable[[int], Sequence[int]],
) -> Callable[[int], str | None]:
    """The one rule for "why does retrieval leave this asset out?", over the readings given:
    an upheld dispute tagged it, its terms (narrowed by its ancestors') refuse retrieval, or an
    ancestor, at any depth, is tagged for copied content (a derivative of copied content
    carries the copy; the chain tags only what a judgement named, so its royalties still
    flow). The reason in words, the nearest ancestor first; None: retrieval reads it. The
    node's filter (`retrieval_exclusion`) and what the report, `tantieme show` and the
    dashboard say (`retrieval_status`) are this rule over live calls or over the event logs."""

    def why(asset_id: int) -> str | None:
        own = tag(asset_id)
        if own is not None:
            return f"tagged {own.spoken()}"
        if not consents(asset_id):
            return "no consent to retrieval (its terms or an ancestor's)"
        seen, todo = {asset_id}, deque([asset_id])
        while todo:
            for parent in parents(todo.popleft()):
                if parent in seen:
                    continue
                seen.add(parent)
                found = tag(parent)
                if found is not None and found.reason == _COPIED_REASON:
                    return f"ancestor {parent} tagged {found.spoken()}"
                todo.append(parent)
        return None

    return why


def retrieval_exclusion(node: Node, tags: Mapping[int, Tagging] | None = None) -> Callable[[int], str | None]:
    """`exclusion_rule` over the chain now: consent and parents read live, the tags live (`tags`
    None: the retrieval filter's reading, without dispute numbers) or as given (`tags_now`).
    Each asset's consent, tag and parents are read once per predicate."""
    consent_of, parents_of = node.registry.functions.aiConsent, node.registry.functions.parentShares
    tag_of_ = None if node.deployment.disputes is None or tags is not None else module(node).functions.tagOf

    def live_tag(asset_id: int) -> Tagging | None:
        if tags is not None:
            return tags.get(asset_id)
        if tag_of_ is None:
            return None
        tag = bytes(tag_of_(asset_id).call())
        return Tagging(reason_of(tag)) if tag != bytes(32) else None

    return exclusion_rule(
        cache(lambda asset_id: bool(consent_of(asset_id).call()[2])),
        cache(live_tag),
        cache(lambda asset_id: tuple(parents_of(asset_id).call()[0])),
    )


def retrieval_status(kind: str, reason: str | None) -> dict:
    """Whether retrieval reads an asset of `kind`, by the rule's `reason` (None: it may), as the
    report, `tantieme show` and the dashboard give it; only works and datasets are indexed."""
    from tantieme.interaction import INDEXED_KINDS

    if kind not in INDEXED_KINDS:
        reason = f"a {kind} is not a document retrieval reads (works and datasets are)"
    return {"included": reason is None, "reason": reason}


def cleared_since(node: Node, block: int) -> list[int]:
    """The assets whose tag an appeal cleared (`clearTag`) from `block` on: retrieval may read them,
    and their copied-content derivatives, again."""
    if node.deployment.disputes is None:
        return []
    return [log.args.asset_id for log in event_logs(module(node).events.TagCleared(), block)]


def tags_now(node: Node) -> dict[int, Tagging]:
    """The assets tagged now, with the upheld dispute's reason and number: its judgements and
    appeals replayed in order."""
    if node.deployment.disputes is None:
        return {}
    events = module(node).events
    logs = [*event_logs(events.DisputeUpheld(), node.deployment.block),
            *event_logs(events.TagCleared(), node.deployment.block)]
    tagged: dict[int, Tagging] = {}
    for log in sorted(logs, key=lambda log: (log["blockNumber"], log["logIndex"])):
        if log["event"] == "DisputeUpheld":
            tagged[log["args"]["asset_id"]] = Tagging(reason_of(log["args"]["tag"]), log["args"]["dispute_id"])
        else:
            tagged.pop(log["args"]["asset_id"], None)
    return tagged


def tag_of(node: Node, asset_id: int) -> Tag | None:
    """The asset's tag and where its royalties go, if an upheld dispute tagged it."""
    if node.deployment.disputes is None:
        return None
    bound = module(node).functions
    tag = bound.tagOf(asset_id).call()
    if tag == bytes(32):
        return None
    return Tag(reason_of(tag), bound.rightfulParty(asset_id).call())


def _send(node: Node, call, **context):
    """Try `call`, then send it; a refusal is a `DisputeError` saying why and what to do."""
    return send_checked(node.conn, call, _GAS, lambda reason: _refused(node, reason, **context))


def _refused(node: Node, reason: str, asset_id: int | None = None, dispute_id: int | None = None) -> TantiemeError:
    """The user's message for a revert reason of the module (or its token)."""
    if reason == "erc20: transfer amount exceeds balance":
        bond = module(node).functions.bond().call()
        return DisputeError(
            f"a dispute bonds {format_amount(bond)} TAI and {node.address} holds "
            f"{format_amount(node.balance())} TAI: get AI tokens first; nothing was sent"
        )
    if reason == "disputes: caller is not the arbiter or the owner":
        bound = module(node).functions
        arbiter = bound.arbiter().call()
        who = f"its arbiter ({arbiter})" if arbiter != ZERO_ADDRESS else "no arbiter is appointed"
        return DisputeError(
            f"only the dispute module's arbiter or owner judges disputes: {who}, its owner is "
            f"{bound.owner().call()}, not {node.address}; once the DAO owns the module, a proposal judges "
            "or appoints an arbiter"
        )
    messages = {
        "disputes: unknown asset": f"there is no asset #{asset_id}: `tantieme assets` lists them",
        "disputes: tag not allowed": "the dispute module no longer allows that reason (the DAO changed the list)",
        "disputes: no evidence": "a dispute needs evidence: a file or a URI",
        "disputes: caller has an open dispute on the asset": (
            f"you have an open dispute on asset #{asset_id} already: wait for its judgement, or cancel it "
            "(`tantieme dispute cancel ID`)"
        ),
        "disputes: asset already tagged": f"asset #{asset_id} is tagged already by an upheld dispute",
        "disputes: unknown dispute": f"there is no dispute #{dispute_id}: `tantieme dispute list` shows them",
        "disputes: dispute already closed": f"dispute #{dispute_id} is closed already: a dispute is judged once",
        "disputes: caller is not the raiser": f"only whoever raised dispute #{dispute_id} can cancel it",
        "disputes: rightful party is the zero address": "the zero address cannot receive royalties",
    }
    if reason in messages:
        return DisputeError(messages[reason] + "; nothing was sent")
    return ChainError(reason)
