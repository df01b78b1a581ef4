// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {VRWXErrors} from "./VRWXErrors.sol";

/// @title IdentityRegistry (test double)
/// @notice Robot id -> controller registry with the ABI of the deployed VRWX
/// IdentityRegistry (spec/VRWX.md, "IdentityRegistry"). Built for vrwxctl's tests on a
/// local chain; it is not the protocol's code.
contract IdentityRegistry is VRWXErrors {
    struct Robot {
        address controller;
        bytes pubkey;
        bytes32 metadataHash;
        bool active;
    }

    event RobotRegistered(bytes32 indexed robotId, address indexed controller, bytes pubkey);
    event RobotKeyRotated(bytes32 indexed robotId, bytes newPubkey);
    event RobotMetadataUpdated(bytes32 indexed robotId, bytes32 metadataHash);

    mapping(bytes32 => Robot) private _robots;

    /// @notice Registers a robot as active. Registration is open to anyone: the spec
    /// names no registrar, and the checks that matter (controller set, id unused) hold.
    function registerRobot(bytes32 robotId, address controller, bytes calldata pubkey) external {
        if (controller == address(0)) revert ZeroAddress();
        if (_robots[robotId].controller != address(0)) revert RobotAlreadyExists();
        _robots[robotId] = Robot({controller: controller, pubkey: pubkey, metadataHash: bytes32(0), active: true});
        emit RobotRegistered(robotId, controller, pubkey);
    }

    function rotateKey(bytes32 robotId, bytes calldata newPubkey) external {
        Robot storage r = _onlyController(robotId);
        r.pubkey = newPubkey;
        emit RobotKeyRotated(robotId, newPubkey);
    }

    function updateMetadata(bytes32 robotId, bytes32 metadataHash) external {
        Robot storage r = _onlyController(robotId);
        r.metadataHash = metadataHash;
        emit RobotMetadataUpdated(robotId, metadataHash);
    }

    /// @notice Marks the robot inactive. The controller stays recorded, so a deactivated
    /// robot still has a controller: the escrow accepts its signatures and only the API's
    /// isActive check stops relaying (spec/VRWX.md, "JobEscrow").
    function deactivateRobot(bytes32 robotId) external {
        Robot storage r = _onlyController(robotId);
        r.active = false;
    }

    function getController(bytes32 robotId) external view returns (address) {
        return _robots[robotId].controller;
    }

    function isActive(bytes32 robotId) external view returns (bool) {
        return _robots[robotId].active;
    }

    function getRobot(bytes32 robotId) external view returns (Robot memory) {
        return _robots[robotId];
    }

    function _onlyController(bytes32 robotId) private view returns (Robot storage r) {
        r = _robots[robotId];
        if (r.controller == address(0)) revert RobotNotFound();
        if (r.controller != msg.sender) revert NotAuthorized();
    }
}
