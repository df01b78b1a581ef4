// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {JobEscrow} from "./JobEscrow.sol";

/// @title PausableJobEscrow (test double)
/// @notice JobEscrow plus the `paused()` switch the runbook's incident step assumes. The
/// deployed escrow has none; this variant lets tests cover an escrow that does, in both
/// states. While paused every state-changing job function reverts with EnforcedPause().
contract PausableJobEscrow is JobEscrow, Pausable {
    constructor(address token_, address identity_, address treasury_) JobEscrow(token_, identity_, treasury_) {}

    function pause() external onlyAdmin {
        _pause();
    }

    function unpause() external onlyAdmin {
        _unpause();
    }

    function _checkNotPaused() internal view override {
        _requireNotPaused();
    }
}
