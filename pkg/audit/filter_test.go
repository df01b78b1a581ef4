package audit

import (
	"testing"
	"time"
)

func TestFilterMatch(t *testing.T) {
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	e := Entry{Time: at, Command: "wallet fund", Outcome: Mined, From: "0xAbC", To: "0xDeF", TxHash: "0x01"}
	for _, c := range []struct {
		f    Filter
		want bool
	}{
		{Filter{}, true},
		{Filter{Command: "wallet"}, true},
		{Filter{Command: "wallet fund"}, true},
		{Filter{Command: "wall"}, false},
		{Filter{Command: "wallet drain"}, false},
		{Filter{Outcome: Mined}, true},
		{Filter{Outcome: Reverted}, false},
		{Filter{Since: at}, true},
		{Filter{Since: at.Add(time.Second)}, false},
		{Filter{Account: "0xabc"}, true},
		{Filter{Account: "0xdef"}, true},
		{Filter{Account: "0x123"}, false},
		{Filter{TxHash: "0x01"}, true},
		{Filter{TxHash: "0x02"}, false},
	} {
		if got := c.f.Match(e); got != c.want {
			t.Errorf("%+v: %v, want %v", c.f, got, c.want)
		}
	}
}
