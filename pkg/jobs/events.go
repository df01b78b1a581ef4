package jobs

import (
	"context"
	"fmt"
	"math/big"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/vrwx/vrwxctl/pkg/chain"
	"github.com/vrwx/vrwxctl/pkg/errs"
	"github.com/vrwx/vrwxctl/pkg/vrwx"
)

// BlockRef is a block given as a number, as the head ("latest"), or as a number of
// blocks before the head.
type BlockRef struct {
	Latest bool
	// Back is the distance from the head when Relative is set.
	Back     uint64
	Relative bool
	Number   uint64
}

// Absolute reports whether the block is a number that needs no head to resolve.
func (b BlockRef) Absolute() bool { return !b.Latest && !b.Relative }

// Resolve returns the block number with head as the latest block (a distance beyond
// the genesis block resolves to 0).
func (b BlockRef) Resolve(head uint64) uint64 {
	switch {
	case b.Latest:
		return head
	case b.Relative:
		if b.Back > head {
			return 0
		}
		return head - b.Back
	}
	return b.Number
}

// EventQuery selects events of the escrow and the registry.
type EventQuery struct {
	Escrow common.Address
	// Identity is the IdentityRegistry when the profile names one; without it, the
	// escrow's identity() is asked when registry events are wanted.
	Identity    common.Address
	HasIdentity bool
	From, To    BlockRef
	// JobID, when set, selects one job's events through the indexed jobId topic
	// (escrow events only: the caller leaves registry types out).
	JobID *big.Int
	// Types are the events wanted. Empty asks the node for every log of the escrow
	// (and of the registry unless JobID is set), with no topic filter: events the
	// spec does not name are returned raw instead of never being asked for.
	Types []vrwx.EventType
	// Chunk is the block span per eth_getLogs request; a provider's refusal halves it,
	// and it grows back towards Chunk once spans are answered again.
	Chunk uint64
	// Parallel is how many chunks are asked for at once (chain.DefaultLogParallel
	// when 0); events still arrive in chain order.
	Parallel int
	// OnHalve, when set, is told each time a provider refuses a span; OnGrow each time
	// the span grows back.
	OnHalve func(from, to uint64, err error)
	OnGrow  func(chunk uint64)
}

// RangeError is a block range whose first block resolved after its last.
type RangeError struct{ From, To, Head uint64 }

func (e *RangeError) Error() string {
	return fmt.Sprintf("block %d is after block %d (head is %d)", e.From, e.To, e.Head)
}

// Events is an event query with its range resolved against the head.
type Events struct {
	c        *chain.Client
	q        EventQuery
	wantEsc  bool
	wantReg  bool
	topic0   []common.Hash
	From, To uint64
	// Identity is the registry read from (the configured one, or the escrow's).
	Identity    common.Address
	HasIdentity bool
	// IdentityUnknown is set when registry events were wanted but no registry is
	// configured and the escrow's identity() is unreadable: they are left out.
	IdentityUnknown bool
	// Progress, when set, is told the last block read after each request.
	Progress func(done uint64)
}

// OpenEvents reads the head — and the escrow's identity() when registry events are
// wanted and no registry is configured — in one round trip, and resolves the range
// (a last block past the head is the head). A range that resolves backwards is a
// *RangeError.
func OpenEvents(ctx context.Context, c *chain.Client, q EventQuery) (*Events, error) {
	e := &Events{c: c, q: q, Identity: q.Identity, HasIdentity: q.HasIdentity}
	if len(q.Types) == 0 {
		e.wantEsc, e.wantReg = true, q.JobID == nil
	}
	for _, et := range q.Types {
		e.topic0 = append(e.topic0, et.Topic)
		if et.Contract == vrwx.ContractEscrow {
			e.wantEsc = true
		} else {
			e.wantReg = true
		}
	}
	b := c.NewBatch()
	headR := b.Header(chain.Latest)
	var identCall *chain.Result[hexutil.Bytes]
	if e.wantReg && !e.HasIdentity {
		identCall = b.Call(q.Escrow, vrwx.Pack(vrwx.EscrowABI(), "identity"), chain.Latest)
	}
	if err := b.Do(ctx); err != nil {
		return nil, err
	}
	if err := headR.Err(); err != nil || headR.Value == nil {
		return nil, errs.Failedf("reading the head block from %s", chain.RedactURL(c.URL())).Wrap(err)
	}
	head := uint64(headR.Value.Number)
	if identCall != nil {
		if identCall.Err() == nil {
			if a, err := vrwx.DecodeAddress(identCall.Value); err == nil && a != (common.Address{}) {
				e.Identity, e.HasIdentity = a, true
			}
		}
		e.IdentityUnknown = !e.HasIdentity
	}
	e.From, e.To = q.From.Resolve(head), min(q.To.Resolve(head), head)
	if e.From > e.To {
		return nil, &RangeError{From: e.From, To: e.To, Head: head}
	}
	if !e.wantEsc && !e.HasIdentity {
		return nil, errs.Failedf("no contract to read events from")
	}
	return e, nil
}

