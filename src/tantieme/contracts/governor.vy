# pragma version ~=0.4.3
# pragma nonreentrancy off
"""
@title tantieme Governor
@custom:contract-name governor
@license GNU Affero General Public License v3.0 only
@notice The DAO's decisions, with OpenZeppelin's Governor (v5) proposal
        lifecycle, functions and events, so that governance tools read
        it as they read OpenZeppelin's:
        - proposals are lists of calls the timelock makes (`propose`,
          `hashProposal` computed as OpenZeppelin computes it); a
          proposer needs `proposalThreshold` votes at the previous block;
        - votes are read from the staked-votes contract (ERC-5805) at the
          proposal's snapshot, `votingDelay` blocks (at least one) after
          the proposal: voting power bought, borrowed or staked once a
          proposal is known counts for nothing;
        - votes are Against (0), For (1), Abstain (2); a proposal
          succeeds when For exceeds Against and For plus Abstain reach
          the quorum, a checkpointed fraction of the electorate at the
          snapshot (`COUNTING_MODE` "support=bravo&quorum=for,abstain");
        - three ways to weigh a vote, fixed per proposal when it is made
          (`proposalCounting`), from a table of the calls it makes
          (`countingOf[target][selector]`, set by proposals only):
          TOKEN (0, the default) the voter's staked votes; REPUTATION
          (1) its decaying reputation from attributed earnings
          (`reputation_votes.vy`); QUADRATIC (2) the integer square
          root of its staked votes, for commons-pool members at the
          snapshot only (one registered person, √ of its voice
          credits). A proposal whose calls name several takes the
          strictest, the highest number: tokens can be bought,
          reputation only earned, a quadratic voice needs a person;
        - a successful proposal is queued in the timelock (snekmate's
          `timelock_controller`, of which this governor is the only
          proposer, canceller and executor) and executed after its delay,
          within `GRACE_PERIOD` seconds or never (Expired);
        - the eight states of OpenZeppelin's `ProposalState`: Pending,
          Active, Canceled, Defeated, Succeeded, Queued, Expired,
          Executed; `castVoteBySig` takes EIP-712 `Ballot` signatures
          with a nonce per voter (secp256k1 or ERC-1271);
        - the parameters (`votingDelay`, `votingPeriod`,
          `proposalThreshold`, the quorum fraction) change only through
          proposals, by calls from the timelock.
@custom:security Every state change is made by the governor before it
                 calls out, and it calls only the votes contract (views)
                 and the timelock. A proposal's calls run from the
                 timelock, never from here. Nothing is `payable`: calls
                 that move ether spend the timelock's own.
"""


# @dev The votes contract (ERC-5805) the governor reads.
interface IVotes:
    def getPastVotes(account: address, timepoint: uint256) -> uint256: view
    def getPastTotalSupply(timepoint: uint256) -> uint256: view


# @dev The commons pool's membership at a past block (quadratic voting).
interface IMembers:
    def memberAt(account: address, timepoint: uint256) -> bool: view
    def memberCount() -> uint256: view


# @dev The part of snekmate's `timelock_controller` the governor uses
# (declared with this governor's bounds: the ABI is the same).
interface ITimelock:
    def get_minimum_delay() -> uint256: view
    def is_operation_pending(id: bytes32) -> bool: view
    def is_operation_done(id: bytes32) -> bool: view
    def schedule(
        target: address, amount: uint256, payload: Bytes[MAX_PAYLOAD], predecessor: bytes32, salt: bytes32, delay: uint256
    ): nonpayable
    def execute(target: address, amount: uint256, payload: Bytes[MAX_PAYLOAD], predecessor: bytes32, salt: bytes32): payable
    def schedule_batch(
        targets: DynArray[address, MAX_ACTIONS],
        amounts: DynArray[uint256, MAX_ACTIONS],
        payloads: DynArray[Bytes[MAX_PAYLOAD], MAX_ACTIONS],
        predecessor: bytes32,
        salt: bytes32,
        delay: uint256,
    ): nonpayable
    def execute_batch(
        targets: DynArray[address, MAX_ACTIONS],
        amounts: DynArray[uint256, MAX_ACTIONS],
        payloads: DynArray[Bytes[MAX_PAYLOAD], MAX_ACTIONS],
        predecessor: bytes32,
        salt: bytes32,
    ): payable


# @dev EIP-5267 `eip712Domain`, so wallets can discover the domain.
from snekmate.utils.interfaces import IERC5267
implements: IERC5267


# @dev The EIP-712 domain of ballot signatures.
from snekmate.utils import eip712_domain_separator
initializes: eip712_domain_separator


