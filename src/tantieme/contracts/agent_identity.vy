# pragma version ~=0.4.3
# pragma nonreentrancy off
"""
@title tantieme Agent Identity Registry (ERC-8004)
@custom:contract-name agent_identity
@license GNU Affero General Public License v3.0 only
@notice ERC-8004 ("Trustless Agents") Identity Registry: every agent is an
        ERC-721 token (`agentId`, from 1) whose `tokenURI` (`agentURI`)
        resolves to the agent's registration file. It adds, with the
        EIP's exact signatures and events:
        - `register()`, `register(agentURI)` and
          `register(agentURI, metadata)` (one function with default
          arguments: Vyper serves the three selectors), logging
          `Registered` and a `MetadataSet` for the reserved `agentWallet`
          key and for each entry;
        - `setAgentURI` (`URIUpdated`, and ERC-4906 `MetadataUpdate`);
        - on-chain metadata `setMetadata` / `getMetadata` (`MetadataSet`);
        - the agent's payment wallet, `agentWallet`: the owner at
          registration, changed only by `setAgentWallet` with the new
          wallet's EIP-712 signature (ERC-1271 for a contract wallet) of
          `AgentWalletSet(uint256 agentId,address newWallet,address owner,uint256 deadline)`
          in the domain ("ERC8004IdentityRegistry", "1") that the
          reference implementation uses, cleared by `unsetAgentWallet`
          and on every transfer.
        The owner, an account approved for the agent or an operator of the
        owner manages it. The ERC-721 core is `erc721_core`, minimal and
        not enumerable, shared with the IP asset registry (snekmate's
        enumerable `erc721` writes four more slots per agent); agents are
        numbered from 1 and never burnt, so `totalSupply` is the last id.
        Agent URIs are stored here, up to `MAX_URI` characters, so a
        registration file fits on chain as a base64 `data:` URI. Rules:
        `SPEC.md`.
@custom:security `register` and `safeTransferFrom` call a contract
                 receiver's `onERC721Received` after every effect;
                 `setAgentWallet` calls a contract wallet's
                 `isValidSignature` as a static call. No function is
                 payable.
"""


# @dev ERC-165 introspection, answered for what the registry serves.
from ethereum.ercs import IERC165
implements: IERC165


# @dev ERC-4906 `MetadataUpdate`, logged when an agent's URI is set.
from snekmate.tokens.interfaces import IERC4906
implements: IERC4906


# @dev ERC-5267 `eip712Domain`, so wallets find the domain that
# `AgentWalletSet` is signed in.
from snekmate.utils.interfaces import IERC5267
implements: IERC5267


# @dev Only for the `OwnershipTransferred` its constructor logs, by which
# `deploy.find_agents` finds the registry; there are no owner functions.
from snekmate.auth import ownable
initializes: ownable


# @dev The minimal ERC-721 core shared with the IP asset registry:
# balances, approvals, operators, moves and the receiver check.
from . import erc721_core
initializes: erc721_core


# @dev The EIP-712 domain `setAgentWallet` checks signatures in.
from snekmate.utils import eip712_domain_separator
initializes: eip712_domain_separator


# @dev Stateless secp256k1 recovery that rejects high-s signatures.
from snekmate.utils import ecdsa


# @dev The owner-independent ERC-721 functions and ERC-5267's
# `eip712Domain`; the rest of ERC-721 is below (owners are stored here).
exports: (
    erc721_core.balanceOf,
    erc721_core.setApprovalForAll,
    erc721_core.isApprovedForAll,
    eip712_domain_separator.eip712Domain,
)


# @dev An on-chain metadata entry of `register`, as ERC-8004 names it.
struct MetadataEntry:
    # @dev The key (not `agentWallet`, which is reserved).
    metadataKey: String[MAX_METADATA_KEY]
    # @dev The value, raw bytes.
    metadataValue: Bytes[MAX_METADATA_VALUE]


# @dev Longest agent URI: a registration file of about 3 KB as a base64
# `data:` URI.
MAX_URI: public(constant(uint256)) = 4_096


# @dev Longest metadata key and value.
MAX_METADATA_KEY: public(constant(uint256)) = 64
MAX_METADATA_VALUE: public(constant(uint256)) = 1_024


