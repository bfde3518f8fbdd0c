"""The node as an agent in a market of nodes (ERC-8004, "Trustless Agents").

- `identity`: the node's registration file, registering the node's operator as an
  agent, and reading any agent back from the chain;
- `reputation`: feedback from a paying client, proven by its settled record.
"""