# @dev Checks secp256k1 (low s) and ERC-1271 signatures of ballots.
from snekmate.utils import signature_checker


# @dev The quorum fraction's history, by block number.
from . import checkpoints
initializes: checkpoints


exports: eip712_domain_separator.eip712Domain


# @dev Most calls in one proposal.
MAX_ACTIONS: public(constant(uint256)) = 8


# @dev Longest calldata of one call, in bytes (the timelock's bound).
MAX_PAYLOAD: public(constant(uint256)) = 1_024


# @dev Longest proposal description, in bytes.
MAX_DESCRIPTION: public(constant(uint256)) = 4_096


# @dev Longest reason given with a vote, in bytes.
MAX_REASON: public(constant(uint256)) = 1_024


# @dev Seconds after its timelock delay during which a queued proposal
# can be executed; later it is Expired (as Compound's GovernorBravo).
GRACE_PERIOD: public(constant(uint256)) = 14 * 86_400


# @dev The quorum fraction's denominator (a numerator of 4 is 4 %).
QUORUM_DENOMINATOR: constant(uint256) = 100


# @dev OpenZeppelin's EIP-712 type hash of a signed vote.
BALLOT_TYPEHASH: public(constant(bytes32)) = keccak256(
    "Ballot(uint256 proposalId,uint8 support,address voter,uint256 nonce)"
)


# @dev OpenZeppelin's `ProposalState`, in its order.
PENDING: constant(uint8) = 0
ACTIVE: constant(uint8) = 1
CANCELED: constant(uint8) = 2
DEFEATED: constant(uint8) = 3
SUCCEEDED: constant(uint8) = 4
QUEUED: constant(uint8) = 5
EXPIRED: constant(uint8) = 6
EXECUTED: constant(uint8) = 7


# @dev Vote types (GovernorBravo's `support`).
VOTE_AGAINST: constant(uint8) = 0
VOTE_FOR: constant(uint8) = 1
VOTE_ABSTAIN: constant(uint8) = 2


# @dev Ways to count, in rising strictness (a proposal takes the highest
# its calls name).
TOKEN: public(constant(uint8)) = 0
REPUTATION: public(constant(uint8)) = 1
QUADRATIC: public(constant(uint8)) = 2


# @dev The checkpoint key of the quorum numerator's history.
_QUORUM_KEY: constant(address) = empty(address)


# @dev EIP-712 domain version of ballot signatures.
_VERSION: constant(String[20]) = "1"


# @dev A proposal: who made it, its snapshot and last voting block
# (block numbers), its end states, the Unix time in seconds from which
# the timelock can execute it (0 until queued), how its votes are
# counted and, for QUADRATIC, the pool's members when it was made.
struct Proposal:
    proposer: address
    vote_start: uint256
    vote_end: uint256
    executed: bool
    canceled: bool
    eta: uint256
    counting: uint8
    electorate: uint256


# @dev A proposal's votes, in units of its counting's voting power.
struct Tally:
    against: uint256
    in_favour: uint256
    abstain: uint256


# @dev The governor's name (its EIP-712 domain name).
name: public(immutable(String[50]))


# @dev The ERC-5805 votes contract.
token: public(immutable(address))


# @dev The timelock that executes proposals.
timelock: public(immutable(address))


# @dev The commons pool whose members vote in QUADRATIC proposals.
commons: public(immutable(address))


# @dev The reputation votes (ERC-5805 reads) of REPUTATION proposals.
reputation: public(immutable(address))


# @dev Blocks between a proposal and its snapshot (at least 1).
votingDelay: public(uint256)


# @dev Blocks during which a proposal takes votes, after its snapshot.
votingPeriod: public(uint256)


# @dev Votes a proposer needs at the previous block, in token wei.
proposalThreshold: public(uint256)


# @dev Whether `account` voted on `proposalId`.
hasVoted: public(HashMap[uint256, HashMap[address, bool]])


# @dev The next ballot signature nonce of each voter.
nonces: public(HashMap[address, uint256])


# @dev How a proposal counts when it calls `selector` on `target`
# (TOKEN unless set).
countingOf: public(HashMap[address, HashMap[bytes4, uint8]])


# @dev Each proposal, by id.
_proposals: HashMap[uint256, Proposal]


# @dev Each proposal's votes, by id.
_tallies: HashMap[uint256, Tally]


# @dev The timelock's operation id of each queued proposal.
_timelock_ids: HashMap[uint256, bytes32]


