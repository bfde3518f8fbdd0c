# pragma version ~=0.4.3
# pragma nonreentrancy off
"""
@title tantieme Timelock (snekmate's `timelock_controller`, as it is)
@custom:contract-name timelock
@license GNU Affero General Public License v3.0 only
@notice The DAO's executor: snekmate's audited `timelock_controller`
        module deployed unchanged, with its `access_control` roles. The
        governor is its only proposer, canceller and executor; it holds
        what the DAO owns and makes the calls proposals carry, each after
        `get_minimum_delay` seconds. Deployed with the deployer as a
        temporary admin, who grants the governor its roles and then
        renounces (see `SPEC.md`).
@custom:security The module's `__default__` is `payable` (a timelock may
                 hold ether and spend it through proposals), unlike
                 tantieme's other contracts.
"""


# @dev The roles (admin, proposer, canceller, executor).
from snekmate.auth import access_control
initializes: access_control


# @dev The audited timelock.
from snekmate.governance import timelock_controller
initializes: timelock_controller[access_control := access_control]


exports: timelock_controller.__interface__


@deploy
@payable
def __init__(
    minimum_delay_: uint256,
    proposers_: DynArray[address, 255],
    executors_: DynArray[address, 255],
    admin_: address,
):
    """
    @dev The module's constructor, unchanged (payable, as it is there).
    @param minimum_delay_ The minimum delay of operations, in seconds.
    @param proposers_ Accounts given the proposer and canceller roles.
    @param executors_ Accounts given the executor role.
    @param admin_ An optional temporary admin (address 0 for none).
    """
    access_control.__init__()
    timelock_controller.__init__(minimum_delay_, proposers_, executors_, admin_)
