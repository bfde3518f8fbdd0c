# pragma version ~=0.4.3
# pragma nonreentrancy off
"""
@title tantieme Agent Reputation Registry (ERC-8004), paid feedback only
@custom:contract-name agent_reputation
@license GNU Affero General Public License v3.0 only
@notice ERC-8004 ("Trustless Agents") Reputation Registry with the EIP's
        exact functions and events (`giveFeedback`, `revokeFeedback`,
        `appendResponse`, `getSummary`, `readFeedback`, `readAllFeedback`,
        `getResponseCount`, `getClients`, `getLastIndex`,
        `getIdentityRegistry`), where **feedback counts only from a client
        that paid the agent**:
        - first the client proves one paid interaction with the agent,
          `provePayment(agentId, batchId, record, proof, authorizationNonce)`:
          the `record` (the EIP-712 `Interaction` of the
          InteractionLedger) is in settled batch `batchId` (its Merkle
          proof against the anchored root, checked by the ledger's
          `verifyRecord`), was served by the agent's wallet (the batch's
          and the record's operator) and, if the agent names a `model` in
          its metadata, by that model, has a non-zero fee, and the caller
          paid it: the record's payer (deposit mode), or, when the node
          journaled the record as its own payer (x402 mode), the x402
          payer bound in the record's nonce,
          `uint256(keccak256(abi.encode(payer, authorizationNonce)))`,
          whose EIP-3009 authorization the token shows as used;
        - then `giveFeedback` with `feedbackHash` = the record's EIP-712
          digest spends that proof: one feedback per paid record, only by
          the client who paid it, only for that agent.
        Everything else follows ERC-8004 and its reference implementation:
        the agent's owner and managers may not rate it, `valueDecimals`
        at most 18, `|value|` at most 1e38, `getSummary` needs client
        addresses and averages the unrevoked feedback at the most common
        decimals. Rules: `SPEC.md`.
@custom:security No token moves here. The identity registry and the ledger
                 (and its token) are fixed at deployment and trusted
                 (tantieme's own); `provePayment` only reads them. Reads
                 are bounded: `MAX_CLIENTS` clients and `MAX_INDEX`
                 feedback per client in a summary, `MAX_RESULTS` rows from
                 `readAllFeedback`.
"""


# @dev What the registry reads of agents (`agent_identity.vy`).
interface IAgentIdentity:
    def totalSupply() -> uint256: view
    def isAuthorizedOrOwner(spender: address, agentId: uint256) -> bool: view
    def getAgentWallet(agentId: uint256) -> address: view
    def getMetadata(agentId: uint256, metadataKey: String[5]) -> Bytes[1024]: view


# @dev What the registry reads of settled batches (`interaction_ledger.vy`).
interface IInteractionLedger:
    def batches(batch_id: uint256) -> Anchor: view
    def recordDigest(record: Interaction) -> bytes32: view
    def verifyRecord(
        batch_id: uint256, digest: bytes32, model: uint256, fee: uint256, proof: DynArray[bytes32, MAX_PROOF]
    ) -> bool: view
    def token() -> address: view


# @dev The token's EIP-3009 record of used authorizations (x402 payments).
interface IEIP3009:
    def authorizationState(authorizer: address, nonce: bytes32) -> bool: view


# @dev One answer as its payer signed it: the ledger's `Interaction`.
struct Interaction:
    payer: address
    operator: address
    model: uint256
    promptHash: bytes32
    outputHash: bytes32
    sources: DynArray[uint256, MAX_SOURCES]
    weights: DynArray[uint16, MAX_SOURCES]
    promptTokens: uint32
    completionTokens: uint32
    fee: uint256
    nonce: uint256
    timestamp: uint64


# @dev A settled batch, as the ledger's `batches` returns it.
struct Anchor:
    root: bytes32
    payer: address
    operator: address
    count: uint256
    total: uint256
    timestamp: uint64


# @dev One feedback in storage: value, decimals and revocation in one word.
struct _StoredFeedback:
    # @dev value + 2**127 (bits 0-127) | valueDecimals (128-135) | isRevoked (136).
    word: uint256
    tag1: String[MAX_TAG]
    tag2: String[MAX_TAG]


# @dev The ledger's bounds of a record's sources and a proof.
MAX_SOURCES: constant(uint256) = 64
MAX_PROOF: constant(uint256) = 32


# @dev Longest tag, endpoint and URI.
MAX_TAG: public(constant(uint256)) = 64
MAX_URI: public(constant(uint256)) = 512


