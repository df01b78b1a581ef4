package vrwx

import (
	"context"
	"encoding/binary"
	"fmt"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/rpc"
)

// BatchCaller sends JSON-RPC batches; *chain.Client is one (failover and chain-id
// guard included). Per-call errors are left in each element's Error.
type BatchCaller interface {
	BatchCall(ctx context.Context, elems []rpc.BatchElem) error
}

// Program is a list of static calls where a later call may take its target or an
// argument from a word an earlier call returned — a job's robot id, then that robot's
// controller. RunProgram runs all of them inside ONE eth_call: the call carries init
// code and no target (a "deployless" read, as viem does it), the init code performs
// each STATICCALL in turn and returns every result. Reads that depend on each other
// then cost one round trip instead of one per dependency level, and nothing needs to
// be deployed on the chain.
type Program struct {
	steps []*Step
}

// Step is one call of a Program.
type Step struct {
	index    int
	to       Operand
	prefix   []byte
	args     []Operand
	outWords int
	outOff   int
}

// Operand is a 32-byte word the program uses as a call target or argument: a
// constant, or a word returned by an earlier step.
type Operand struct {
	value [32]byte
	step  *Step
	word  int
}

// Const is a constant operand (left-padded to 32 bytes).
func Const(b []byte) Operand {
	var o Operand
	copy(o.value[32-len(b):], b)
	return o
}

// ConstAddress is an address operand.
func ConstAddress(a common.Address) Operand { return Const(a.Bytes()) }

// Index is the step's position in its program and in RunProgram's results.
func (s *Step) Index() int { return s.index }

// Word is the i-th 32-byte word of the step's return data, as an operand of a later
// step. A word beyond what the step returned reads as zero.
func (s *Step) Word(i int) Operand {
	if i < 0 || i >= s.outWords {
		panic(fmt.Sprintf("vrwx: program step %d keeps %d words; word %d asked for", s.index, s.outWords, i))
	}
	return Operand{step: s, word: i}
}

// Call adds a static call to `to` with calldata prefix (a selector, or a whole
// constant calldata) followed by args as 32-byte words; outWords words of the return
// data are kept.
func (p *Program) Call(to Operand, prefix []byte, outWords int, args ...Operand) *Step {
	for _, a := range append([]Operand{to}, args...) {
		if a.step != nil && (a.step.index >= len(p.steps) || p.steps[a.step.index] != a.step) {
			panic("vrwx: program operand refers to a step of another program or a later step")
		}
	}
	s := &Step{index: len(p.steps), to: to, prefix: append([]byte(nil), prefix...), args: args, outWords: outWords}
	p.steps = append(p.steps, s)
	return s
}

// StepResult is the outcome of one step.
type StepResult struct {
	// OK is false when the call reverted (or ran out of gas).
	OK bool
	// Size is the length of the full return data.
	Size int
	// Data is the return data, cut to the words the step keeps.
	Data []byte
	// Err is the eth_call error when the program ran call by call; it carries the
	// revert data there. In one-round-trip mode a revert has no data.
	Err error
}

// Word returns the i-th word of the data, or nil when the step did not return it.
func (r StepResult) Word(i int) []byte {
	if !r.OK || len(r.Data) < (i+1)*32 || r.Size < (i+1)*32 {
		return nil
	}
	return r.Data[i*32 : (i+1)*32]
}

// Each step's output is [success][returndatasize][outWords words]; calldata is built
// in scratch memory after all outputs.
func (p *Program) layout() (total int) {
	off := 0
	for _, s := range p.steps {
		s.outOff = off
		off += 64 + 32*s.outWords
	}
	return off
}

const (
	opMLOAD          = 0x51
	opMSTORE         = 0x52
	opGAS            = 0x5a
	opRETURNDATASIZE = 0x3d
	opPUSH1          = 0x60
	opPUSH2          = 0x61
	opPUSH32         = 0x7f
	opSTATICCALL     = 0xfa
	opRETURN         = 0xf3
)

// Code returns the program's init code.
func (p *Program) Code() []byte {
	total := p.layout()
	scratch := total
	var code []byte
	push2 := func(v int) {
		if v > 0xffff {
			panic("vrwx: program too large")
		}
		code = append(code, opPUSH2, byte(v>>8), byte(v))
	}
	pushOperand := func(o Operand) {
		if o.step != nil {
			push2(o.step.outOff + 64 + 32*o.word)
			code = append(code, opMLOAD)
			return
		}
		code = append(code, opPUSH32)
		code = append(code, o.value[:]...)
	}
	for _, s := range p.steps {
		for k := 0; k < len(s.prefix); k += 32 {
			var chunk [32]byte
			copy(chunk[:], s.prefix[k:])
			code = append(code, opPUSH32)
			code = append(code, chunk[:]...)
			push2(scratch + k)
			code = append(code, opMSTORE)
		}
		for i, a := range s.args {
			pushOperand(a)
			push2(scratch + len(s.prefix) + 32*i)
			code = append(code, opMSTORE)
		}
		push2(32 * s.outWords)                   // retSize
		push2(s.outOff + 64)                     // retOffset
		push2(len(s.prefix) + 32*len(s.args))    // argsSize
		push2(scratch)                           // argsOffset
		pushOperand(s.to)                        // address (low 160 bits)
		code = append(code, opGAS, opSTATICCALL) // -> success
		push2(s.outOff)
		code = append(code, opMSTORE)
		code = append(code, opRETURNDATASIZE)
		push2(s.outOff + 32)
		code = append(code, opMSTORE)
	}
	push2(total)
	code = append(code, opPUSH1, 0, opRETURN)
	return code
}

