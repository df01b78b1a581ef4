// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title VRWXErrors
/// @notice Every custom error the VRWX protocol declares (spec/VRWX.md, "Custom errors").
/// @dev The test doubles inherit this so their ABIs carry the whole error set, as the
/// deployed contracts' do: a tool decoding revert data must know every selector, not only
/// the ones a double happens to use.
abstract contract VRWXErrors {
    error NotAuthorized();
    error InvalidSignature();
    error JobNotFound();
    error InvalidStatus();
    error DeadlinePassed();
    error DeadlineNotPassed();
    error InsufficientBond();
    error ChallengeWindowActive();
    error ChallengeWindowPassed();
    error ClaimAlreadyUsed();
    error ZeroAddress();
    error ZeroAmount();
    error InsufficientBalance();
    error RobotNotFound();
    error RobotAlreadyExists();
    error DisputeNotFound();
    error DisputeAlreadyExists();
    error InvalidVerdict();
    error TokenAlreadyMinted();
    error TokenNotFound();
    error InvalidAmount();
    error UnlockAlreadyPending();
    error NoUnlockPending();
    error TimelockActive();
    error InsufficientStake();
    error OfferNotFound();
    error OfferNotActive();
    error OfferExpired();
}