# @dev Read bounds: clients per call or listed, feedback per client read,
# rows returned by `readAllFeedback`, responders filtered on.
MAX_CLIENTS: public(constant(uint256)) = 1_024
MAX_INDEX: public(constant(uint256)) = 1_024
MAX_RESULTS: public(constant(uint256)) = 256
MAX_RESPONDERS: public(constant(uint256)) = 64


# @dev Largest `|value|` (as the reference implementation) and decimals.
MAX_ABS_VALUE: public(constant(int128)) = 10**38
MAX_DECIMALS: public(constant(uint8)) = 18


# @dev The metadata key under which an agent may name its model's IP asset
# id (32 bytes, `abi.encode(uint256)`): then only that model's records count.
MODEL_KEY: public(constant(String[5])) = "model"


# @dev Stored-feedback word layout.
_VALUE_OFFSET: constant(int256) = 2**127
_VALUE_MASK: constant(uint256) = 2**128 - 1
_DECIMALS_SHIFT: constant(uint256) = 128
_REVOKED_BIT: constant(uint256) = 2**136


# @dev The state of a record whose feedback was given.
_RATED: constant(bytes32) = 0xffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff


# @dev The identity registry of the agents.
identityRegistry: immutable(IAgentIdentity)


# @dev The ledger whose settled records prove payments.
ledger: public(immutable(IInteractionLedger))


# @dev The ledger's token (the x402 payments' EIP-3009 state).
token: public(immutable(IEIP3009))


# STORAGE #


# @dev Each proven record (by digest): `keccak256(abi.encode(client,
# agentId))` while its feedback is due, `_RATED` once given, zero: unproven.
_payments: HashMap[bytes32, bytes32]


# @dev Feedback by agent, client and index (from 1).
_feedback: HashMap[uint256, HashMap[address, HashMap[uint64, _StoredFeedback]]]


# @dev The last feedback index of each client of each agent.
_last_index: HashMap[uint256, HashMap[address, uint64]]


# @dev Each agent's clients in order of first feedback, and their number.
_clients: HashMap[uint256, HashMap[uint256, address]]
_client_count: HashMap[uint256, uint256]


# @dev Responses to each feedback: in all, and per responder.
_response_totals: HashMap[uint256, HashMap[address, HashMap[uint64, uint64]]]
_response_counts: HashMap[uint256, HashMap[address, HashMap[uint64, HashMap[address, uint64]]]]


# EVENTS #


# @dev ERC-8004: feedback was given.
event NewFeedback:
    agentId: indexed(uint256)
    clientAddress: indexed(address)
    feedbackIndex: uint64
    value: int128
    valueDecimals: uint8
    indexedTag1: indexed(String[MAX_TAG])
    tag1: String[MAX_TAG]
    tag2: String[MAX_TAG]
    endpoint: String[MAX_URI]
    feedbackURI: String[MAX_URI]
    feedbackHash: bytes32


# @dev ERC-8004: feedback was revoked by its client.
event FeedbackRevoked:
    agentId: indexed(uint256)
    clientAddress: indexed(address)
    feedbackIndex: indexed(uint64)


# @dev ERC-8004: a response was appended to a feedback.
event ResponseAppended:
    agentId: indexed(uint256)
    clientAddress: indexed(address)
    feedbackIndex: uint64
    responder: indexed(address)
    responseURI: String[MAX_URI]
    responseHash: bytes32


# @dev A client proved a paid interaction with an agent: it may give one
# feedback with `feedbackHash` = `digest`.
event PaymentProved:
    agentId: indexed(uint256)
    clientAddress: indexed(address)
    digest: indexed(bytes32)
    batchId: uint256


@deploy
def __init__(identity_registry: address, ledger_: address):
    """
    @dev Wires the registry to the agents' identity registry and the ledger.
    @param identity_registry The ERC-8004 identity registry.
    @param ledger_ The InteractionLedger (its token is read from it).
    """
    assert identity_registry != empty(address), "reputation: identity registry is the zero address"
    assert ledger_ != empty(address), "reputation: ledger is the zero address"
    identityRegistry = IAgentIdentity(identity_registry)
    ledger = IInteractionLedger(ledger_)
    token = IEIP3009(staticcall IInteractionLedger(ledger_).token())


# FEEDBACK #


