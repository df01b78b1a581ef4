package vrwx

import (
	"context"
	"errors"
	"fmt"
	"math/big"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/rpc"
)

// JobReading is a job with what an operator reads next to it: the escrow's
// settlement token (for the price's decimals) and the job's robot in the registry.
// A part that could not be read has its error set and its value zero.
type JobReading struct {
	Job      *Job
	JobCount *big.Int
	// ServiceType is jobServiceTypes(id): a V2 job's service type hash, zero for a
	// job created without one. ServiceTypeErr is set when the escrow did not answer
	// it (an escrow without the V2 getter).
	ServiceType    common.Hash
	ServiceTypeErr error

	Token       common.Address
	TokenErr    error
	Decimals    uint8
	DecimalsErr error
	Symbol      string

	// Registry is the IdentityRegistry asked: the configured one, or the escrow's
	// identity() when none is configured.
	Registry      common.Address
	Controller    common.Address
	ControllerErr error
	Active        bool
	ActiveErr     error
}

// ErrNoJobData means the escrow address answered jobs() with no data: there is no
// contract at that address on this chain.
var ErrNoJobData = errors.New("no data returned")

// ReadJob reads job id, the escrow's token and its decimals and symbol, and the
// controller and active flag of the job's robot, in one round trip (see Program);
// extra requests ride in the same batch. registry may be the zero address: the
// escrow's identity() is used then. The error is a transport error or a failure to
// read the job itself; a job that does not exist reads as all zeros (Job.Exists).
func ReadJob(ctx context.Context, c BatchCaller, escrow, registry common.Address, id *big.Int, extra ...rpc.BatchElem) (*JobReading, error) {
	var p Program
	e := ConstAddress(escrow)
	job := p.Call(e, PackJobs(id), 11)
	count := p.Call(e, Pack(EscrowABI(), "jobCount"), 1)
	svc := p.Call(e, Pack(EscrowABI(), "jobServiceTypes", id), 1)
	token := p.Call(e, Pack(EscrowABI(), "token"), 1)
	dec := p.Call(token.Word(0), Pack(ERC20ABI(), "decimals"), 1)
	sym := p.Call(token.Word(0), Pack(ERC20ABI(), "symbol"), 3)
	reg := ConstAddress(registry)
	var ident *Step
	if registry == (common.Address{}) {
		ident = p.Call(e, Pack(EscrowABI(), "identity"), 1)
		reg = ident.Word(0)
	}
	ctl := p.Call(reg, Selector(RegistryABI(), "getController"), 1, job.Word(1))
	act := p.Call(reg, Selector(RegistryABI(), "isActive"), 1, job.Word(1))

	res, err := RunProgram(ctx, c, &p, "latest", extra...)
	if err != nil {
		return nil, err
	}
	jr := res[job.index]
	switch {
	case !jr.OK:
		if ce := DecodeCallError(jr.Err); ce != nil {
			return nil, fmt.Errorf("jobs(%s) reverted: %w", id, ce)
		}
		return nil, fmt.Errorf("jobs(%s) reverted", id)
	case jr.Size == 0:
		return nil, fmt.Errorf("jobs(%s): %w", id, ErrNoJobData)
	case jr.Size != 11*32:
		return nil, fmt.Errorf("jobs(%s): got %d bytes of return data, want %d (is the escrow address right?)", id, jr.Size, 11*32)
	}
	out := &JobReading{Registry: registry}
	if out.Job, err = DecodeJob(id, jr.Data); err != nil {
		return nil, err
	}
	if w := res[count.index].Word(0); w != nil {
		out.JobCount = new(big.Int).SetBytes(w)
	}
	if w := res[svc.index].Word(0); w != nil {
		out.ServiceType = common.BytesToHash(w)
	} else if out.ServiceTypeErr = stepErr("jobServiceTypes", res[svc.index]); out.ServiceTypeErr == nil {
		out.ServiceTypeErr = fmt.Errorf("jobServiceTypes returned %d bytes, want 32", res[svc.index].Size)
	}
	out.Token, out.TokenErr = addressResult("token()", res[token.index])
	if out.TokenErr == nil {
		out.Decimals, out.DecimalsErr = decimalsResult(res[dec.index])
		if r := res[sym.index]; r.OK {
			out.Symbol, _ = DecodeSymbol(r.Data)
		}
	} else {
		out.DecimalsErr = out.TokenErr
	}
	if ident != nil {
		a, err := addressResult("identity()", res[ident.index])
		if err != nil {
			out.ControllerErr, out.ActiveErr = err, err
			return out, nil
		}
		out.Registry = a
	}
	out.Controller, out.ControllerErr = addressResult("getController", res[ctl.index])
	if r := res[act.index]; !r.OK {
		out.ActiveErr = stepErr("isActive", r)
	} else {
		out.Active, out.ActiveErr = DecodeBool(r.Data)
	}
	return out, nil
}

func stepErr(what string, r StepResult) error {
	if !r.OK {
		if ce := DecodeCallError(r.Err); ce != nil {
			return fmt.Errorf("%s reverted: %w", what, ce)
		}
		return fmt.Errorf("%s reverted", what)
	}
	if r.Size == 0 {
		return fmt.Errorf("%s returned no data (no contract at that address?)", what)
	}
	return nil
}

func addressResult(what string, r StepResult) (common.Address, error) {
	if err := stepErr(what, r); err != nil {
		return common.Address{}, err
	}
	a, err := DecodeAddress(r.Data)
	if err != nil {
		return common.Address{}, fmt.Errorf("%s: %w", what, err)
	}
	return a, nil
}

func decimalsResult(r StepResult) (uint8, error) {
	if err := stepErr("decimals()", r); err != nil {
		return 0, err
	}
	return DecodeDecimals(r.Data)
}