# @dev Most metadata entries `register` takes.
MAX_METADATA_ENTRIES: public(constant(uint256)) = 16


# @dev Longest wallet signature: room for multisig or passkey signatures.
MAX_SIGNATURE: public(constant(uint256)) = 1_024


# @dev The longest a wallet signature's deadline may lie ahead, in seconds
# (as the reference implementation).
MAX_DEADLINE_DELAY: public(constant(uint256)) = 300


# @dev EIP-712 type hash of the wallet's consent to be the agent's wallet.
AGENT_WALLET_SET_TYPEHASH: public(constant(bytes32)) = keccak256(
    "AgentWalletSet(uint256 agentId,address newWallet,address owner,uint256 deadline)"
)


# @dev The reserved metadata key of the agent's wallet.
AGENT_WALLET_KEY: public(constant(String[11])) = "agentWallet"


# @dev ERC-1271's `isValidSignature(bytes32,bytes)` selector, also the
# magic value a contract wallet returns for a valid signature.
_ERC1271_MAGIC_VALUE: constant(bytes4) = 0x1626BA7E


# @dev ERC-165, ERC-721, ERC-721 metadata, ERC-4906.
_SUPPORTED_INTERFACES: constant(bytes4[4]) = [0x01FFC9A7, 0x80AC58CD, 0x5B5E139F, 0x49064906]


# @dev The collection's name and symbol, and the EIP-712 domain.
_NAME: constant(String[25]) = "tantieme Agent Identity"
_SYMBOL: constant(String[5]) = "AGENT"
_EIP712_NAME: constant(String[23]) = "ERC8004IdentityRegistry"
_EIP712_VERSION: constant(String[1]) = "1"


# STORAGE #


# @dev Each agent's owner (zero: no such agent).
_owners: HashMap[uint256, address]


# @dev The id the next agent gets (ids run from 1; set at deployment, so
# that no registration pays for a fresh counter slot).
_next_agent_id: uint256


# @dev Each agent's URI (its registration file).
_agent_uris: HashMap[uint256, String[MAX_URI]]


# @dev Each agent's wallet (zero: none).
_agent_wallets: HashMap[uint256, address]


# @dev Each agent's on-chain metadata, by key.
_metadata: HashMap[uint256, HashMap[String[MAX_METADATA_KEY], Bytes[MAX_METADATA_VALUE]]]


# EVENTS #


# @dev ERC-8004: an agent was registered.
event Registered:
    agentId: indexed(uint256)
    agentURI: String[MAX_URI]
    owner: indexed(address)


# @dev ERC-8004: an agent's metadata entry was set (`agentWallet` included).
event MetadataSet:
    agentId: indexed(uint256)
    indexedMetadataKey: indexed(String[MAX_METADATA_KEY])
    metadataKey: String[MAX_METADATA_KEY]
    metadataValue: Bytes[MAX_METADATA_VALUE]


# @dev ERC-8004: an agent's URI was changed.
event URIUpdated:
    agentId: indexed(uint256)
    newURI: String[MAX_URI]
    updatedBy: indexed(address)


@deploy
def __init__():
    """
    @dev Sets the EIP-712 domain; the first agent gets id 1.
    """
    ownable.__init__()
    eip712_domain_separator.__init__(_EIP712_NAME, _EIP712_VERSION)
    self._next_agent_id = 1


# REGISTRATION #