@external
def provePayment(
    agentId: uint256,
    batchId: uint256,
    record: Interaction,
    proof: DynArray[bytes32, MAX_PROOF],
    authorizationNonce: bytes32,
) -> bytes32:
    """
    @dev Proves that the caller paid the agent for `record`, settled in
         batch `batchId`, so that it may give one feedback on it.
    @param agentId The agent id.
    @param batchId The ledger's batch id.
    @param record The record, as its payer signed it.
    @param proof The record's Merkle proof against the batch's root.
    @param authorizationNonce In x402 mode (the record's payer is its
           operator), the caller's EIP-3009 authorization nonce that the
           record's nonce binds; ignored otherwise.
    @return bytes32 The record's digest: `feedbackHash` for `giveFeedback`.
    """
    self._check_rater(agentId)
    anchor: Anchor = staticcall ledger.batches(batchId)
    assert anchor.root != empty(bytes32), "reputation: unknown batch"
    assert record.payer == anchor.payer, "reputation: record of another payer"
    assert record.operator == anchor.operator, "reputation: record of another operator"
    assert record.operator == staticcall identityRegistry.getAgentWallet(agentId), "reputation: record of another agent"
    model: Bytes[1024] = staticcall identityRegistry.getMetadata(agentId, MODEL_KEY)
    assert len(model) == 0 or (
        len(model) == 32 and extract32(model, 0, output_type=uint256) == record.model
    ), "reputation: record of another model"
    assert record.fee != 0, "reputation: unpaid record"
    if record.payer != record.operator:
        assert msg.sender == record.payer, "reputation: caller is not the payer"
    else:
        assert record.nonce == convert(
            keccak256(abi_encode(msg.sender, authorizationNonce)), uint256
        ), "reputation: caller is not the payer"
        assert staticcall token.authorizationState(msg.sender, authorizationNonce), "reputation: payment not made"
    digest: bytes32 = staticcall ledger.recordDigest(record)
    assert self._payments[digest] == empty(bytes32), "reputation: payment already proved"
    assert staticcall ledger.verifyRecord(batchId, digest, record.model, record.fee, proof), "reputation: invalid proof"
    self._payments[digest] = self._payment_key(msg.sender, agentId)
    log PaymentProved(agentId=agentId, clientAddress=msg.sender, digest=digest, batchId=batchId)
    return digest


@external
def giveFeedback(
    agentId: uint256,
    feedbackValue: int128,
    valueDecimals: uint8,
    tag1: String[MAX_TAG],
    tag2: String[MAX_TAG],
    endpoint: String[MAX_URI],
    feedbackURI: String[MAX_URI],
    feedbackHash: bytes32,
):
    """
    @dev ERC-8004 feedback on the paid interaction `feedbackHash` (a record
         digest the caller proved with `provePayment` for this agent); one
         feedback per record.
    @param agentId The agent id.
    @param feedbackValue ERC-8004's `value` (a reserved word in Vyper):
           the signed fixed-point value, `|value| <= 1e38`.
    @param valueDecimals Its decimals, at most 18.
    @param tag1 A first tag (optional).
    @param tag2 A second tag (optional).
    @param endpoint The endpoint rated (optional, logged only).
    @param feedbackURI An off-chain feedback file (optional, logged only).
    @param feedbackHash The record digest of the paid interaction rated.
    """
    assert valueDecimals <= MAX_DECIMALS, "reputation: too many decimals"
    assert feedbackValue >= -MAX_ABS_VALUE and feedbackValue <= MAX_ABS_VALUE, "reputation: value too large"
    self._check_rater(agentId)
    state: bytes32 = self._payments[feedbackHash]
    assert state != _RATED, "reputation: interaction already rated"
    assert state == self._payment_key(msg.sender, agentId), "reputation: no paid interaction"
    self._payments[feedbackHash] = _RATED

    index: uint64 = self._last_index[agentId][msg.sender]
    if index == 0:
        count: uint256 = self._client_count[agentId]
        self._clients[agentId][count] = msg.sender
        self._client_count[agentId] = count + 1
    index += 1
    self._last_index[agentId][msg.sender] = index
    self._feedback[agentId][msg.sender][index] = _StoredFeedback(
        word=convert(convert(feedbackValue, int256) + _VALUE_OFFSET, uint256) | (convert(valueDecimals, uint256) << _DECIMALS_SHIFT),
        tag1=tag1,
        tag2=tag2,
    )
    log NewFeedback(
        agentId=agentId,
        clientAddress=msg.sender,
        feedbackIndex=index,
        value=feedbackValue,
        valueDecimals=valueDecimals,
        indexedTag1=tag1,
        tag1=tag1,
        tag2=tag2,
        endpoint=endpoint,
        feedbackURI=feedbackURI,
        feedbackHash=feedbackHash,
    )


