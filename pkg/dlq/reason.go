package dlq

import (
	"encoding/hex"
	"fmt"
	"math/big"
	"strings"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/vrwx/vrwxctl/pkg/vrwx"
)

// Reason is a DLQ row's reason text read as data. The live API stores ethers v6's
// error message verbatim (spec/VRWX.md, "How the API records a failed relay"): an
// estimateGas revert carries the revert data and the exact calldata the API built;
// an "insufficient funds" error carries the whole signed transaction. A text of a
// shape vrwxctl does not know is kept as its message, never an error.
type Reason struct {
	// Ethers is true when the text is an ethers error with its details list.
	Ethers bool `json:"ethers"`
	// Message is ethers' short message (the whole text when it is not one).
	Message string `json:"message"`
	// Code is ethers' error code: CALL_EXCEPTION, INSUFFICIENT_FUNDS, NONCE_EXPIRED, …
	Code          string `json:"code,omitempty"`
	Action        string `json:"action,omitempty"`
	EthersVersion string `json:"ethersVersion,omitempty"`
	// RevertData is the contract's revert data (0x hex), and Error the error it
	// decodes to (nil when it is none vrwxctl knows; Selector then names it).
	RevertData string              `json:"revertData,omitempty"`
	Error      *vrwx.ContractError `json:"error,omitempty"`
	Selector   string              `json:"selector,omitempty"`
	// RevertReason is ethers' own reason= (an Error(string) text), when it had one.
	RevertReason string `json:"revertReason,omitempty"`
	// Request is the unsigned transaction ethers estimated or called.
	Request *TxRequest `json:"request,omitempty"`
	// Signed is the signed transaction the reason carries (insufficient funds,
	// nonce errors): anyone holding the database can broadcast it while its nonce is
	// unused.
	Signed *SignedTx `json:"signedTransaction,omitempty"`
	// Call is the transaction's calldata decoded: submitCompletionV2's arguments are
	// the values the API built and the controller signed.
	Call *Call `json:"call,omitempty"`
	// Node is the node's own JSON-RPC error, when ethers kept it.
	Node *NodeError `json:"nodeError,omitempty"`
	// Receipt is the mined transaction's receipt when the relay reached the chain and
	// reverted there.
	Receipt *Receipt `json:"receipt,omitempty"`
	// Notes say what could not be read.
	Notes []string `json:"notes,omitempty"`
}

// TxRequest is the unsigned transaction of an estimateGas or call error.
type TxRequest struct {
	From string `json:"from,omitempty"`
	To   string `json:"to,omitempty"`
	Data string `json:"data,omitempty"`
}

// Call is decoded calldata.
type Call struct {
	// Method is the escrow's function name, or the 4-byte selector when it is none of
	// the protocol's.
	Method string `json:"method"`
	// Completion holds submitCompletionV2's arguments.
	Completion *CompletionArgs `json:"completion,omitempty"`
}

// CompletionArgs are submitCompletionV2's arguments.
type CompletionArgs struct {
	JobID          string `json:"jobId"`
	CompletionHash string `json:"completionHash"`
	QualityScore   uint8  `json:"qualityScore"`
	WorkUnits      uint32 `json:"workUnits"`
	Signature      string `json:"signature"`
}

// SignedTx is a signed transaction found in a reason.
type SignedTx struct {
	Hash    string `json:"hash"`
	Type    uint8  `json:"type"`
	ChainID string `json:"chainId"`
	Nonce   uint64 `json:"nonce"`
	// From is the sender recovered from the signature ("" when it does not recover).
	From                 string `json:"from,omitempty"`
	To                   string `json:"to,omitempty"`
	Value                string `json:"value"`
	Gas                  uint64 `json:"gas"`
	MaxFeePerGas         string `json:"maxFeePerGas"`
	MaxPriorityFeePerGas string `json:"maxPriorityFeePerGas"`
	Data                 string `json:"data"`
	// Raw is the signed transaction as the reason holds it.
	Raw string `json:"-"`
	// OnChain is what the chain says of it (filled by a caller that asked; nil when
	// not asked).
	OnChain *SignedState `json:"onChain,omitempty"`
}

// MaxCost is what the transaction may spend: value + gas × max fee per gas.
func (s *SignedTx) MaxCost() *big.Int {
	v, _ := new(big.Int).SetString(s.Value, 10)
	f, _ := new(big.Int).SetString(s.MaxFeePerGas, 10)
	if v == nil || f == nil {
		return nil
	}
	return v.Add(v, f.Mul(f, new(big.Int).SetUint64(s.Gas)))
}