@external
def register(
    agentURI: String[MAX_URI] = "", metadata: DynArray[MetadataEntry, MAX_METADATA_ENTRIES] = []
) -> uint256:
    """
    @dev Mints the next agent to the caller, whose wallet it becomes, with
         `agentURI` and the metadata entries. ERC-8004's three forms
         (`register()`, `register(string)`,
         `register(string,(string,bytes)[])`).
    @param agentURI The agent's registration file URI (may be set later).
    @param metadata Metadata entries; the key `agentWallet` is reserved.
    @return uint256 The agent id.
    """
    agent_id: uint256 = self._next_agent_id
    # Cannot overflow: one id per transaction.
    self._next_agent_id = unsafe_add(agent_id, 1)
    self._owners[agent_id] = msg.sender
    erc721_core._mint(msg.sender, agent_id)
    if len(agentURI) != 0:  # an empty URI is what the slot holds already
        self._agent_uris[agent_id] = agentURI
    self._agent_wallets[agent_id] = msg.sender
    log Registered(agentId=agent_id, agentURI=agentURI, owner=msg.sender)
    log MetadataSet(
        agentId=agent_id,
        indexedMetadataKey=AGENT_WALLET_KEY,
        metadataKey=AGENT_WALLET_KEY,
        metadataValue=self._wallet_bytes(msg.sender),
    )
    for entry: MetadataEntry in metadata:
        self._set_metadata(agent_id, entry.metadataKey, entry.metadataValue)
    log IERC4906.MetadataUpdate(_tokenId=agent_id)
    erc721_core._check_received(empty(address), msg.sender, agent_id, b"")
    return agent_id


@external
def setAgentURI(agentId: uint256, newURI: String[MAX_URI]):
    """
    @dev Changes the agent's URI. Its owner, approved account or operator.
    @param agentId The agent id.
    @param newURI The new registration file URI.
    """
    self._check_manager(agentId)
    self._agent_uris[agentId] = newURI
    log URIUpdated(agentId=agentId, newURI=newURI, updatedBy=msg.sender)
    log IERC4906.MetadataUpdate(_tokenId=agentId)


@external
def setMetadata(agentId: uint256, metadataKey: String[MAX_METADATA_KEY], metadataValue: Bytes[MAX_METADATA_VALUE]):
    """
    @dev Sets an on-chain metadata entry. Its owner, approved account or
         operator; not the reserved `agentWallet` key.
    @param agentId The agent id.
    @param metadataKey The key.
    @param metadataValue The value (empty clears it).
    """
    self._check_manager(agentId)
    self._set_metadata(agentId, metadataKey, metadataValue)


# WALLET #


@external
def setAgentWallet(agentId: uint256, newWallet: address, deadline: uint256, signature: Bytes[MAX_SIGNATURE]):
    """
    @dev Makes `newWallet` the agent's wallet, with its consent: its
         EIP-712 `AgentWalletSet` signature (ERC-1271 if it has code).
         Its owner, approved account or operator.
    @param agentId The agent id.
    @param newWallet The new wallet, non-zero.
    @param deadline Unix time in seconds until which the signature is
           valid, at most `MAX_DEADLINE_DELAY` ahead.
    @param signature The wallet's signature (65 bytes `r ‖ s ‖ v` for a
           key; whatever the wallet accepts for a contract).
    """
    self._check_manager(agentId)
    assert newWallet != empty(address), "identity: wallet is the zero address"
    assert block.timestamp <= deadline, "identity: signature expired"
    assert deadline <= block.timestamp + MAX_DEADLINE_DELAY, "identity: deadline too far"
    struct_hash: bytes32 = keccak256(
        abi_encode(AGENT_WALLET_SET_TYPEHASH, agentId, newWallet, self._owner_of(agentId), deadline)
    )
    self._check_signature(newWallet, eip712_domain_separator._hash_typed_data_v4(struct_hash), signature)
    self._set_wallet(agentId, newWallet)


@external
def unsetAgentWallet(agentId: uint256):
    """
    @dev Clears the agent's wallet. Its owner, approved account or operator.
    @param agentId The agent id.
    """
    self._check_manager(agentId)
    self._set_wallet(agentId, empty(address))


# TRANSFERS #


@external
def approve(to: address, token_id: uint256):
    """
    @dev ERC-721 approval (nonpayable): the owner or an operator of the
         owner approves `to` for the agent.
    @param to The account approved (zero: none).
    @param token_id The agent id.
    """
    erc721_core._approve(self._owner_of(token_id), to, token_id)


@external
def transferFrom(owner: address, to: address, token_id: uint256):
    """
    @dev ERC-721 transfer; clears the agent's wallet, which the new owner
         sets again (ERC-8004).
    @param owner The current owner.
    @param to The receiver.
    @param token_id The agent id.
    """
    self._transfer(owner, to, token_id)