# @dev OpenZeppelin's `IGovernor` events, as tools index them.
event ProposalCreated:
    proposalId: uint256
    proposer: address
    targets: DynArray[address, MAX_ACTIONS]
    values: DynArray[uint256, MAX_ACTIONS]
    signatures: DynArray[String[1], MAX_ACTIONS]
    calldatas: DynArray[Bytes[MAX_PAYLOAD], MAX_ACTIONS]
    voteStart: uint256
    voteEnd: uint256
    description: String[MAX_DESCRIPTION]


event ProposalQueued:
    proposalId: uint256
    etaSeconds: uint256


event ProposalExecuted:
    proposalId: uint256


event ProposalCanceled:
    proposalId: uint256


event VoteCast:
    voter: indexed(address)
    proposalId: uint256
    support: uint8
    weight: uint256
    reason: String[MAX_REASON]


# @dev OpenZeppelin's parameter events.
event VotingDelaySet:
    oldVotingDelay: uint256
    newVotingDelay: uint256


event VotingPeriodSet:
    oldVotingPeriod: uint256
    newVotingPeriod: uint256


event ProposalThresholdSet:
    oldProposalThreshold: uint256
    newProposalThreshold: uint256


event QuorumNumeratorUpdated:
    oldQuorumNumerator: uint256
    newQuorumNumerator: uint256


event TimelockChange:
    oldTimelock: address
    newTimelock: address


# @dev A proposal calling `selector` on `target` counts by `counting`.
event CountingSet:
    target: indexed(address)
    selector: indexed(bytes4)
    counting: uint8


@deploy
def __init__(
    name_: String[50],
    token_: address,
    timelock_: address,
    commons_: address,
    reputation_: address,
    voting_delay_: uint256,
    voting_period_: uint256,
    proposal_threshold_: uint256,
    quorum_numerator_: uint256,
):
    """
    @dev We deploy with name "tantieme DAO"; the timelock must then make
         this governor its proposer, canceller and executor.
    @param name_ The governor's name and EIP-712 domain name.
    @param token_ The ERC-5805 votes contract.
    @param timelock_ The snekmate timelock that executes proposals.
    @param commons_ The commons pool (members vote in QUADRATIC proposals).
    @param reputation_ The reputation votes (REPUTATION proposals).
    @param voting_delay_ Blocks from a proposal to its snapshot (at least 1).
    @param voting_period_ Blocks of voting (at least 1).
    @param proposal_threshold_ Votes a proposer needs, in token wei.
    @param quorum_numerator_ The quorum in percent of the staked supply.
    """
    eip712_domain_separator.__init__(name_, _VERSION)
    checkpoints.__init__()
    name = name_
    token = token_
    timelock = timelock_
    commons = commons_
    reputation = reputation_
    log TimelockChange(oldTimelock=empty(address), newTimelock=timelock_)
    self._set_voting_delay(voting_delay_)
    self._set_voting_period(voting_period_)
    self._set_proposal_threshold(proposal_threshold_)
    self._update_quorum_numerator(quorum_numerator_)


# PROPOSALS #


@external
def propose(
    targets: DynArray[address, MAX_ACTIONS],
    values: DynArray[uint256, MAX_ACTIONS],
    calldatas: DynArray[Bytes[MAX_PAYLOAD], MAX_ACTIONS],
    description: String[MAX_DESCRIPTION],
) -> uint256:
    """
    @dev Proposes that the timelock make the calls `targets[i]` with
         `values[i]` wei and `calldatas[i]`; voting opens after
         `votingDelay` blocks and lasts `votingPeriod` blocks. Its
         votes are counted the strictest way its calls name
         (`countingOf`), fixed now.
    @param targets The contracts to call (1 to `MAX_ACTIONS`).
    @param values The wei to send with each call (from the timelock).
    @param calldatas The ABI-encoded calls.
    @param description The proposal's text (its hash makes it unique).
    @return uint256 The proposal id (`hashProposal`).
    """
    assert (
        staticcall IVotes(token).getPastVotes(msg.sender, block.number - 1) >= self.proposalThreshold
    ), "governor: proposer votes below threshold"
    assert len(targets) == len(values) and len(targets) == len(calldatas), "governor: invalid proposal length"
    assert len(targets) != 0, "governor: empty proposal"
    proposal_id: uint256 = self._hash_proposal(targets, values, calldatas, keccak256(description))
    assert self._proposals[proposal_id].vote_start == 0, "governor: proposal already exists"
    snapshot: uint256 = block.number + self.votingDelay
    deadline: uint256 = snapshot + self.votingPeriod
    counting: uint8 = self._counting(targets, calldatas)
    electorate: uint256 = 0
    if counting == QUADRATIC:
        electorate = staticcall IMembers(commons).memberCount()
    self._proposals[proposal_id] = Proposal(
        proposer=msg.sender,
        vote_start=snapshot,
        vote_end=deadline,
        executed=False,
        canceled=False,
        eta=0,
        counting=counting,
        electorate=electorate,
    )
    signatures: DynArray[String[1], MAX_ACTIONS] = []
    for _: address in targets:
        signatures.append("")
    log ProposalCreated(
        proposalId=proposal_id,
        proposer=msg.sender,
        targets=targets,
        values=values,
        signatures=signatures,
        calldatas=calldatas,
        voteStart=snapshot,
        voteEnd=deadline,
        description=description,
    )
    return proposal_id


