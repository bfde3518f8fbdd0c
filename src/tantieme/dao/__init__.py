"""The DAO: the handover of the deployment's parameters to its timelock, and its proposals.

    from tantieme.dao import Dao, handover, set_split
    with Node.open() as node:
        handover(node)                       # the timelock owns the parameters from now on
        dao = Dao(node)
        proposal = dao.propose([set_split(node, 800, 1000)], "Raise the machine tax to 8 %")
"""

from tantieme.dao.governance import STATES, SUPPORT, Action, Dao, Member, Proposal, Status, call, set_commons, set_split
from tantieme.dao.handover import OWNED, Handed, Owned, handover, state

__all__ = [
    "OWNED", "STATES", "SUPPORT", "Action", "Dao", "Handed", "Member", "Owned", "Proposal", "Status",
    "call", "handover", "set_commons", "set_split", "state",
]