@external
def safeTransferFrom(owner: address, to: address, token_id: uint256, data: Bytes[1_024] = b""):
    """
    @dev ERC-721 safe transfer (both selectors); clears the agent's
         wallet, as `transferFrom`.
    @param owner The current owner.
    @param to The receiver (a contract must accept it).
    @param token_id The agent id.
    @param data Data handed to the receiver.
    """
    self._transfer(owner, to, token_id)
    erc721_core._check_received(owner, to, token_id, data)


# VIEWS #


@external
@view
def ownerOf(token_id: uint256) -> address:
    """
    @dev ERC-721: the agent's owner.
    @param token_id The agent id (must exist: `erc721: invalid token ID`).
    @return address The owner.
    """
    return self._owner_of(token_id)


@external
@view
def getApproved(token_id: uint256) -> address:
    """
    @dev ERC-721: the account approved for the agent.
    @param token_id The agent id (must exist: `erc721: invalid token ID`).
    @return address The account (zero: none).
    """
    self._owner_of(token_id)
    return erc721_core._token_approvals[token_id]


@external
@view
def totalSupply() -> uint256:
    """
    @dev The number of agents, also the last agent id (agents are never
         burnt).
    @return uint256 The number of agents.
    """
    # Cannot underflow: the next id is at least 1.
    return unsafe_sub(self._next_agent_id, 1)


@external
@view
def name() -> String[25]:
    """
    @dev ERC-721 metadata: the collection name.
    @return String "tantieme Agent Identity".
    """
    return _NAME


@external
@view
def symbol() -> String[5]:
    """
    @dev ERC-721 metadata: the collection symbol.
    @return String "AGENT".
    """
    return _SYMBOL


@external
@view
def DOMAIN_SEPARATOR() -> bytes32:
    """
    @dev The EIP-712 domain separator `AgentWalletSet` is signed in.
    @return bytes32 The domain separator.
    """
    return eip712_domain_separator._domain_separator_v4()


@external
@view
def getMetadata(agentId: uint256, metadataKey: String[MAX_METADATA_KEY]) -> Bytes[MAX_METADATA_VALUE]:
    """
    @dev An on-chain metadata entry; `agentWallet` gives the wallet's 20
         bytes (empty when none).
    @param agentId The agent id.
    @param metadataKey The key.
    @return Bytes The value (empty when unset).
    """
    if keccak256(metadataKey) == keccak256(AGENT_WALLET_KEY):
        return self._wallet_bytes(self._agent_wallets[agentId])
    return self._metadata[agentId][metadataKey]


@external
@view
def getAgentWallet(agentId: uint256) -> address:
    """
    @dev The agent's wallet, where it receives payments.
    @param agentId The agent id.
    @return address The wallet (zero when none).
    """
    return self._agent_wallets[agentId]


@external
@view
def isAuthorizedOrOwner(spender: address, agentId: uint256) -> bool:
    """
    @dev Whether `spender` manages the agent: its owner, approved account
         or an operator of the owner (as the reference implementation).
    @param spender The account.
    @param agentId The agent id (must exist: `erc721: invalid token ID`).
    @return bool True if it does.
    """
    return self._is_manager(spender, agentId)


@external
@view
def tokenURI(token_id: uint256) -> String[MAX_URI]:
    """
    @dev ERC-721 metadata URI: the agent's URI (`agentURI`).
    @param token_id The agent id (must exist: `erc721: invalid token ID`).
    @return String The URI (empty until set).
    """
    self._owner_of(token_id)
    return self._agent_uris[token_id]


@external
@view
def supportsInterface(interface_id: bytes4) -> bool:
    """
    @dev ERC-165: whether the registry serves `interface_id`.
    @param interface_id The 4-byte interface identifier.
    @return bool True for ERC-165, ERC-721 (with metadata) and ERC-4906.
    """
    return interface_id in _SUPPORTED_INTERFACES


# INTERNAL #


@internal
@view
def _check_manager(agent_id: uint256):
    """
    @dev Reverts unless the caller is the agent's owner, approved account
         or an operator of its owner (`erc721: invalid token ID` if none).
    @param agent_id The agent id.
    """
    assert self._is_manager(msg.sender, agent_id), "identity: caller is not the owner or approved"


