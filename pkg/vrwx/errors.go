package vrwx

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/rpc"
)

// ContractError is a decoded revert: one of the spec's custom errors, an
// OpenZeppelin error the escrow can revert with, or Solidity's Error(string) and
// Panic(uint256), with the runbook's cause and fix.
type ContractError struct {
	Name     string `json:"name"`
	Selector string `json:"selector"`
	// Args are the error's arguments as "name=value" text (OpenZeppelin's errors
	// carry some; the spec's own errors none).
	Args  []string `json:"args,omitempty"`
	Cause string   `json:"cause"`
	Fix   string   `json:"fix"`
}

// Title is the error's name with its arguments: "ECDSAInvalidSignatureLength(length=64)".
func (e *ContractError) Title() string {
	if len(e.Args) == 0 {
		return e.Name
	}
	return e.Name + "(" + strings.Join(e.Args, ", ") + ")"
}

func (e *ContractError) Error() string {
	if e.Cause != "" {
		return e.Title() + ": " + e.Cause
	}
	return e.Title()
}

// knownError is an error vrwxctl decodes: its Solidity signature, and how to word it.
type knownError struct {
	// Sig is the Solidity signature ("ECDSAInvalidSignatureS(bytes32)"); the
	// selector is the first 4 bytes of its keccak256.
	Sig   string
	Cause string
	Fix   string
	// detail, when set, words the cause with the decoded arguments.
	detail func(args []any) string
}

// customErrors lists the spec's custom errors; cause and fix follow the runbook's
// incident tables where it names one.
var customErrors = []knownError{
	{Sig: "NotAuthorized()", Cause: "the sender is not allowed to call this", Fix: "send from the account the contract expects (admin, controller or buyer)"},
	{Sig: "InvalidSignature()", Cause: "the signature does not recover to the robot's controller (runbook: wrong controller signing, or signature for wrong chain)", Fix: "run `vrwxctl robot verify-sig --job ID --completion-hash H --quality Q --work-units W --sig SIG` (the claim's values) to see who signed and for which chain/escrow; check IdentityRegistry state"},
	{Sig: "JobNotFound()", Cause: "no job with this id on this escrow", Fix: "check the job id and the profile's escrow address (`vrwxctl config view`)"},
	{Sig: "InvalidStatus()", Cause: "the job is not in the status this call needs (a completion needs FUNDED)", Fix: "`vrwxctl job get ID` shows the status; a COMPLETED job was already submitted"},
	{Sig: "DeadlinePassed()", Cause: "the job's deadline has passed", Fix: "the completion can no longer be submitted; the buyer may refund"},
	{Sig: "DeadlineNotPassed()", Cause: "the job's deadline has not passed yet", Fix: "wait until the deadline (`vrwxctl job get ID`)"},
	{Sig: "InsufficientBond()", Cause: "the robot's bond is too small"},
	{Sig: "ChallengeWindowActive()", Cause: "the challenge window is still open", Fix: "wait until settleAfter (`vrwxctl job get ID`)"},
	{Sig: "ChallengeWindowPassed()", Cause: "the challenge window has closed"},
	{Sig: "ClaimAlreadyUsed()", Cause: "this exact completion (job, hash, quality, work units) was already submitted (anti-replay)", Fix: "do not resend; `vrwxctl job get ID` shows the recorded completion"},
	{Sig: "ZeroAddress()", Cause: "an address argument is zero"},
	{Sig: "ZeroAmount()", Cause: "an amount argument is zero"},
	{Sig: "InsufficientBalance()", Cause: "the balance is too small for this operation"},
	{Sig: "RobotNotFound()", Cause: "the robot is not registered in the IdentityRegistry (runbook: robot not registered)", Fix: "check IdentityRegistry state: `vrwxctl robot get ROBOT`"},
	{Sig: "RobotAlreadyExists()", Cause: "the robot id is already registered"},
	{Sig: "DisputeNotFound()", Cause: "no such dispute"},
	{Sig: "DisputeAlreadyExists()", Cause: "a dispute for this job already exists"},
	{Sig: "InvalidVerdict()", Cause: "the verdict value is not valid"},
	{Sig: "TokenAlreadyMinted()", Cause: "the receipt token was already minted"},
	{Sig: "TokenNotFound()", Cause: "no such receipt token"},
	{Sig: "InvalidAmount()", Cause: "the amount is not valid"},
	{Sig: "UnlockAlreadyPending()", Cause: "an unlock is already pending"},
	{Sig: "NoUnlockPending()", Cause: "no unlock is pending"},
	{Sig: "TimelockActive()", Cause: "the timelock has not expired"},
	{Sig: "InsufficientStake()", Cause: "the stake is too small"},
	{Sig: "OfferNotFound()", Cause: "no such offer"},
	{Sig: "OfferNotActive()", Cause: "the offer is not active"},
	{Sig: "OfferExpired()", Cause: "the offer has expired"},

	// OpenZeppelin's errors that the escrow's signature recovery and token transfers
	// revert with (spec/VRWX.md): a signature OpenZeppelin cannot even recover never
	// reaches the protocol's InvalidSignature check.
	{Sig: "ECDSAInvalidSignature()", Cause: "the signature cannot be recovered to any address (v is not 27 or 28, or r and s are not a valid signature)",
		Fix: "re-sign the claim with a standard EIP-712 signer (eth_signTypedData_v4); `vrwxctl robot verify-sig --job ID --completion-hash H --quality Q --work-units W --sig SIG` shows what is wrong with it"},
	{Sig: "ECDSAInvalidSignatureLength(uint256)", Cause: "the signature is not 65 bytes (r, s, v)",
		Fix: "pass the full 65-byte signature the robot's controller produced (a truncated copy, or one with ABI padding?)",
		detail: func(a []any) string {
			return fmt.Sprintf("the signature is %v bytes, not 65 (r, s, v)", a[0])
		}},
	{Sig: "ECDSAInvalidSignatureS(bytes32)", Cause: "the signature's s value is in the upper half of the curve order (a malleable high-s signature), which OpenZeppelin refuses",
		Fix: "re-sign with a signer that makes low-s signatures (every standard EIP-712 signer does), or normalise it (s' = n - s, v flipped); `vrwxctl robot verify-sig --job ID --completion-hash H --quality Q --work-units W --sig SIG` shows who signed it"},
	// OpenZeppelin Pausable's: the runbook's "Contract paused" cause, as a pausable
	// escrow reverts every job call while paused (the deployed escrow has no switch).
	{Sig: "EnforcedPause()", Cause: "the escrow is paused: every job call reverts until the admin unpauses it (runbook: contract paused)",
		Fix: "runbook: contract paused — contact the admin to unpause; `vrwxctl status` shows paused()"},
	{Sig: "SafeERC20FailedOperation(address)", Cause: "a transfer of the settlement token failed (the token returned false, or has no code)",
		Fix: "check the escrow's token (`vrwxctl contracts check`) and the balance and allowance the transfer needed",
		detail: func(a []any) string {
			return fmt.Sprintf("a transfer of token %v failed (it returned false, or has no code)", a[0])
		}},
}

