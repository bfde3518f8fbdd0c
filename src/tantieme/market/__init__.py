"""The market of nodes: model offers on chain and choosing a provider among them.

- `routing`: pick the cheapest, fastest or best offer within a price cap and the
  consent required, with a fallback order (pure: offers in, an order out);
- `offers`: the offer registry on chain: list the active offers, set the node's own.
"""