@internal
@view
def _is_manager(spender: address, agent_id: uint256) -> bool:
    """
    @dev Whether `spender` is the agent's owner, approved account or an
         operator of its owner (`erc721: invalid token ID` if no agent).
    @param spender The account.
    @param agent_id The agent id.
    @return bool True if it manages the agent.
    """
    return erc721_core._is_authorized(spender, self._owner_of(agent_id), agent_id)


@internal
@view
def _owner_of(agent_id: uint256) -> address:
    """
    @dev The agent's owner; reverts if there is no such agent.
    @param agent_id The agent id.
    @return address The owner.
    """
    owner: address = self._owners[agent_id]
    assert owner != empty(address), "erc721: invalid token ID"
    return owner


@internal
def _transfer(owner: address, to: address, agent_id: uint256):
    """
    @dev ERC-721 transfer by an authorized caller; clears the agent's
         wallet (ERC-8004).
    @param owner The owner the transfer names.
    @param to The receiver.
    @param agent_id The agent id.
    """
    self._set_wallet(agent_id, empty(address))
    erc721_core._move(owner, self._owner_of(agent_id), to, agent_id)
    self._owners[agent_id] = to


@internal
def _set_metadata(agent_id: uint256, key: String[MAX_METADATA_KEY], entry: Bytes[MAX_METADATA_VALUE]):
    """
    @dev Stores a metadata entry and logs it; the wallet key is reserved.
    @param agent_id The agent id.
    @param key The key.
    @param entry The value.
    """
    assert keccak256(key) != keccak256(AGENT_WALLET_KEY), "identity: reserved key"
    self._metadata[agent_id][key] = entry
    log MetadataSet(agentId=agent_id, indexedMetadataKey=key, metadataKey=key, metadataValue=entry)


@internal
def _set_wallet(agent_id: uint256, wallet: address):
    """
    @dev Sets (or clears, with zero) the agent's wallet and logs it as the
         `agentWallet` metadata entry.
    @param agent_id The agent id.
    @param wallet The wallet, or zero.
    """
    self._agent_wallets[agent_id] = wallet
    log MetadataSet(
        agentId=agent_id,
        indexedMetadataKey=AGENT_WALLET_KEY,
        metadataKey=AGENT_WALLET_KEY,
        metadataValue=self._wallet_bytes(wallet),
    )


@internal
@pure
def _wallet_bytes(wallet: address) -> Bytes[MAX_METADATA_VALUE]:
    """
    @dev The `agentWallet` metadata value: the wallet's 20 bytes
         (`abi.encodePacked`), empty for none.
    @param wallet The wallet.
    @return Bytes The value.
    """
    if wallet == empty(address):
        return b""
    return slice(convert(wallet, bytes32), 12, 20)


@internal
@view
def _check_signature(signer: address, digest: bytes32, signature: Bytes[MAX_SIGNATURE]):
    """
    @dev Reverts unless `signer` signed `digest`: a signer with code must
         answer ERC-1271's magic value, any other signs with secp256k1
         (65 bytes `r ‖ s ‖ v`, low s).
    @param signer The wallet that must have signed.
    @param digest The EIP-712 digest.
    @param signature The signature.
    """
    if signer.is_contract:
        success: bool = False
        answer: Bytes[32] = b""
        success, answer = raw_call(
            signer,
            abi_encode(digest, signature, method_id=_ERC1271_MAGIC_VALUE),
            max_outsize=32,
            is_static_call=True,
            revert_on_failure=False,
        )
        assert (
            success and len(answer) == 32 and convert(answer, bytes32) == convert(_ERC1271_MAGIC_VALUE, bytes32)
        ), "identity: invalid wallet signature"
        return
    assert len(signature) == 65, "identity: invalid signature length"
    v: uint256 = convert(slice(signature, 64, 1), uint256)
    r: uint256 = convert(extract32(signature, 0), uint256)
    s: uint256 = convert(extract32(signature, 32), uint256)
    assert ecdsa._recover_vrs(digest, v, r, s) == signer, "identity: invalid wallet signature"
