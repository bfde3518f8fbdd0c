"""An agent-based simulation of the economy around tantieme nodes (Mesa), to judge rules.

`Rules` are what the chain sets (machine tax, operator's cut, offer, dividend);
`Economy` the assumptions around it; `EconomyModel` runs one economy under one set
of rules; `report` compares baselines and proposals and sweeps the parameters;
`proposal.proposed` reads a DAO proposal as the rules it would set.
"""

from tantieme.simulation.rules import Economy, Rules

__all__ = ["Economy", "Rules"]
