package vrwx

import (
	"context"
	"errors"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/rpc"
)

// RobotReading is a robot as the IdentityRegistry has it. A part that could not be
// read has its error set and its value zero.
type RobotReading struct {
	// Registry is the IdentityRegistry asked: the one given, or the escrow's identity().
	Registry      common.Address
	Controller    common.Address
	ControllerErr error
	Active        bool
	ActiveErr     error
	// Robot is getRobot's tuple (pubkey and metadata hash); nil when RobotErr is set.
	Robot    *Robot
	RobotErr error
}

// ErrNoRegistry means no registry was given and the escrow's identity() could not be
// read.
var ErrNoRegistry = errors.New("the escrow's identity() is unreadable")

// robotWords is how much of getRobot's answer the one-round-trip read keeps: the
// tuple head, a pubkey of up to 128 bytes, and its length.
const robotWords = 10

// ReadRobot reads robot id's controller, active flag and getRobot tuple in one round
// trip (see Program). registry may be the zero address: the escrow's identity() is
// read in the same program then. A pubkey longer than the program keeps costs one
// more round trip. The error is a transport error or ErrNoRegistry.
func ReadRobot(ctx context.Context, c BatchCaller, escrow, registry common.Address, id common.Hash) (*RobotReading, error) {
	var p Program
	reg := ConstAddress(registry)
	var ident *Step
	if registry == (common.Address{}) {
		ident = p.Call(ConstAddress(escrow), Pack(EscrowABI(), "identity"), 1)
		reg = ident.Word(0)
	}
	robot := p.Call(reg, Selector(RegistryABI(), "getRobot"), robotWords, Const(id.Bytes()))
	ctl := p.Call(reg, Selector(RegistryABI(), "getController"), 1, Const(id.Bytes()))
	act := p.Call(reg, Selector(RegistryABI(), "isActive"), 1, Const(id.Bytes()))
	res, err := RunProgram(ctx, c, &p, "latest")
	if err != nil {
		return nil, err
	}
	out := &RobotReading{Registry: registry}
	if ident != nil {
		w := res[ident.index].Word(0)
		if w == nil {
			return nil, ErrNoRegistry
		}
		out.Registry = common.BytesToAddress(w)
	}
	out.Controller, out.ControllerErr = addressStep(res[ctl.index])
	out.Active, out.ActiveErr = boolStep(res[act.index])
	out.Robot, out.RobotErr = readRobotTuple(ctx, c, out.Registry, id, res[robot.index])
	return out, nil
}

// readRobotTuple decodes getRobot from the program, or reads it alone when the pubkey
// was longer than the program kept.
func readRobotTuple(ctx context.Context, c BatchCaller, registry common.Address, id common.Hash, r StepResult) (*Robot, error) {
	if r.OK && r.Size <= len(r.Data) {
		return DecodeRobot(r.Data)
	}
	data := Pack(RegistryABI(), "getRobot", id)
	var out hexutil.Bytes
	msg := map[string]any{"to": registry, "input": hexutil.Bytes(data), "data": hexutil.Bytes(data)}
	elems := []rpc.BatchElem{{Method: "eth_call", Args: []any{msg, "latest"}, Result: &out}}
	if err := c.BatchCall(ctx, elems); err != nil {
		return nil, err
	}
	if elems[0].Error != nil {
		return nil, elems[0].Error
	}
	return DecodeRobot(out)
}

func addressStep(r StepResult) (common.Address, error) {
	switch {
	case !r.OK:
		return common.Address{}, stepFailure(r)
	case r.Size == 0:
		return common.Address{}, errors.New("no data returned: no contract at that address")
	}
	return DecodeAddress(r.Data)
}

func boolStep(r StepResult) (bool, error) {
	switch {
	case !r.OK:
		return false, stepFailure(r)
	case r.Size == 0:
		return false, errors.New("no data returned: no contract at that address")
	}
	return DecodeBool(r.Data)
}

func stepFailure(r StepResult) error {
	if ce := DecodeCallError(r.Err); ce != nil {
		return ce
	}
	if r.Err != nil {
		return r.Err
	}
	return errors.New("reverted")
}
