package vrwx

import (
	"encoding/hex"
	"errors"
	"strings"

	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/rpc"
)

// ContractError is a decoded custom error with the runbook's cause and fix.
type ContractError struct {
	Name     string `json:"name"`
	Selector string `json:"selector"`
	Cause    string `json:"cause"`
	Fix      string `json:"fix"`
}

func (e *ContractError) Error() string {
	if e.Cause != "" {
		return e.Name + ": " + e.Cause
	}
	return e.Name
}

// customErrors lists the spec's custom errors; cause and fix follow the runbook's
// incident tables where it names one.
var customErrors = []ContractError{
	{Name: "NotAuthorized", Cause: "the sender is not allowed to call this", Fix: "send from the account the contract expects (admin, controller or buyer)"},
	{Name: "InvalidSignature", Cause: "the signature does not recover to the robot's controller (runbook: wrong controller signing, or signature for wrong chain)", Fix: "run `vrwxctl robot verify-sig` to see who signed and for which chain/escrow; check IdentityRegistry state"},
	{Name: "JobNotFound", Cause: "no job with this id on this escrow", Fix: "check the job id and the profile's escrow address (`vrwxctl config view`)"},
	{Name: "InvalidStatus", Cause: "the job is not in the status this call needs (a completion needs FUNDED)", Fix: "`vrwxctl job get ID` shows the status; a COMPLETED job was already submitted"},
	{Name: "DeadlinePassed", Cause: "the job's deadline has passed", Fix: "the completion can no longer be submitted; the buyer may refund"},
	{Name: "DeadlineNotPassed", Cause: "the job's deadline has not passed yet", Fix: "wait until the deadline (`vrwxctl job get ID`)"},
	{Name: "InsufficientBond", Cause: "the robot's bond is too small"},
	{Name: "ChallengeWindowActive", Cause: "the challenge window is still open", Fix: "wait until settleAfter (`vrwxctl job get ID`)"},
	{Name: "ChallengeWindowPassed", Cause: "the challenge window has closed"},
	{Name: "ClaimAlreadyUsed", Cause: "this exact completion (job, hash, quality, work units) was already submitted (anti-replay)", Fix: "do not resend; `vrwxctl job get ID` shows the recorded completion"},
	{Name: "ZeroAddress", Cause: "an address argument is zero"},
	{Name: "ZeroAmount", Cause: "an amount argument is zero"},
	{Name: "InsufficientBalance", Cause: "the balance is too small for this operation"},
	{Name: "RobotNotFound", Cause: "the robot is not registered in the IdentityRegistry (runbook: robot not registered)", Fix: "check IdentityRegistry state: `vrwxctl robot get ROBOT`"},
	{Name: "RobotAlreadyExists", Cause: "the robot id is already registered"},
	{Name: "DisputeNotFound", Cause: "no such dispute"},
	{Name: "DisputeAlreadyExists", Cause: "a dispute for this job already exists"},
	{Name: "InvalidVerdict", Cause: "the verdict value is not valid"},
	{Name: "TokenAlreadyMinted", Cause: "the receipt token was already minted"},
	{Name: "TokenNotFound", Cause: "no such receipt token"},
	{Name: "InvalidAmount", Cause: "the amount is not valid"},
	{Name: "UnlockAlreadyPending", Cause: "an unlock is already pending"},
	{Name: "NoUnlockPending", Cause: "no unlock is pending"},
	{Name: "TimelockActive", Cause: "the timelock has not expired"},
	{Name: "InsufficientStake", Cause: "the stake is too small"},
	{Name: "OfferNotFound", Cause: "no such offer"},
	{Name: "OfferNotActive", Cause: "the offer is not active"},
	{Name: "OfferExpired", Cause: "the offer has expired"},
}

var bySelector = func() map[[4]byte]*ContractError {
	m := make(map[[4]byte]*ContractError, len(customErrors))
	for i := range customErrors {
		e := &customErrors[i]
		var sel [4]byte
		copy(sel[:], crypto.Keccak256([]byte(e.Name + "()"))[:4])
		e.Selector = "0x" + hex.EncodeToString(sel[:])
		m[sel] = e
	}
	return m
}()

// ErrorByName returns the custom error with that name, or nil.
func ErrorByName(name string) *ContractError {
	for _, e := range bySelector {
		if e.Name == name {
			c := *e
			return &c
		}
	}
	return nil
}

// DecodeRevert names the custom error in revert data, or returns nil when the data
// is none of the spec's errors. Solidity's own Error(string) and Panic(uint256) are
// decoded by go-ethereum's abi.UnpackRevert (a panic reads as its reason, e.g.
// "division or modulo by zero").
func DecodeRevert(data []byte) *ContractError {
	if len(data) < 4 {
		return nil
	}
	var sel [4]byte
	copy(sel[:], data[:4])
	if e, ok := bySelector[sel]; ok {
		c := *e
		return &c
	}
	reason, err := abi.UnpackRevert(data)
	if err != nil {
		return nil
	}
	name := "Error"
	if sel == panicSelector {
		name = "Panic"
	}
	return &ContractError{Name: name, Selector: "0x" + hex.EncodeToString(sel[:]), Cause: reason}
}

// panicSelector starts Solidity's Panic(uint256) revert data.
var panicSelector = [4]byte(crypto.Keccak256([]byte("Panic(uint256)"))[:4])

// RevertData extracts the revert data from an eth_call / estimateGas error.
func RevertData(err error) ([]byte, bool) {
	var de rpc.DataError
	if !errors.As(err, &de) {
		return nil, false
	}
	switch d := de.ErrorData().(type) {
	case string:
		b, herr := hex.DecodeString(strings.TrimPrefix(d, "0x"))
		return b, herr == nil
	case []byte:
		return d, true
	}
	return nil, false
}

// DecodeCallError turns an eth_call error into a ContractError when it carries a
// known revert, else returns nil.
func DecodeCallError(err error) *ContractError {
	data, ok := RevertData(err)
	if !ok {
		return nil
	}
	return DecodeRevert(data)
}