// Event is one decoded event: the -o json shape of an event in job events.
type Event struct {
	Block    uint64 `json:"block"`
	TxHash   string `json:"txHash"`
	LogIndex uint   `json:"logIndex"`
	// Contract is "escrow" or "identity"; Event is the event's name ("unknown" for
	// a log that is none of the spec's events, with its raw topics and data in Args).
	Contract string `json:"contract"`
	Address  string `json:"address"`
	Event    string `json:"event"`
	JobID    string `json:"jobId,omitempty"`
	RobotID  string `json:"robotId,omitempty"`
	// Args are the event's arguments by name, formatted as text (uint256 in decimal).
	Args map[string]string `json:"args"`
	// Fields are the same arguments in the event's order (nil for an unknown event).
	Fields []vrwx.EventField `json:"-"`
	// Topics and Data are an unknown log as the node returned it (topic 0 first).
	Topics []string `json:"topics,omitempty"`
	Data   string   `json:"data,omitempty"`
	// DecodeError says why a log whose topic 0 is a known event did not decode.
	DecodeError string `json:"decodeError,omitempty"`
}

// Each reads the range in chunks, several at once (chain.Client.EachLogs), and calls
// fn with every event in chain order as soon as its chunk and every one before it
// have arrived; at most Parallel chunks' logs are held. Progress, when set, is told
// after each chunk's events. An error from fn stops the query and is returned.
func (e *Events) Each(ctx context.Context, fn func(Event) error) error {
	chunk := e.q.Chunk
	if chunk == 0 {
		chunk = chain.DefaultLogChunk
	}
	q := chain.LogQuery{Progress: e.Progress}
	if len(e.topic0) > 0 {
		q.Topics = [][]common.Hash{e.topic0}
	}
	if e.wantEsc {
		q.Addresses = append(q.Addresses, e.q.Escrow)
	}
	if e.wantReg && e.HasIdentity {
		q.Addresses = append(q.Addresses, e.Identity)
	}
	if e.q.JobID != nil {
		if len(q.Topics) == 0 {
			q.Topics = [][]common.Hash{nil} // any topic 0
		}
		q.Topics = append(q.Topics, []common.Hash{common.BigToHash(e.q.JobID)})
	}
	q.From, q.To, q.Chunk, q.Parallel, q.OnHalve, q.OnGrow = e.From, e.To, chunk, e.q.Parallel, e.q.OnHalve, e.q.OnGrow
	return e.c.EachLogs(ctx, q, func(logs []types.Log) error {
		for _, l := range logs {
			if l.Removed {
				continue
			}
			if err := fn(e.decode(l)); err != nil {
				return err
			}
		}
		return nil
	})
}

func (e *Events) decode(l types.Log) Event {
	contract := vrwx.ContractEscrow
	if l.Address != e.q.Escrow {
		contract = vrwx.ContractIdentity
	}
	out := Event{Block: l.BlockNumber, TxHash: l.TxHash.Hex(), LogIndex: l.Index, Contract: contract, Address: l.Address.Hex(), Args: map[string]string{}}
	ev, err := vrwx.DecodeEvent(l, contract)
	if err != nil {
		// Shown raw, never dropped: an event the spec does not name yet is still
		// something the contract did.
		out.Event = "unknown"
		out.Topics = []string{}
		for _, t := range l.Topics {
			out.Topics = append(out.Topics, t.Hex())
		}
		out.Data = hexutil.Encode(l.Data)
		if len(l.Topics) > 0 && vrwx.KnownTopic(l.Topics[0], contract) {
			out.DecodeError = err.Error()
		}
		return out
	}
	out.Event = ev.Name
	if ev.JobID != nil {
		out.JobID = ev.JobID.String()
	}
	if ev.RobotID != nil {
		out.RobotID = ev.RobotID.Hex()
	}
	out.Fields = ev.Fields
	for _, f := range ev.Fields {
		out.Args[f.Name] = f.Value
	}
	return out
}