@external
def queue(
    targets: DynArray[address, MAX_ACTIONS],
    values: DynArray[uint256, MAX_ACTIONS],
    calldatas: DynArray[Bytes[MAX_PAYLOAD], MAX_ACTIONS],
    description_hash: bytes32,
) -> uint256:
    """
    @dev Schedules a Succeeded proposal's calls in the timelock, with its
         minimum delay, as one operation (OpenZeppelin's salt, no
         predecessor): a single call with `schedule`, several with
         `schedule_batch` (whose 255-call bounds cost about 3 million gas
         in memory); anyone may call it.
    @param targets The proposal's targets.
    @param values The proposal's values.
    @param calldatas The proposal's calldatas.
    @param description_hash The keccak256 of the proposal's description.
    @return uint256 The proposal id.
    """
    proposal_id: uint256 = self._hash_proposal(targets, values, calldatas, description_hash)
    assert self._state(proposal_id) == SUCCEEDED, "governor: proposal has not succeeded"
    salt: bytes32 = self._timelock_salt(description_hash)
    delay: uint256 = staticcall ITimelock(timelock).get_minimum_delay()
    eta: uint256 = block.timestamp + delay
    self._proposals[proposal_id].eta = eta
    if len(targets) == 1:
        self._timelock_ids[proposal_id] = keccak256(
            abi_encode(targets[0], values[0], calldatas[0], empty(bytes32), salt)
        )
        extcall ITimelock(timelock).schedule(targets[0], values[0], calldatas[0], empty(bytes32), salt, delay)
    else:
        self._timelock_ids[proposal_id] = keccak256(abi_encode(targets, values, calldatas, empty(bytes32), salt))
        extcall ITimelock(timelock).schedule_batch(targets, values, calldatas, empty(bytes32), salt, delay)
    log ProposalQueued(proposalId=proposal_id, etaSeconds=eta)
    return proposal_id


@external
def execute(
    targets: DynArray[address, MAX_ACTIONS],
    values: DynArray[uint256, MAX_ACTIONS],
    calldatas: DynArray[Bytes[MAX_PAYLOAD], MAX_ACTIONS],
    description_hash: bytes32,
) -> uint256:
    """
    @dev Has the timelock make a Queued proposal's calls (`execute` or
         `execute_batch`, as queued), once its delay is over (the timelock
         checks it); anyone may call it.
    @param targets The proposal's targets.
    @param values The proposal's values.
    @param calldatas The proposal's calldatas.
    @param description_hash The keccak256 of the proposal's description.
    @return uint256 The proposal id.
    """
    proposal_id: uint256 = self._hash_proposal(targets, values, calldatas, description_hash)
    assert self._state(proposal_id) == QUEUED, "governor: proposal is not queued"
    self._proposals[proposal_id].executed = True
    self._timelock_ids[proposal_id] = empty(bytes32)
    salt: bytes32 = self._timelock_salt(description_hash)
    if len(targets) == 1:
        extcall ITimelock(timelock).execute(targets[0], values[0], calldatas[0], empty(bytes32), salt)
    else:
        extcall ITimelock(timelock).execute_batch(targets, values, calldatas, empty(bytes32), salt)
    log ProposalExecuted(proposalId=proposal_id)
    return proposal_id


@external
def cancel(
    targets: DynArray[address, MAX_ACTIONS],
    values: DynArray[uint256, MAX_ACTIONS],
    calldatas: DynArray[Bytes[MAX_PAYLOAD], MAX_ACTIONS],
    description_hash: bytes32,
) -> uint256:
    """
    @dev The proposer withdraws its proposal before voting opens.
    @param targets The proposal's targets.
    @param values The proposal's values.
    @param calldatas The proposal's calldatas.
    @param description_hash The keccak256 of the proposal's description.
    @return uint256 The proposal id.
    """
    proposal_id: uint256 = self._hash_proposal(targets, values, calldatas, description_hash)
    assert self._state(proposal_id) == PENDING, "governor: proposal is not pending"
    assert msg.sender == self._proposals[proposal_id].proposer, "governor: caller is not the proposer"
    self._proposals[proposal_id].canceled = True
    log ProposalCanceled(proposalId=proposal_id)
    return proposal_id


