package audit

import (
	"path/filepath"
	"testing"
)

func TestTracksFollowEachTransaction(t *testing.T) {
	l := Open(filepath.Join(t.TempDir(), "audit.log"))
	from := "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
	n := func(v uint64) *uint64 { return &v }
	for _, e := range []Entry{
		{ChainID: 1, From: from, TxHash: "0xa", Nonce: n(0), Outcome: Sent},
		{ChainID: 1, From: from, TxHash: "0xa", Outcome: Mined},                        // reported by its own run
		{ChainID: 1, From: from, TxHash: "0xb", Nonce: n(1), Outcome: Sent},            // killed: nothing after
		{ChainID: 1, From: from, TxHash: "0xc", Nonce: n(2), Outcome: Sent},            // learned later
		{ChainID: 1, From: from, TxHash: "0xc", Outcome: Mined, ReconciledBy: "x"},     //
		{ChainID: 1, From: from, TxHash: "0xd", Outcome: Sent, After: []string{"0xC"}}, // a new payment knowing of 0xc
		{ChainID: 2, From: from, TxHash: "0xe", Outcome: Sent},                         // another chain
		{ChainID: 1, From: "0x0000000000000000000000000000000000000001", TxHash: "0xf", Outcome: Sent},
		{ChainID: 1, From: from, TxHash: "0x1", Outcome: DryRun},
	} {
		if err := l.Append(e); err != nil {
			t.Fatal(err)
		}
	}
	tracks, err := l.Tracks(1, "0x70997970c51812dc3a010c7d01b50e0d17dc79c8")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]Track{}
	for _, tr := range tracks {
		got[tr.Sent.TxHash] = tr
	}
	if len(got) != 4 {
		t.Fatalf("tracks %+v", tracks)
	}
	if !got["0xa"].Reported || got["0xa"].Last.Outcome != Mined {
		t.Errorf("0xa: %+v", got["0xa"])
	}
	if got["0xb"].Reported || got["0xb"].Last.Outcome != Sent {
		t.Errorf("0xb: %+v", got["0xb"])
	}
	if got["0xc"].Reported || !got["0xc"].Acknowledged || got["0xc"].Last.ReconciledBy != "x" {
		t.Errorf("0xc: %+v", got["0xc"])
	}
}