// decode splits the init code's return data into step results.
func (p *Program) decode(out []byte) ([]StepResult, error) {
	total := p.layout()
	if len(out) != total {
		return nil, fmt.Errorf("program returned %d bytes, want %d", len(out), total)
	}
	res := make([]StepResult, len(p.steps))
	for i, s := range p.steps {
		ok := new32(out[s.outOff:])
		size := new32(out[s.outOff+32:])
		if ok > 1 || size > 1<<24 {
			return nil, fmt.Errorf("program step %d: malformed header", i)
		}
		keep := min(int(size), 32*s.outWords)
		res[i] = StepResult{OK: ok == 1, Size: int(size), Data: append([]byte(nil), out[s.outOff+64:s.outOff+64+keep]...)}
	}
	return res, nil
}

func new32(w []byte) uint64 {
	for _, b := range w[:24] {
		if b != 0 {
			return 1 << 62
		}
	}
	return binary.BigEndian.Uint64(w[24:32])
}

// createCall is eth_call's argument for running init code: no "to". The code goes in
// both "input" and "data", as chain.CallMsg does, for nodes that read only one.
type createCall struct {
	Input hexutil.Bytes `json:"input"`
	Data  hexutil.Bytes `json:"data"`
}

// RunProgram runs p at block `at` ("latest", or a hex number) in one round trip, with
// extra requests riding in the same batch. When the node refuses the deployless call
// (some providers reject calls without a target) the steps run call by call instead,
// one batch per dependency level, so the answer is the same, only slower. The error is
// a transport or guard error; per-step failures are in the results.
func RunProgram(ctx context.Context, c BatchCaller, p *Program, at string, extra ...rpc.BatchElem) ([]StepResult, error) {
	code := p.Code()
	var out hexutil.Bytes
	elems := make([]rpc.BatchElem, 0, 1+len(extra))
	elems = append(elems, rpc.BatchElem{Method: "eth_call", Args: []any{createCall{Input: code, Data: code}, at}, Result: &out})
	elems = append(elems, extra...)
	if err := c.BatchCall(ctx, elems); err != nil {
		return nil, err
	}
	copy(extra, elems[1:])
	if elems[0].Error == nil {
		if res, err := p.decode(out); err == nil {
			return res, nil
		}
	}
	return p.runStepwise(ctx, c, at)
}

// runStepwise runs the steps as plain eth_calls, level by level.
func (p *Program) runStepwise(ctx context.Context, c BatchCaller, at string) ([]StepResult, error) {
	res := make([]StepResult, len(p.steps))
	level := make([]int, len(p.steps))
	maxLevel := 0
	for i, s := range p.steps {
		for _, o := range append([]Operand{s.to}, s.args...) {
			if o.step != nil {
				level[i] = max(level[i], level[o.step.index]+1)
			}
		}
		maxLevel = max(maxLevel, level[i])
	}
	resolve := func(o Operand) []byte {
		if o.step == nil {
			return o.value[:]
		}
		if w := res[o.step.index].Word(o.word); w != nil {
			return w
		}
		return make([]byte, 32)
	}
	for l := 0; l <= maxLevel; l++ {
		var idx []int
		var elems []rpc.BatchElem
		outs := make([]hexutil.Bytes, len(p.steps))
		for i, s := range p.steps {
			if level[i] != l {
				continue
			}
			data := append([]byte(nil), s.prefix...)
			for _, a := range s.args {
				data = append(data, resolve(a)...)
			}
			to := common.BytesToAddress(resolve(s.to))
			msg := map[string]any{"to": to, "input": hexutil.Bytes(data), "data": hexutil.Bytes(data)}
			idx = append(idx, i)
			elems = append(elems, rpc.BatchElem{Method: "eth_call", Args: []any{msg, at}, Result: &outs[i]})
		}
		if err := c.BatchCall(ctx, elems); err != nil {
			return nil, err
		}
		for k, i := range idx {
			if elems[k].Error != nil {
				res[i] = StepResult{Err: elems[k].Error}
				continue
			}
			d := []byte(outs[i])
			keep := min(len(d), 32*p.steps[i].outWords)
			res[i] = StepResult{OK: true, Size: len(d), Data: d[:keep]}
		}
	}
	return res, nil
}