# VOTING #


@external
def castVote(proposal_id: uint256, support: uint8) -> uint256:
    """
    @dev Votes on an Active proposal with the caller's votes at its
         snapshot.
    @param proposal_id The proposal.
    @param support 0 Against, 1 For, 2 Abstain.
    @return uint256 The weight of the vote, in token wei.
    """
    return self._cast_vote(proposal_id, msg.sender, support, "")


@external
def castVoteWithReason(proposal_id: uint256, support: uint8, reason: String[MAX_REASON]) -> uint256:
    """
    @dev `castVote`, with a reason logged in `VoteCast`.
    @param proposal_id The proposal.
    @param support 0 Against, 1 For, 2 Abstain.
    @param reason The voter's reason.
    @return uint256 The weight of the vote, in token wei.
    """
    return self._cast_vote(proposal_id, msg.sender, support, reason)


@external
def castVoteBySig(proposal_id: uint256, support: uint8, voter: address, signature: Bytes[65]) -> uint256:
    """
    @dev A vote signed by `voter` (EIP-712 `Ballot` over its current
         nonce, which it spends; secp256k1 or ERC-1271); anyone may
         submit it.
    @param proposal_id The proposal.
    @param support 0 Against, 1 For, 2 Abstain.
    @param voter The account that votes.
    @param signature Its 65-byte signature `r ‖ s ‖ v`.
    @return uint256 The weight of the vote, in token wei.
    """
    nonce: uint256 = self.nonces[voter]
    digest: bytes32 = eip712_domain_separator._hash_typed_data_v4(
        keccak256(abi_encode(BALLOT_TYPEHASH, proposal_id, support, voter, nonce))
    )
    assert signature_checker._is_valid_signature_now(voter, digest, signature), "governor: invalid signature"
    # Cannot overflow: a nonce grows by one per signed vote.
    self.nonces[voter] = unsafe_add(nonce, 1)
    return self._cast_vote(proposal_id, voter, support, "")


# PARAMETERS (through proposals only) #


@external
def setVotingDelay(new_voting_delay: uint256):
    """
    @dev Sets the blocks between a proposal and its snapshot.
    @param new_voting_delay Blocks (at least 1).
    """
    self._only_governance()
    self._set_voting_delay(new_voting_delay)


@external
def setVotingPeriod(new_voting_period: uint256):
    """
    @dev Sets the blocks of voting.
    @param new_voting_period Blocks (at least 1).
    """
    self._only_governance()
    self._set_voting_period(new_voting_period)


@external
def setProposalThreshold(new_proposal_threshold: uint256):
    """
    @dev Sets the votes a proposer needs.
    @param new_proposal_threshold Votes in token wei.
    """
    self._only_governance()
    self._set_proposal_threshold(new_proposal_threshold)


@external
def updateQuorumNumerator(new_quorum_numerator: uint256):
    """
    @dev Sets the quorum fraction for proposals whose snapshot is at or
         after this block.
    @param new_quorum_numerator The quorum in percent (at most 100).
    """
    self._only_governance()
    self._update_quorum_numerator(new_quorum_numerator)


@external
def setCounting(target: address, selector: bytes4, counting: uint8):
    """
    @dev Sets how proposals made from now on count when they call
         `selector` on `target` (proposals already made keep theirs).
    @param target The contract called.
    @param selector The function's 4-byte selector (0x00000000 for calls
           with less than 4 bytes of calldata).
    @param counting TOKEN (0), REPUTATION (1) or QUADRATIC (2); QUADRATIC
           needs the commons pool and REPUTATION the reputation votes
           this governor was deployed with.
    """
    self._only_governance()
    assert counting <= QUADRATIC, "governor: unknown counting"
    assert counting != QUADRATIC or commons != empty(address), "governor: no commons pool to count quadratically"
    assert counting != REPUTATION or reputation != empty(address), "governor: no reputation votes to count by"
    self.countingOf[target][selector] = counting
    log CountingSet(target=target, selector=selector, counting=counting)


# VIEWS #


@external
@view
def state(proposal_id: uint256) -> uint8:
    """
    @dev The proposal's state, OpenZeppelin's `ProposalState`: 0 Pending,
         1 Active, 2 Canceled, 3 Defeated, 4 Succeeded, 5 Queued,
         6 Expired, 7 Executed.
    @param proposal_id The proposal.
    @return uint8 Its state.
    """
    return self._state(proposal_id)