@external
def revokeFeedback(agentId: uint256, feedbackIndex: uint64):
    """
    @dev Revokes the caller's feedback: it no longer counts in summaries.
         The record stays rated.
    @param agentId The agent id.
    @param feedbackIndex The caller's feedback index (from 1).
    """
    self._check_index(agentId, msg.sender, feedbackIndex)
    word: uint256 = self._feedback[agentId][msg.sender][feedbackIndex].word
    assert word & _REVOKED_BIT == 0, "reputation: feedback already revoked"
    self._feedback[agentId][msg.sender][feedbackIndex].word = word | _REVOKED_BIT
    log FeedbackRevoked(agentId=agentId, clientAddress=msg.sender, feedbackIndex=feedbackIndex)


@external
def appendResponse(
    agentId: uint256, clientAddress: address, feedbackIndex: uint64, responseURI: String[MAX_URI], responseHash: bytes32
):
    """
    @dev Anyone appends a response to a feedback (the agent showing a
         refund, an aggregator tagging spam).
    @param agentId The agent id.
    @param clientAddress The feedback's client.
    @param feedbackIndex The feedback's index (from 1).
    @param responseURI The response file's URI, non-empty.
    @param responseHash Its keccak256 (optional for content-addressed URIs).
    """
    self._check_index(agentId, clientAddress, feedbackIndex)
    assert len(responseURI) != 0, "reputation: empty response URI"
    self._response_totals[agentId][clientAddress][feedbackIndex] += 1
    self._response_counts[agentId][clientAddress][feedbackIndex][msg.sender] += 1
    log ResponseAppended(
        agentId=agentId,
        clientAddress=clientAddress,
        feedbackIndex=feedbackIndex,
        responder=msg.sender,
        responseURI=responseURI,
        responseHash=responseHash,
    )


# VIEWS #


@external
@view
def getIdentityRegistry() -> address:
    """
    @dev The identity registry of the agents rated here.
    @return address The registry.
    """
    return identityRegistry.address


@external
@view
def isRated(digest: bytes32) -> bool:
    """
    @dev Whether the paid interaction `digest` was rated already.
    @param digest The record digest.
    @return bool True once its feedback was given.
    """
    return self._payments[digest] == _RATED


@external
@view
def getSummary(
    agentId: uint256, clientAddresses: DynArray[address, MAX_CLIENTS], tag1: String[MAX_TAG], tag2: String[MAX_TAG]
) -> (uint64, int128, uint8):
    """
    @dev The unrevoked feedback of the given clients (each listed time),
         filtered by the tags: its count and its average, normalized to 18
         decimals, truncated toward zero, then expressed at the decimals
         most feedback used (the fewest on a tie), as the reference
         implementation.
    @param agentId The agent id.
    @param clientAddresses The clients (required, non-empty).
    @param tag1 Only feedback with this first tag (empty: any).
    @param tag2 Only feedback with this second tag (empty: any).
    @return uint64 The number of feedback counted.
    @return int128 The average value.
    @return uint8 Its decimals.
    """
    assert len(clientAddresses) != 0, "reputation: clientAddresses required"
    total: int256 = 0
    count: uint256 = 0
    decimal_counts: uint256[19] = empty(uint256[19])
    for client: address in clientAddresses:
        for i: uint256 in range(convert(self._last_index[agentId][client], uint256), bound=MAX_INDEX):
            stored: _StoredFeedback = self._feedback[agentId][client][convert(i + 1, uint64)]
            if not self._matches(stored, False, tag1, tag2):
                continue
            decimals: uint256 = (stored.word >> _DECIMALS_SHIFT) & 255
            total += self._value_of(stored.word) * 10 ** convert(18 - decimals, int256)
            decimal_counts[decimals] += 1
            count += 1
    if count == 0:
        return 0, 0, 0
    mode: uint256 = 0
    for d: uint256 in range(19):
        if decimal_counts[d] > decimal_counts[mode]:
            mode = d
    # Cannot overflow: at most 1,024 * 1,024 values of at most 1e56 each.
    average: int256 = total // convert(count, int256) // 10 ** convert(18 - mode, int256)
    # Saturates where the average does not fit at the mode's decimals
    # (values near 1e38 averaged with 18-decimal ones), so no feedback can
    # make the summary unreadable.
    average = max(min(average, convert(max_value(int128), int256)), convert(min_value(int128), int256))
    return convert(count, uint64), convert(average, int128), convert(mode, uint8)