// decoder is a known error ready to match revert data.
type decoder struct {
	known    knownError
	name     string
	selector string
	args     abi.Arguments
}

var bySelector = sync.OnceValue(func() map[[4]byte]*decoder {
	m := make(map[[4]byte]*decoder, len(customErrors))
	for _, k := range customErrors {
		name, types, _ := strings.Cut(strings.TrimSuffix(k.Sig, ")"), "(")
		d := &decoder{known: k, name: name}
		for i, t := range strings.Split(types, ",") {
			if t == "" {
				continue
			}
			ty, err := abi.NewType(t, "", nil)
			if err != nil {
				panic(fmt.Sprintf("vrwx: error %s: %v", k.Sig, err))
			}
			d.args = append(d.args, abi.Argument{Name: fmt.Sprintf("arg%d", i), Type: ty})
		}
		var sel [4]byte
		copy(sel[:], crypto.Keccak256([]byte(k.Sig))[:4])
		d.selector = "0x" + hex.EncodeToString(sel[:])
		m[sel] = d
	}
	return m
})

// argNames are the parameter names of the errors with arguments, as OpenZeppelin
// declares them, for "name=value" text.
var argNames = map[string][]string{
	"ECDSAInvalidSignatureLength": {"length"},
	"ECDSAInvalidSignatureS":      {"s"},
	"SafeERC20FailedOperation":    {"token"},
}

func (d *decoder) decode(data []byte) *ContractError {
	e := &ContractError{Name: d.name, Selector: d.selector, Cause: d.known.Cause, Fix: d.known.Fix}
	if len(d.args) == 0 {
		return e
	}
	vals, err := d.args.Unpack(data[4:])
	if err != nil {
		// The selector matched but the arguments do not decode: name it anyway.
		return e
	}
	for i, v := range vals {
		name := fmt.Sprintf("arg%d", i)
		if names := argNames[d.name]; i < len(names) {
			name = names[i]
		}
		e.Args = append(e.Args, name+"="+formatValue(v))
	}
	if d.known.detail != nil {
		text := make([]any, len(vals))
		for i, v := range vals {
			text[i] = formatValue(v)
		}
		e.Cause = d.known.detail(text)
	}
	return e
}

// ErrorByName returns the known error with that name, or nil.
func ErrorByName(name string) *ContractError {
	for _, d := range bySelector() {
		if d.name == name {
			return &ContractError{Name: d.name, Selector: d.selector, Cause: d.known.Cause, Fix: d.known.Fix}
		}
	}
	return nil
}

// DecodeRevert names the error in revert data, or returns nil when the data is none
// of the errors vrwxctl knows: the spec's custom errors, OpenZeppelin's errors the
// escrow can revert with (arguments decoded), Solidity's Error(string), and
// Panic(uint256) with the panic code's meaning.
func DecodeRevert(data []byte) *ContractError {
	if len(data) < 4 {
		return nil
	}
	var sel [4]byte
	copy(sel[:], data[:4])
	if d, ok := bySelector()[sel]; ok {
		return d.decode(data)
	}
	reason, err := abi.UnpackRevert(data)
	if err != nil {
		return nil
	}
	e := &ContractError{Name: "Error", Selector: "0x" + hex.EncodeToString(sel[:]), Cause: reason}
	if sel == panicSelector {
		e.Name = "Panic"
		uint256Type, _ := abi.NewType("uint256", "", nil) // built here: 37 KB of allocations, not for every start-up
		if code, err := (abi.Arguments{{Type: uint256Type}}).Unpack(data[4:]); err == nil {
			e.Args = []string{fmt.Sprintf("code=0x%x", code[0])}
		}
		e.Cause = "the contract hit a Solidity panic: " + reason
		e.Fix = "a contract bug or an input the contract does not guard against; sending the same call again fails the same way: check the arguments, and report it to the contract's maintainers with the transaction hash"
	}
	return e
}

// panicSelector starts Solidity's Panic(uint256) revert data: the first four bytes
// of keccak256("Panic(uint256)"), a constant rather than a hash at start-up
// (the tests build their revert data with the hash).
var panicSelector = [4]byte{0x4e, 0x48, 0x7b, 0x71}

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