@external
@pure
def hashProposal(
    targets: DynArray[address, MAX_ACTIONS],
    values: DynArray[uint256, MAX_ACTIONS],
    calldatas: DynArray[Bytes[MAX_PAYLOAD], MAX_ACTIONS],
    description_hash: bytes32,
) -> uint256:
    """
    @dev OpenZeppelin's proposal id: uint256(keccak256(abi.encode(targets,
         values, calldatas, descriptionHash))).
    @param targets The proposal's targets.
    @param values The proposal's values.
    @param calldatas The proposal's calldatas.
    @param description_hash The keccak256 of the proposal's description.
    @return uint256 The proposal id.
    """
    return self._hash_proposal(targets, values, calldatas, description_hash)


@external
@view
def proposalSnapshot(proposal_id: uint256) -> uint256:
    """
    @dev The block at whose end voting power is read (0 if unknown).
    @param proposal_id The proposal.
    @return uint256 The snapshot block number.
    """
    return self._proposals[proposal_id].vote_start


@external
@view
def proposalDeadline(proposal_id: uint256) -> uint256:
    """
    @dev The last block in which votes are taken (0 if unknown).
    @param proposal_id The proposal.
    @return uint256 The deadline block number.
    """
    return self._proposals[proposal_id].vote_end


@external
@view
def proposalProposer(proposal_id: uint256) -> address:
    """
    @dev Who proposed it (address 0 if unknown).
    @param proposal_id The proposal.
    @return address The proposer.
    """
    return self._proposals[proposal_id].proposer


@external
@view
def proposalEta(proposal_id: uint256) -> uint256:
    """
    @dev The Unix time in seconds from which a queued proposal can be
         executed (0 until queued).
    @param proposal_id The proposal.
    @return uint256 Its eta.
    """
    return self._proposals[proposal_id].eta


@external
@pure
def proposalNeedsQueuing(proposal_id: uint256) -> bool:
    """
    @dev Every proposal goes through the timelock.
    @param proposal_id The proposal.
    @return bool True.
    """
    return True


@external
@view
def proposalCounting(proposal_id: uint256) -> uint8:
    """
    @dev How the proposal's votes are counted: TOKEN (0), REPUTATION (1)
         or QUADRATIC (2), fixed when it was made.
    @param proposal_id The proposal.
    @return uint8 Its counting.
    """
    return self._proposals[proposal_id].counting


@external
@view
def proposalQuorum(proposal_id: uint256) -> uint256:
    """
    @dev The votes (For plus Abstain) the proposal needs, in its
         counting's units (see `_quorum_of`).
    @param proposal_id A proposal whose snapshot is over.
    @return uint256 Its quorum.
    """
    return self._quorum_of(proposal_id)


@external
@view
def proposalVotes(proposal_id: uint256) -> (uint256, uint256, uint256):
    """
    @dev The proposal's votes so far, as OpenZeppelin's counting module,
         in its counting's units: token wei (TOKEN), reputation
         (REPUTATION), square roots of token wei (QUADRATIC).
    @param proposal_id The proposal.
    @return uint256 Against.
    @return uint256 For.
    @return uint256 Abstain.
    """
    tally: Tally = self._tallies[proposal_id]
    return tally.against, tally.in_favour, tally.abstain


@external
@view
def getVotes(account: address, timepoint: uint256) -> uint256:
    """
    @dev `account`'s voting power at the end of block `timepoint`.
    @param account The voter.
    @param timepoint A block number before the current one.
    @return uint256 Its votes in token wei.
    """
    return staticcall IVotes(token).getPastVotes(account, timepoint)


@external
@view
def quorum(timepoint: uint256) -> uint256:
    """
    @dev The votes (For plus Abstain) a TOKEN proposal with snapshot
         `timepoint` needs: the quorum fraction then, of the staked
         supply then (`proposalQuorum` for any proposal).
    @param timepoint A block number before the current one.
    @return uint256 The quorum in token wei.
    """
    return self._quorum(timepoint)


@external
@view
def quorumNumerator() -> uint256:
    """
    @dev The current quorum, in percent of the staked supply.
    @return uint256 The quorum numerator.
    """
    return checkpoints._latest(_QUORUM_KEY)


@external
@pure
def quorumDenominator() -> uint256:
    """
    @dev The quorum fraction's denominator.
    @return uint256 100.
    """
    return QUORUM_DENOMINATOR


@external
@view
def version() -> String[20]:
    """
    @dev The EIP-712 domain version of ballots.
    @return String "1".
    """
    return _VERSION


