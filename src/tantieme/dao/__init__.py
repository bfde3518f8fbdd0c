"""The DAO: the handover of the deployment's parameters to its timelock, and its proposals.

    from tantieme.dao import Dao, handover, set_split
    with Node.open() as node:
        handover(node)                       # the timelock owns the parameters from now on
        dao = Dao(node)
        proposal = dao.propose([set_split(node, 800, 1000)], "Raise the machine tax to 8 %")
"""

from tantieme.dao.governance import (
    COUNTINGS,
    STATES,
    SUPPORT,
    Action,
    Counting,
    Dao,
    Member,
    Proposal,
    Status,
    Vote,
    call,
    format_number,
    format_weight,
    set_commons,
    set_counting,
    set_split,
    weight_unit,
)
from tantieme.dao.handover import OWNED, Handed, Owned, handover, state

__all__ = [
    "COUNTINGS", "OWNED", "STATES", "SUPPORT", "Action", "Counting", "Dao", "Handed", "Member", "Owned", "Proposal",
    "Status", "Vote", "call", "format_number", "format_weight", "handover", "set_commons", "set_counting", "set_split",
    "state", "weight_unit",
]
