// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {VRWXErrors} from "./VRWXErrors.sol";

interface IIdentityRegistry {
    function getController(bytes32 robotId) external view returns (address);
}

/// @title JobEscrow (test double)
/// @notice Escrow with the ABI, checks, errors, events and EIP-712 domain of the deployed
/// VRWX JobEscrow (spec/VRWX.md, "JobEscrow" and "EIP-712 completion claim"). Built for
/// vrwxctl's tests on a local chain; it is not the protocol's code. Like the deployed
/// escrow it has no pause switch; PausableJobEscrow adds one.
contract JobEscrow is VRWXErrors, EIP712 {
    using SafeERC20 for IERC20;

    enum Status {
        CREATED,
        FUNDED,
        COMPLETED,
        SETTLED,
        DISPUTED,
        REFUNDED
    }

    /// @dev Field order is the ABI: the `jobs(uint256)` getter and `getJob` return these
    /// eleven values in this order.
    struct Job {
        address buyer;
        bytes32 robotId;
        bytes32 jobSpecHash;
        uint256 price;
        uint256 deadline;
        Status status;
        bytes32 completionHash;
        uint256 tokenId;
        uint256 settleAfter;
        uint8 qualityScore;
        uint32 workUnits;
    }

    bytes32 internal constant COMPLETION_CLAIM_V2_TYPEHASH = keccak256(
        "CompletionClaimV2(uint256 jobId,bytes32 jobSpecHash,bytes32 completionHash,bytes32 robotId,address controller,uint256 deadline,uint8 qualityScore,uint32 workUnits)"
    );

    /// @notice Time the buyer has to dispute a completion before it can be settled.
    uint256 internal constant CHALLENGE_WINDOW = 86400;

    /// @notice Protocol fee on settlement, in basis points of the price, paid to the treasury.
    uint256 internal constant FEE_BPS = 250;

    /// @notice JobSettledV2 outcome for a job paid out to the robot's controller.
    uint8 internal constant OUTCOME_PAID = 1;

    /// @notice resolveDispute verdicts.
    uint8 internal constant VERDICT_ROBOT_WINS = 1;
    uint8 internal constant VERDICT_BUYER_WINS = 2;
    uint8 internal constant VERDICT_REDO = 3;

    event JobCreated(
        uint256 indexed jobId,
        address indexed buyer,
        bytes32 indexed robotId,
        bytes32 jobSpecHash,
        uint256 price,
        uint256 deadline
    );
    event JobCreatedV2(
        uint256 indexed jobId,
        bytes32 indexed serviceTypeHash,
        address buyer,
        bytes32 robotId,
        uint256 price,
        uint256 deadline
    );
    event JobFunded(uint256 indexed jobId, uint256 amount);
    event CompletionSubmitted(uint256 indexed jobId, bytes32 completionHash);
    event JobSettled(uint256 indexed jobId, uint256 tokenId, uint256 payout, uint256 fee);
    event JobSettledV2(uint256 indexed jobId, bytes32 indexed serviceTypeHash, uint256 receiptTokenId, uint8 outcome);
    event JobRefunded(uint256 indexed jobId, address buyer, uint256 amount);

    address public immutable token;
    address public immutable identity;
    address public immutable treasury;
    address public immutable admin;
    address public bond;
    address public receipt;
    address public disputeManager;

    mapping(uint256 => Job) public jobs;
    mapping(bytes32 => bool) public claimUsed;
    uint256 public jobCount;

    /// @notice A V2 job's service type hash (zero for a job created without one).
    mapping(uint256 => bytes32) public jobServiceTypes;
    uint256 private _lastTokenId;

    constructor(address token_, address identity_, address treasury_) EIP712("VRWX", "1") {
        if (token_ == address(0) || identity_ == address(0) || treasury_ == address(0)) revert ZeroAddress();
        token = token_;
        identity = identity_;
        treasury = treasury_;
        admin = msg.sender;
    }

    modifier onlyAdmin() {
        if (msg.sender != admin) revert NotAuthorized();
        _;
    }

    /// @notice Wires the modules the deployed escrow talks to. The double never calls
    /// them; they exist so `bond()`, `receipt()` and `disputeManager()` can be checked.
    function setModules(address bond_, address receipt_, address disputeManager_) external onlyAdmin {
        bond = bond_;
        receipt = receipt_;
        disputeManager = disputeManager_;
    }

    function getJob(uint256 jobId) external view returns (Job memory) {
        return jobs[jobId];
    }

    /// @notice The contract's own EIP-712 digest of a struct hash, so a tool can check its
    /// digest against the chain's.
    function hashTypedDataV4(bytes32 structHash) public view returns (bytes32) {
        return _hashTypedDataV4(structHash);
    }

    /// @notice Opens a job for a robot. The robot need not be registered: the escrow only
    /// consults the registry when a completion arrives.
    function createJob(bytes32 robotId, bytes32 jobSpecHash, uint256 price, uint256 deadline)
        external
        returns (uint256 jobId)
    {
        return createJobV2(robotId, bytes32(0), jobSpecHash, price, deadline);
    }

    /// @notice createJob with a service type, which JobCreatedV2 and JobSettledV2 carry.
    function createJobV2(bytes32 robotId, bytes32 serviceTypeHash, bytes32 jobSpecHash, uint256 price, uint256 deadline)
        public
        returns (uint256 jobId)
    {
        _checkNotPaused();
        if (price == 0) revert ZeroAmount();
        if (deadline <= block.timestamp) revert DeadlinePassed();
        return _create(msg.sender, robotId, serviceTypeHash, jobSpecHash, price, deadline, Status.CREATED);
    }

    /// @notice The buyer pays the price into escrow.
    function fundJob(uint256 jobId) external {
        _checkNotPaused();
        Job storage job = _existing(jobId);
        if (msg.sender != job.buyer) revert NotAuthorized();
        if (job.status != Status.CREATED) revert InvalidStatus();
        if (block.timestamp > job.deadline) revert DeadlinePassed();
        job.status = Status.FUNDED;
        IERC20(token).safeTransferFrom(msg.sender, address(this), job.price);
        emit JobFunded(jobId, job.price);
    }

    /// @notice Records a completion signed by the robot's controller (EIP-712
    /// CompletionClaimV2). Anyone may send it; the checks run in the spec's order.
    function submitCompletionV2(
        uint256 jobId,
        bytes32 completionHash,
        uint8 qualityScore,
        uint32 workUnits,
        bytes calldata signature
    ) external {
        _checkNotPaused();
        Job storage job = _existing(jobId);
        if (job.status != Status.FUNDED) revert InvalidStatus();
        if (block.timestamp > job.deadline) revert DeadlinePassed();
        bytes32 claimKey = keccak256(abi.encode(jobId, completionHash, qualityScore, workUnits));
        if (claimUsed[claimKey]) revert ClaimAlreadyUsed();
        address controller = IIdentityRegistry(identity).getController(job.robotId);
        if (controller == address(0)) revert RobotNotFound();

        bytes32 digest = _hashTypedDataV4(_claimStructHash(jobId, job, completionHash, controller, qualityScore, workUnits));
        // recover, not tryRecover: like the deployed escrow (spec/VRWX.md), a signature
        // OpenZeppelin cannot recover reverts with its own errors (ECDSAInvalidSignature,
        // ECDSAInvalidSignatureLength, ECDSAInvalidSignatureS); one that recovers to
        // someone other than the controller is the protocol's InvalidSignature.
        if (ECDSA.recoverCalldata(digest, signature) != controller) revert InvalidSignature();

        claimUsed[claimKey] = true;
        job.status = Status.COMPLETED;
        job.completionHash = completionHash;
        job.qualityScore = qualityScore;
        job.workUnits = workUnits;
        job.settleAfter = block.timestamp + CHALLENGE_WINDOW;
        emit CompletionSubmitted(jobId, completionHash);
    }

    /// @notice After the challenge window, pays the robot's controller the price minus
    /// the fee, which goes to the treasury.
    function settle(uint256 jobId) external {
        _checkNotPaused();
        Job storage job = _existing(jobId);
        if (job.status != Status.COMPLETED) revert InvalidStatus();
        if (block.timestamp < job.settleAfter) revert ChallengeWindowActive();
        address controller = IIdentityRegistry(identity).getController(job.robotId);
        if (controller == address(0)) revert RobotNotFound();

        uint256 tokenId = ++_lastTokenId;
        uint256 fee = (job.price * FEE_BPS) / 10_000;
        uint256 payout = job.price - fee;
        job.status = Status.SETTLED;
        job.tokenId = tokenId;
        IERC20(token).safeTransfer(controller, payout);
        if (fee > 0) IERC20(token).safeTransfer(treasury, fee);
        emit JobSettled(jobId, tokenId, payout, fee);
        emit JobSettledV2(jobId, jobServiceTypes[jobId], tokenId, OUTCOME_PAID);
    }

    /// @notice The buyer contests a completion within the challenge window.
    function dispute(uint256 jobId) external {
        _checkNotPaused();
        Job storage job = _existing(jobId);
        if (msg.sender != job.buyer) revert NotAuthorized();
        if (job.status != Status.COMPLETED) revert InvalidStatus();
        if (block.timestamp >= job.settleAfter) revert ChallengeWindowPassed();
        job.status = Status.DISPUTED;
    }

    /// @notice Closes a dispute. Only the dispute manager, or the admin while none is
    /// wired, may rule. VERDICT_REDO reopens the job as FUNDED with its completion cleared
    /// but its claim key still marked used: the state in which replaying the old claim
    /// reverts ClaimAlreadyUsed, the escrow's anti-replay check.
    function resolveDispute(uint256 jobId, uint8 verdict) external {
        _checkNotPaused();
        if (msg.sender != disputeManager && msg.sender != admin) revert NotAuthorized();
        Job storage job = _existing(jobId);
        if (job.status != Status.DISPUTED) revert InvalidStatus();
        if (verdict == VERDICT_ROBOT_WINS) {
            job.status = Status.COMPLETED;
            job.settleAfter = block.timestamp;
        } else if (verdict == VERDICT_BUYER_WINS) {
            job.status = Status.REFUNDED;
            IERC20(token).safeTransfer(job.buyer, job.price);
        } else if (verdict == VERDICT_REDO) {
            job.status = Status.FUNDED;
            job.completionHash = bytes32(0);
            job.qualityScore = 0;
            job.workUnits = 0;
            job.settleAfter = 0;
        } else {
            revert InvalidVerdict();
        }
    }

    /// @notice Returns the price to the buyer of a funded job whose deadline passed with
    /// no completion. Anyone may trigger it; the money only goes to the buyer.
    function refund(uint256 jobId) external {
        _checkNotPaused();
        Job storage job = _existing(jobId);
        if (job.status != Status.FUNDED) revert InvalidStatus();
        if (block.timestamp <= job.deadline) revert DeadlineNotPassed();
        job.status = Status.REFUNDED;
        IERC20(token).safeTransfer(job.buyer, job.price);
        emit JobRefunded(jobId, job.buyer, job.price);
    }

    /// @notice TEST-DOUBLE-ONLY helper, absent from the deployed escrow: creates `n`
    /// FUNDED jobs owned by the caller without moving any token, so benchmarks can fill
    /// the chain with thousands of jobs in a few transactions. It emits the same events
    /// as createJob + fundJob so event scans see ordinary jobs.
    function seedJobs(uint256 n, bytes32 robotId, uint256 price, uint256 deadline) external returns (uint256 firstId) {
        _checkNotPaused();
        if (n == 0 || price == 0) revert ZeroAmount();
        if (deadline <= block.timestamp) revert DeadlinePassed();
        firstId = jobCount + 1;
        for (uint256 i = 0; i < n; i++) {
            uint256 jobId = _create(
                msg.sender, robotId, bytes32(0), keccak256(abi.encode(firstId + i)), price, deadline, Status.FUNDED
            );
            emit JobFunded(jobId, price);
        }
    }

    /// @notice TEST-DOUBLE-ONLY helper, absent from the deployed escrow: seedJobs without
    /// the events, so a benchmark can write a million jobs in a handful of large
    /// transactions. A job scan reads storage only; the events of a million jobs would
    /// cost the node gigabytes and tell the scan nothing. Deadlines step by one second
    /// from `deadline` so the jobs are not all alike.
    function seedJobsQuiet(uint256 n, bytes32 robotId, uint256 price, uint256 deadline)
        external
        returns (uint256 firstId)
    {
        _checkNotPaused();
        if (n == 0 || price == 0) revert ZeroAmount();
        if (deadline <= block.timestamp) revert DeadlinePassed();
        firstId = jobCount + 1;
        for (uint256 i = 0; i < n; i++) {
            Job storage job = jobs[firstId + i];
            job.buyer = msg.sender;
            job.robotId = robotId;
            job.jobSpecHash = keccak256(abi.encode(firstId + i));
            job.price = price;
            job.deadline = deadline + i;
            job.status = Status.FUNDED;
        }
        jobCount = firstId + n - 1;
    }

    /// @notice TEST-DOUBLE-ONLY helper, absent from the deployed escrow: emits the events
    /// createJob + fundJob emit (JobCreated, JobCreatedV2, JobFunded) for jobs
    /// firstId..firstId+n-1 of the caller, and stores nothing: those jobs do not exist.
    /// An event benchmark spreads 100k events over a million blocks, and anvil's cost
    /// per mined block grows with the chain's state, so it cannot afford to store them.
    function emitJobEvents(uint256 firstId, uint256 n, bytes32 robotId, uint256 price, uint256 deadline) external {
        for (uint256 i = 0; i < n; i++) {
            uint256 jobId = firstId + i;
            bytes32 jobSpecHash = keccak256(abi.encode(jobId));
            emit JobCreated(jobId, msg.sender, robotId, jobSpecHash, price, deadline);
            emit JobCreatedV2(jobId, bytes32(0), msg.sender, robotId, price, deadline);
            emit JobFunded(jobId, price);
        }
    }

    /// @dev Hook for PausableJobEscrow; the plain escrow, like the deployed one, cannot pause.
    function _checkNotPaused() internal view virtual {}

    function _existing(uint256 jobId) private view returns (Job storage job) {
        job = jobs[jobId];
        if (job.buyer == address(0)) revert JobNotFound();
    }

    function _create(
        address buyer,
        bytes32 robotId,
        bytes32 serviceTypeHash,
        bytes32 jobSpecHash,
        uint256 price,
        uint256 deadline,
        Status status
    ) private returns (uint256 jobId) {
        jobId = ++jobCount;
        Job storage job = jobs[jobId];
        job.buyer = buyer;
        job.robotId = robotId;
        job.jobSpecHash = jobSpecHash;
        job.price = price;
        job.deadline = deadline;
        job.status = status;
        if (serviceTypeHash != bytes32(0)) jobServiceTypes[jobId] = serviceTypeHash;
        emit JobCreated(jobId, buyer, robotId, jobSpecHash, price, deadline);
        emit JobCreatedV2(jobId, serviceTypeHash, buyer, robotId, price, deadline);
    }

    function _claimStructHash(
        uint256 jobId,
        Job storage job,
        bytes32 completionHash,
        address controller,
        uint8 qualityScore,
        uint32 workUnits
    ) private view returns (bytes32) {
        return keccak256(
            abi.encode(
                COMPLETION_CLAIM_V2_TYPEHASH,
                jobId,
                job.jobSpecHash,
                completionHash,
                job.robotId,
                controller,
                job.deadline,
                qualityScore,
                workUnits
            )
        );
    }
}
