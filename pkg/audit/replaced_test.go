package audit

import (
	"testing"
	"time"
)

// A replacement is found by the hash it names, or — in lines written before that
// was recorded — by the same account, chain and nonce, sent later; its latest line
// says how it ended. Another account's transaction at that nonce is no replacement.
func TestReplacementOf(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	n := uint64(7)
	orig := Entry{Time: t0, ChainID: 8453, From: "0xAA", Nonce: &n, TxHash: "0x01", Outcome: Sent, Command: "wallet fund"}
	other := Entry{Time: t0.Add(time.Minute), ChainID: 8453, From: "0xBB", Nonce: &n, TxHash: "0x02", Outcome: Sent}
	byNonce := Entry{Time: t0.Add(2 * time.Minute), ChainID: 8453, From: "0xaa", Nonce: &n, TxHash: "0x03", Outcome: Sent, Command: "tx speedup", User: "oncall"}
	mined := byNonce
	mined.Outcome, mined.Block = Mined, 99
	if r := ReplacementOf([]Entry{orig, other, byNonce, mined}, "0x01"); r == nil || r.Sent.TxHash != "0x03" || r.Last.Outcome != Mined || r.Last.Block != 99 {
		t.Fatalf("by nonce: %+v", r)
	}
	named := Entry{Time: t0.Add(3 * time.Minute), ChainID: 8453, From: "0xCC", TxHash: "0x04", Outcome: Sent, Replaces: "0x09", Command: "tx cancel"}
	if r := ReplacementOf([]Entry{orig, named}, "0x09"); r == nil || r.Sent.TxHash != "0x04" || r.Last.Outcome != Sent {
		t.Fatalf("named: %+v", r)
	}
	if r := ReplacementOf([]Entry{orig, other}, "0x01"); r != nil {
		t.Fatalf("another account's nonce is no replacement: %+v", r)
	}
	before := byNonce
	before.Time = t0.Add(-time.Minute)
	if r := ReplacementOf([]Entry{before, orig}, "0x01"); r != nil {
		t.Fatalf("a transaction sent before it is no replacement: %+v", r)
	}
}
