package vrwx

import (
	"fmt"
	"math/big"
	"sort"
	"strings"
	"sync"

	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
)

// Contract names an event's emitter.
const (
	ContractEscrow   = "escrow"
	ContractIdentity = "identity"
)

// EventType is one event of the escrow or the registry.
type EventType struct {
	Name     string
	Contract string
	Topic    common.Hash
	// ByJob is true when topic 1 is the job id, so a --job filter can select it.
	ByJob bool
	abi   abi.Event
}

var eventTypes = sync.OnceValue(func() []EventType {
	var out []EventType
	for _, src := range []struct {
		a        *abi.ABI
		contract string
	}{{EscrowABI(), ContractEscrow}, {RegistryABI(), ContractIdentity}} {
		for _, ev := range src.a.Events {
			byJob := len(ev.Inputs) > 0 && ev.Inputs[0].Indexed && ev.Inputs[0].Name == "jobId"
			out = append(out, EventType{Name: ev.Name, Contract: src.contract, Topic: ev.ID, ByJob: byJob, abi: ev})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Contract != out[j].Contract {
			return out[i].Contract < out[j].Contract
		}
		return out[i].Name < out[j].Name
	})
	return out
})

// EventTypes lists the decoded events: escrow first, then identity, by name.
func EventTypes() []EventType { return append([]EventType(nil), eventTypes()...) }

// EventTypeNames lists the event names, for help and shell completion.
func EventTypeNames() []string {
	var out []string
	for _, e := range eventTypes() {
		out = append(out, e.Name)
	}
	return out
}

// ParseEventType finds an event by name, in any case.
func ParseEventType(name string) (EventType, bool) {
	for _, e := range eventTypes() {
		if strings.EqualFold(e.Name, name) {
			return e, true
		}
	}
	return EventType{}, false
}

// KnownTopic reports whether topic is the topic 0 of one of contract's events.
func KnownTopic(topic common.Hash, contract string) bool {
	for _, e := range eventTypes() {
		if e.Topic == topic && e.Contract == contract {
			return true
		}
	}
	return false
}

// EventField is one decoded argument, formatted as text: numbers in decimal,
// addresses checksummed, hashes and bytes as 0x hex.
type EventField struct {
	Name  string
	Value string
}

// Event is one decoded log.
type Event struct {
	Name     string
	Contract string
	Address  common.Address
	Block    uint64
	TxHash   common.Hash
	LogIndex uint
	// JobID is set for escrow events (topic 1).
	JobID *big.Int
	// RobotID is set for registry events and for events that carry a robot id.
	RobotID *common.Hash
	Fields  []EventField
	Removed bool
}

// DecodeEvent decodes a log of the escrow or the registry. contract says which of
// the two emitted it; a log whose topic is not one of that contract's events, or
// whose data does not fit the event, is an error (the address is probably not the
// contract we think).
func DecodeEvent(l types.Log, contract string) (*Event, error) {
	if len(l.Topics) == 0 {
		return nil, fmt.Errorf("log %d of tx %s has no topics (anonymous event)", l.Index, l.TxHash.Hex())
	}
	var et *EventType
	for _, e := range eventTypes() {
		if e.Topic == l.Topics[0] && e.Contract == contract {
			et = &e
			break
		}
	}
	if et == nil {
		return nil, fmt.Errorf("log %d of tx %s: topic %s is not a known %s event", l.Index, l.TxHash.Hex(), l.Topics[0].Hex(), contract)
	}
	ev := &Event{Name: et.Name, Contract: contract, Address: l.Address, Block: l.BlockNumber, TxHash: l.TxHash, LogIndex: l.Index, Removed: l.Removed}
	var indexed abi.Arguments
	for _, in := range et.abi.Inputs {
		if in.Indexed {
			indexed = append(indexed, in)
		}
	}
	if len(l.Topics) != 1+len(indexed) {
		return nil, fmt.Errorf("%s log in tx %s has %d topics, want %d", et.Name, l.TxHash.Hex(), len(l.Topics), 1+len(indexed))
	}
	topics := map[string]any{}
	if err := abi.ParseTopicsIntoMap(topics, indexed, l.Topics[1:]); err != nil {
		return nil, fmt.Errorf("decode %s topics in tx %s: %w", et.Name, l.TxHash.Hex(), err)
	}
	data := map[string]any{}
	if err := et.abi.Inputs.NonIndexed().UnpackIntoMap(data, l.Data); err != nil {
		return nil, fmt.Errorf("decode %s data in tx %s: %w", et.Name, l.TxHash.Hex(), err)
	}
	for _, in := range et.abi.Inputs {
		v, ok := topics[in.Name]
		if !ok {
			v = data[in.Name]
		}
		ev.Fields = append(ev.Fields, EventField{Name: in.Name, Value: formatValue(v)})
		switch in.Name {
		case "jobId":
			if b, ok := v.(*big.Int); ok {
				ev.JobID = new(big.Int).Set(b)
			}
		case "robotId":
			if b, ok := v.([32]byte); ok {
				h := common.Hash(b)
				ev.RobotID = &h
			}
		}
	}
	return ev, nil
}

func formatValue(v any) string {
	switch x := v.(type) {
	case *big.Int:
		return x.String()
	case common.Address:
		return x.Hex()
	case [32]byte:
		return common.Hash(x).Hex()
	case []byte:
		return hexutil.Encode(x)
	case uint8, uint16, uint32, uint64, bool:
		return fmt.Sprint(x)
	}
	return fmt.Sprint(v)
}