@external
@view
def readFeedback(
    agentId: uint256, clientAddress: address, feedbackIndex: uint64
) -> (int128, uint8, String[MAX_TAG], String[MAX_TAG], bool):
    """
    @dev One feedback.
    @param agentId The agent id.
    @param clientAddress The client.
    @param feedbackIndex The index (from 1).
    @return int128 The value.
    @return uint8 Its decimals.
    @return String The first tag.
    @return String The second tag.
    @return bool Whether it was revoked.
    """
    self._check_index(agentId, clientAddress, feedbackIndex)
    stored: _StoredFeedback = self._feedback[agentId][clientAddress][feedbackIndex]
    return (
        convert(self._value_of(stored.word), int128),
        convert((stored.word >> _DECIMALS_SHIFT) & 255, uint8),
        stored.tag1,
        stored.tag2,
        stored.word & _REVOKED_BIT != 0,
    )


@external
@view
def readAllFeedback(
    agentId: uint256,
    clientAddresses: DynArray[address, MAX_CLIENTS],
    tag1: String[MAX_TAG],
    tag2: String[MAX_TAG],
    includeRevoked: bool,
) -> (
    DynArray[address, MAX_RESULTS],
    DynArray[uint64, MAX_RESULTS],
    DynArray[int128, MAX_RESULTS],
    DynArray[uint8, MAX_RESULTS],
    DynArray[String[MAX_TAG], MAX_RESULTS],
    DynArray[String[MAX_TAG], MAX_RESULTS],
    DynArray[bool, MAX_RESULTS],
):
    """
    @dev Every feedback of the given clients (empty: all the agent's
         clients), filtered by the tags, revoked ones only if asked; at
         most `MAX_RESULTS` rows.
    @param agentId The agent id.
    @param clientAddresses The clients (empty: all).
    @param tag1 Only feedback with this first tag (empty: any).
    @param tag2 Only feedback with this second tag (empty: any).
    @param includeRevoked Whether to include revoked feedback.
    @return DynArray The clients, indexes, values, decimals, first tags,
            second tags and revocations, row by row.
    """
    clients: DynArray[address, MAX_CLIENTS] = clientAddresses
    if len(clients) == 0:
        clients = self._client_list(agentId)
    rows_client: DynArray[address, MAX_RESULTS] = []
    rows_index: DynArray[uint64, MAX_RESULTS] = []
    rows_value: DynArray[int128, MAX_RESULTS] = []
    rows_decimals: DynArray[uint8, MAX_RESULTS] = []
    rows_tag1: DynArray[String[MAX_TAG], MAX_RESULTS] = []
    rows_tag2: DynArray[String[MAX_TAG], MAX_RESULTS] = []
    rows_revoked: DynArray[bool, MAX_RESULTS] = []
    for client: address in clients:
        for i: uint256 in range(convert(self._last_index[agentId][client], uint256), bound=MAX_INDEX):
            index: uint64 = convert(i + 1, uint64)
            stored: _StoredFeedback = self._feedback[agentId][client][index]
            if not self._matches(stored, includeRevoked, tag1, tag2):
                continue
            assert len(rows_client) < MAX_RESULTS, "reputation: too many results, filter by client or tag"
            rows_client.append(client)
            rows_index.append(index)
            rows_value.append(convert(self._value_of(stored.word), int128))
            rows_decimals.append(convert((stored.word >> _DECIMALS_SHIFT) & 255, uint8))
            rows_tag1.append(stored.tag1)
            rows_tag2.append(stored.tag2)
            rows_revoked.append(stored.word & _REVOKED_BIT != 0)
    return rows_client, rows_index, rows_value, rows_decimals, rows_tag1, rows_tag2, rows_revoked