// Signed-transaction states on chain.
const (
	// SignedUnused: the sender's nonce has not reached it, so the signed bytes can
	// still be broadcast and mined, by anyone.
	SignedUnused = "unused"
	// SignedPending: the node's pool holds it.
	SignedPending = "pending"
	// SignedMined: this very transaction was mined.
	SignedMined = "mined"
	// SignedReplaced: another transaction took its nonce; it can never be mined.
	SignedReplaced = "replaced"
	// SignedUnchecked: the chain was not asked, or did not answer (Note says why).
	SignedUnchecked = "unchecked"
)

// SignedState is where a signed transaction from a reason stands on chain.
type SignedState struct {
	State string `json:"state"`
	// SenderNonce is the sender's nonce at the latest block.
	SenderNonce *uint64 `json:"senderNonce,omitempty"`
	Block       uint64  `json:"block,omitempty"`
	Note        string  `json:"note,omitempty"`
}

// NodeError is a node's JSON-RPC error.
type NodeError struct {
	Code    string `json:"code,omitempty"`
	Message string `json:"message"`
}

// Receipt is the part of a mined transaction's receipt a reason may carry.
type Receipt struct {
	Hash        string `json:"hash,omitempty"`
	BlockNumber string `json:"blockNumber,omitempty"`
	Status      string `json:"status,omitempty"`
	GasUsed     string `json:"gasUsed,omitempty"`
}

// ParseReason reads a reason text. It never fails: what it cannot read stays in
// Message and Notes.
func ParseReason(text string) *Reason {
	msg, d, ok := splitEthers(text)
	r := &Reason{Message: msg}
	if !ok {
		r.Message = strings.TrimSpace(text)
		return r
	}
	r.Ethers = true
	r.Code, r.Action, r.EthersVersion = d.str("code"), d.str("action"), d.str("version")
	r.RevertReason = d.str("reason")

	// The revert data: data= of a CALL_EXCEPTION, else what a node's error carried.
	data := d.str("data")
	if data == "" {
		data = d.str("revertData")
	}
	if data == "" {
		if info, ok := d.get("info"); ok {
			data = nestedData(info)
		}
	}
	if data == "" {
		if e, ok := d.get("error"); ok {
			data = nestedData(e)
		}
	}
	if data != "" && data != "0x" {
		r.readRevert(data)
	}

	switch tx := mustGet(d, "transaction").(type) {
	case map[string]any:
		r.Request = &TxRequest{From: asText(tx["from"]), To: asText(tx["to"]), Data: asText(tx["data"])}
		if r.Request.Data != "" {
			r.Call = r.decodeCall(r.Request.Data, "the transaction's data")
		}
	case string:
		r.readSigned(tx)
	}
	if info, ok := mustGet(d, "info").(map[string]any); ok {
		r.Node = nodeError(info["error"])
	}
	if r.Node == nil {
		r.Node = nodeError(mustGet(d, "error"))
	}
	if rc, ok := mustGet(d, "receipt").(map[string]any); ok {
		r.Receipt = &Receipt{Hash: asText(rc["hash"]), BlockNumber: asText(rc["blockNumber"]), Status: asText(rc["status"]), GasUsed: asText(rc["gasUsed"])}
	}
	return r
}

func mustGet(d *ethersDetails, key string) any {
	v, _ := d.get(key)
	return v
}

// nestedData finds revert data inside a node's error object ({ "error": { "data": … } }).
func nestedData(v any) string {
	for range maxDepth {
		m, ok := v.(map[string]any)
		if !ok {
			return ""
		}
		if s := asText(m["data"]); strings.HasPrefix(s, "0x") {
			return s
		}
		v = m["error"]
	}
	return ""
}

func nodeError(v any) *NodeError {
	m, ok := v.(map[string]any)
	if !ok {
		return nil
	}
	msg := asText(m["message"])
	if msg == "" {
		return nil
	}
	return &NodeError{Code: asText(m["code"]), Message: msg}
}

func (r *Reason) note(format string, args ...any) {
	r.Notes = append(r.Notes, fmt.Sprintf(format, args...))
}

func decodeHex(s string) ([]byte, bool) {
	if !strings.HasPrefix(s, "0x") && !strings.HasPrefix(s, "0X") {
		return nil, false
	}
	b, err := hex.DecodeString(s[2:])
	return b, err == nil
}