@external
@pure
def COUNTING_MODE() -> String[40]:
    """
    @dev How votes are counted, in OpenZeppelin's notation: Bravo vote
         types; For and Abstain count towards the quorum.
    @return String The counting mode.
    """
    return "support=bravo&quorum=for,abstain"


@external
@view
def clock() -> uint48:
    """
    @dev ERC-6372: the votes contract's clock, the block number.
    @return uint48 The block number.
    """
    return convert(block.number, uint48)


@external
@pure
def CLOCK_MODE() -> String[32]:
    """
    @dev ERC-6372: the clock counts blocks.
    @return String The clock's description.
    """
    return "mode=blocknumber&from=default"


# INTERNAL #


@internal
@view
def _state(proposal_id: uint256) -> uint8:
    """
    @dev The proposal's state (see `state`); reverts for an unknown one.
    @param proposal_id The proposal.
    @return uint8 Its state.
    """
    # Field by field: a vote reads four words of the proposal, not all.
    if self._proposals[proposal_id].executed:
        return EXECUTED
    if self._proposals[proposal_id].canceled:
        return CANCELED
    vote_start: uint256 = self._proposals[proposal_id].vote_start
    assert vote_start != 0, "governor: unknown proposal"
    if vote_start >= block.number:
        return PENDING
    if self._proposals[proposal_id].vote_end >= block.number:
        return ACTIVE
    tally: Tally = self._tallies[proposal_id]
    if tally.in_favour <= tally.against or tally.in_favour + tally.abstain < self._quorum_of(proposal_id):
        return DEFEATED
    operation: bytes32 = self._timelock_ids[proposal_id]
    if operation == empty(bytes32):
        return SUCCEEDED
    if staticcall ITimelock(timelock).is_operation_done(operation):
        return EXECUTED
    if not staticcall ITimelock(timelock).is_operation_pending(operation):
        return CANCELED
    if block.timestamp > self._proposals[proposal_id].eta + GRACE_PERIOD:
        return EXPIRED
    return QUEUED


@internal
def _cast_vote(proposal_id: uint256, voter: address, support: uint8, reason: String[MAX_REASON]) -> uint256:
    """
    @dev Counts `voter`'s votes at the snapshot, once, on an Active
         proposal, weighed by the proposal's counting.
    @param proposal_id The proposal.
    @param voter The account that votes.
    @param support 0 Against, 1 For, 2 Abstain.
    @param reason The voter's reason (may be empty).
    @return uint256 The weight of the vote, in the counting's units.
    """
    assert self._state(proposal_id) == ACTIVE, "governor: proposal is not active"
    assert not self.hasVoted[proposal_id][voter], "governor: vote already cast"
    snapshot: uint256 = self._proposals[proposal_id].vote_start
    counting: uint8 = self._proposals[proposal_id].counting
    weight: uint256 = 0
    if counting == REPUTATION:
        weight = staticcall IVotes(reputation).getPastVotes(voter, snapshot)
    else:
        weight = staticcall IVotes(token).getPastVotes(voter, snapshot)
        if counting == QUADRATIC:
            assert staticcall IMembers(commons).memberAt(voter, snapshot), "governor: not a member at the snapshot"
            weight = isqrt(weight)
    assert weight != 0, "governor: no voting power at the snapshot"
    self.hasVoted[proposal_id][voter] = True
    if support == VOTE_AGAINST:
        self._tallies[proposal_id].against += weight
    elif support == VOTE_FOR:
        self._tallies[proposal_id].in_favour += weight
    elif support == VOTE_ABSTAIN:
        self._tallies[proposal_id].abstain += weight
    else:
        raise "governor: invalid vote type"
    log VoteCast(voter=voter, proposalId=proposal_id, support=support, weight=weight, reason=reason)
    return weight


@internal
@view
def _quorum(timepoint: uint256) -> uint256:
    """
    @dev The quorum at `timepoint`: the staked supply then times the
         quorum fraction then.
    @param timepoint A past block number.
    @return uint256 The quorum in token wei.
    """
    supply: uint256 = staticcall IVotes(token).getPastTotalSupply(timepoint)
    return supply * checkpoints._at(_QUORUM_KEY, timepoint) // QUORUM_DENOMINATOR


