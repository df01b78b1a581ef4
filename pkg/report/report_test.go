package report

import "testing"

// A check changed when it is new, its level moved, or a warning's or critical's
// value moved; an ok line's value or any detail moving (the head, an age, a
// latency) is the system being alive.
func TestChanged(t *testing.T) {
	prev := []Check{
		{Section: "relayer", Name: "balance", Level: Warn, Value: "0.15 ETH"},
		{Section: "chain", Name: "head", Level: OK, Value: "#5, 2s old"},
		{Section: "api", Name: "/health", Level: OK, Value: "ok", Detail: "12ms"},
		{Section: "rpc", Name: "#0 (first)", Level: OK, Value: "head #5, 0 behind"},
	}
	cur := []Check{
		{Section: "relayer", Name: "balance", Level: Warn, Value: "0.1 ETH"},
		{Section: "chain", Name: "head", Level: OK, Value: "#6, 1s old"},
		{Section: "api", Name: "/health", Level: OK, Value: "ok", Detail: "40ms"},
		{Section: "rpc", Name: "#0 (first)", Level: Crit, Value: "head #5, 0 behind"},
		{Section: "keys", Name: "current key", Level: OK, Value: "0xA"},
	}
	changed := Changed(prev, cur)
	for i, want := range []bool{true, false, false, true, true} {
		if got := changed(cur[i]); got != want {
			t.Errorf("%s/%s changed = %v, want %v", cur[i].Section, cur[i].Name, got, want)
		}
	}
	if Changed(nil, cur)(cur[0]) {
		t.Error("a first reading has nothing to compare with")
	}
}