func (r *Reason) readRevert(data string) {
	b, ok := decodeHex(data)
	if !ok {
		r.note("revert data %q is not hex", clipText(data, 80))
		return
	}
	r.RevertData = "0x" + hex.EncodeToString(b)
	if e := vrwx.DecodeRevert(b); e != nil {
		r.Error = e
		return
	}
	if len(b) >= 4 {
		r.Selector = "0x" + hex.EncodeToString(b[:4])
		r.note("revert data with selector %s is none of the protocol's errors", r.Selector)
	}
}

// decodeCall names calldata's function and, for submitCompletionV2, its arguments.
func (r *Reason) decodeCall(data, what string) *Call {
	b, ok := decodeHex(data)
	if !ok {
		r.note("%s %q is not hex", what, clipText(data, 80))
		return nil
	}
	if len(b) < 4 {
		return nil
	}
	m, err := vrwx.EscrowABI().MethodById(b[:4])
	if err != nil {
		return &Call{Method: "0x" + hex.EncodeToString(b[:4])}
	}
	c := &Call{Method: m.Name}
	if m.Name != "submitCompletionV2" {
		return c
	}
	args, err := m.Inputs.Unpack(b[4:])
	if err != nil || len(args) != 5 {
		r.note("%s calls submitCompletionV2 but its arguments do not decode: %v", what, err)
		return c
	}
	job, _ := args[0].(*big.Int)
	hash, _ := args[1].([32]byte)
	q, _ := args[2].(uint8)
	w, _ := args[3].(uint32)
	sig, _ := args[4].([]byte)
	if job == nil {
		return c
	}
	c.Completion = &CompletionArgs{JobID: job.String(), CompletionHash: common.Hash(hash).Hex(), QualityScore: q, WorkUnits: w,
		Signature: "0x" + hex.EncodeToString(sig)}
	return c
}

// readSigned decodes a signed transaction (0x + the typed envelope, or legacy RLP).
func (r *Reason) readSigned(raw string) {
	b, ok := decodeHex(raw)
	if !ok {
		r.note("the transaction %q is neither a request nor signed hex", clipText(raw, 80))
		return
	}
	tx := new(types.Transaction)
	if err := tx.UnmarshalBinary(b); err != nil {
		r.note("the signed transaction does not decode: %v", err)
		return
	}
	s := &SignedTx{Hash: tx.Hash().Hex(), Type: tx.Type(), Nonce: tx.Nonce(), Gas: tx.Gas(), Value: tx.Value().String(),
		MaxFeePerGas: tx.GasFeeCap().String(), MaxPriorityFeePerGas: tx.GasTipCap().String(), Data: "0x" + hex.EncodeToString(tx.Data()), Raw: raw}
	if id := tx.ChainId(); id != nil {
		s.ChainID = id.String()
	}
	if to := tx.To(); to != nil {
		s.To = to.Hex()
	}
	if from, err := types.Sender(types.LatestSignerForChainID(tx.ChainId()), tx); err == nil {
		s.From = from.Hex()
	} else {
		r.note("the signed transaction's sender does not recover: %v", err)
	}
	r.Signed = s
	r.Call = r.decodeCall(s.Data, "the signed transaction's data")
}

// Cause is the reason in one word, for grouping rows: the contract error's name
// (InvalidSignature), an unknown revert's selector, else ethers' code
// (INSUFFICIENT_FUNDS); "" when the text is of no shape vrwxctl reads.
func (r *Reason) Cause() string {
	switch {
	case r == nil:
		return ""
	case r.Error != nil:
		return r.Error.Name
	case r.Selector != "":
		return "revert " + r.Selector
	case r.Code != "":
		return r.Code
	}
	return ""
}

// ReachedChain reports whether the failed relay was mined (and reverted there):
// its reason carries a receipt.
func (r *Reason) ReachedChain() bool { return r != nil && r.Receipt != nil && r.Receipt.Hash != "" }

// Completion returns the submitCompletionV2 arguments the reason's calldata holds
// (nil when it holds none).
func (r *Reason) Completion() *CompletionArgs {
	if r == nil || r.Call == nil {
		return nil
	}
	return r.Call.Completion
}

func clipText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// View is an event with its reason read as data: the -o json shape of dlq show and
// of each row of dlq list (the event's columns, plus "decoded").
type View struct {
	Event
	Decoded *Reason `json:"decoded"`
}

// Decode reads the event's reason.
func (e Event) Decode() View { return View{Event: e, Decoded: ParseReason(e.Reason)} }