@internal
@view
def _quorum_of(proposal_id: uint256) -> uint256:
    """
    @dev The proposal's quorum in its counting's units, the quorum
         fraction at its snapshot of: the staked supply then (TOKEN); the
         reputation in all then (REPUTATION); √(staked supply then ×
         members when proposed), what all members would cast holding
         equal stakes (QUADRATIC).
    @param proposal_id The proposal.
    @return uint256 Its quorum.
    """
    snapshot: uint256 = self._proposals[proposal_id].vote_start
    counting: uint8 = self._proposals[proposal_id].counting
    if counting == TOKEN:
        return self._quorum(snapshot)
    electorate: uint256 = 0
    if counting == REPUTATION:
        electorate = staticcall IVotes(reputation).getPastTotalSupply(snapshot)
    else:
        supply: uint256 = staticcall IVotes(token).getPastTotalSupply(snapshot)
        electorate = isqrt(supply * self._proposals[proposal_id].electorate)
    return electorate * checkpoints._at(_QUORUM_KEY, snapshot) // QUORUM_DENOMINATOR


@internal
@view
def _counting(
    targets: DynArray[address, MAX_ACTIONS], calldatas: DynArray[Bytes[MAX_PAYLOAD], MAX_ACTIONS]
) -> uint8:
    """
    @dev The strictest counting the calls name (TOKEN for none).
    @param targets The proposal's targets.
    @param calldatas The proposal's calldatas.
    @return uint8 The counting.
    """
    counting: uint8 = TOKEN
    for i: uint256 in range(len(targets), bound=MAX_ACTIONS):
        selector: bytes4 = empty(bytes4)
        if len(calldatas[i]) >= 4:
            selector = convert(slice(calldatas[i], 0, 4), bytes4)
        counting = max(counting, self.countingOf[targets[i]][selector])
    return counting


@internal
@pure
def _hash_proposal(
    targets: DynArray[address, MAX_ACTIONS],
    values: DynArray[uint256, MAX_ACTIONS],
    calldatas: DynArray[Bytes[MAX_PAYLOAD], MAX_ACTIONS],
    description_hash: bytes32,
) -> uint256:
    """
    @dev OpenZeppelin's proposal id (see `hashProposal`).
    @param targets The proposal's targets.
    @param values The proposal's values.
    @param calldatas The proposal's calldatas.
    @param description_hash The keccak256 of the proposal's description.
    @return uint256 The proposal id.
    """
    return convert(keccak256(abi_encode(targets, values, calldatas, description_hash)), uint256)


@internal
@view
def _timelock_salt(description_hash: bytes32) -> bytes32:
    """
    @dev OpenZeppelin's timelock salt: this governor's address in the
         high 20 bytes, XOR the description hash (two governors sharing
         a timelock cannot collide).
    @param description_hash The keccak256 of the proposal's description.
    @return bytes32 The salt.
    """
    return convert(convert(description_hash, uint256) ^ (convert(self, uint256) << 96), bytes32)


@internal
@view
def _only_governance():
    """
    @dev Reverts unless the timelock calls, i.e. a proposal executes.
    """
    assert msg.sender == timelock, "governor: caller is not the timelock"


@internal
def _set_voting_delay(new_voting_delay: uint256):
    """
    @dev Sets `votingDelay`: at least one block, so that a proposal's
         snapshot is always after the block in which it is made.
    @param new_voting_delay Blocks.
    """
    assert new_voting_delay != 0, "governor: voting delay below one block"
    log VotingDelaySet(oldVotingDelay=self.votingDelay, newVotingDelay=new_voting_delay)
    self.votingDelay = new_voting_delay


@internal
def _set_voting_period(new_voting_period: uint256):
    """
    @dev Sets `votingPeriod`.
    @param new_voting_period Blocks (at least 1).
    """
    assert new_voting_period != 0, "governor: voting period is zero"
    log VotingPeriodSet(oldVotingPeriod=self.votingPeriod, newVotingPeriod=new_voting_period)
    self.votingPeriod = new_voting_period


@internal
def _set_proposal_threshold(new_proposal_threshold: uint256):
    """
    @dev Sets `proposalThreshold`.
    @param new_proposal_threshold Votes in token wei.
    """
    log ProposalThresholdSet(
        oldProposalThreshold=self.proposalThreshold, newProposalThreshold=new_proposal_threshold
    )
    self.proposalThreshold = new_proposal_threshold


@internal
def _update_quorum_numerator(new_quorum_numerator: uint256):
    """
    @dev Records the quorum fraction from this block on.
    @param new_quorum_numerator The quorum in percent (at most 100).
    """
    assert new_quorum_numerator <= QUORUM_DENOMINATOR, "governor: quorum numerator over denominator"
    log QuorumNumeratorUpdated(
        oldQuorumNumerator=checkpoints._latest(_QUORUM_KEY), newQuorumNumerator=new_quorum_numerator
    )
    checkpoints._push(_QUORUM_KEY, new_quorum_numerator)