@external
@view
def getResponseCount(
    agentId: uint256, clientAddress: address, feedbackIndex: uint64, responders: DynArray[address, MAX_RESPONDERS]
) -> uint64:
    """
    @dev The number of responses: to one feedback, to all of a client's
         (`feedbackIndex` 0), or to all the agent's (`clientAddress` zero),
         by the given responders (empty: anyone).
    @param agentId The agent id.
    @param clientAddress The client (zero: every client).
    @param feedbackIndex The index (0: every feedback of the client).
    @param responders Only responses by these (empty: anyone's).
    @return uint64 The count.
    """
    if clientAddress != empty(address) and feedbackIndex != 0:
        return self._responses(agentId, clientAddress, feedbackIndex, responders)
    clients: DynArray[address, MAX_CLIENTS] = [clientAddress]
    if clientAddress == empty(address):
        clients = self._client_list(agentId)
    count: uint64 = 0
    for client: address in clients:
        for i: uint256 in range(convert(self._last_index[agentId][client], uint256), bound=MAX_INDEX):
            count += self._responses(agentId, client, convert(i + 1, uint64), responders)
    return count


@external
@view
def getClients(agentId: uint256) -> DynArray[address, MAX_CLIENTS]:
    """
    @dev The agent's clients, in order of their first feedback (at most
         `MAX_CLIENTS`).
    @param agentId The agent id.
    @return DynArray The clients.
    """
    return self._client_list(agentId)


@external
@view
def getLastIndex(agentId: uint256, clientAddress: address) -> uint64:
    """
    @dev The client's last feedback index for the agent (0: none).
    @param agentId The agent id.
    @param clientAddress The client.
    @return uint64 The index.
    """
    return self._last_index[agentId][clientAddress]


# INTERNAL #


@internal
@view
def _check_rater(agent_id: uint256):
    """
    @dev Reverts unless the agent exists and the caller does not manage it.
    @param agent_id The agent id.
    """
    assert agent_id != 0 and agent_id <= staticcall identityRegistry.totalSupply(), "reputation: unknown agent"
    assert not staticcall identityRegistry.isAuthorizedOrOwner(msg.sender, agent_id), "reputation: self-feedback not allowed"


@internal
@view
def _check_index(agent_id: uint256, client: address, index: uint64):
    """
    @dev Reverts unless the client gave feedback `index` to the agent.
    @param agent_id The agent id.
    @param client The client.
    @param index The feedback index.
    """
    assert index != 0, "reputation: feedback index is zero"
    assert index <= self._last_index[agent_id][client], "reputation: feedback index out of bounds"


@internal
@pure
def _payment_key(client: address, agent_id: uint256) -> bytes32:
    """
    @dev What a proven, unrated record stores: its client and agent.
    @param client The client.
    @param agent_id The agent id.
    @return bytes32 `keccak256(abi.encode(client, agent_id))`.
    """
    return keccak256(abi_encode(client, agent_id))


@internal
@pure
def _value_of(word: uint256) -> int256:
    """
    @dev The signed value of a stored feedback word.
    @param word The word.
    @return int256 The value.
    """
    return convert(word & _VALUE_MASK, int256) - _VALUE_OFFSET


@internal
@pure
def _matches(stored: _StoredFeedback, include_revoked: bool, tag1: String[MAX_TAG], tag2: String[MAX_TAG]) -> bool:
    """
    @dev Whether a feedback passes the filters.
    @param stored The feedback.
    @param include_revoked Whether revoked feedback passes.
    @param tag1 The first tag required (empty: any).
    @param tag2 The second tag required (empty: any).
    @return bool True if it passes.
    """
    if not include_revoked and stored.word & _REVOKED_BIT != 0:
        return False
    if len(tag1) != 0 and keccak256(tag1) != keccak256(stored.tag1):
        return False
    return len(tag2) == 0 or keccak256(tag2) == keccak256(stored.tag2)


@internal
@view
def _client_list(agent_id: uint256) -> DynArray[address, MAX_CLIENTS]:
    """
    @dev The agent's clients (reverts past `MAX_CLIENTS`).
    @param agent_id The agent id.
    @return DynArray The clients.
    """
    clients: DynArray[address, MAX_CLIENTS] = []
    for i: uint256 in range(self._client_count[agent_id], bound=MAX_CLIENTS):
        clients.append(self._clients[agent_id][i])
    return clients


@internal
@view
def _responses(agent_id: uint256, client: address, index: uint64, responders: DynArray[address, MAX_RESPONDERS]) -> uint64:
    """
    @dev The responses to one feedback, by the given responders (empty: anyone).
    @param agent_id The agent id.
    @param client The client.
    @param index The feedback index.
    @param responders The responders.
    @return uint64 The count.
    """
    if len(responders) == 0:
        return self._response_totals[agent_id][client][index]
    count: uint64 = 0
    for responder: address in responders:
        count += self._response_counts[agent_id][client][index][responder]
    return count
