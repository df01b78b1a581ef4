package tx_test

import (
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vrwx/vrwxctl/pkg/cli/clitest"
	"github.com/vrwx/vrwxctl/pkg/cli/tx"
	"github.com/vrwx/vrwxctl/pkg/devchain"
)

// Ctrl-C (SIGINT) or SIGTERM during `tx wait` ends it as an interruption — exit
// 130 or 143, not a timeout — saying what it was waiting for and how to follow the
// transaction again; the wait shows the time elapsed and left meanwhile.
func TestTxWaitInterrupted(t *testing.T) {
	t.Parallel()
	for name, sig := range map[string]struct {
		s    syscall.Signal
		code int
		word string
	}{"SIGINT": {syscall.SIGINT, 130, "interrupted (SIGINT)"}, "SIGTERM": {syscall.SIGTERM, 143, "terminated (SIGTERM)"}} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := clitest.NewChain(t)
			h := stuckTx(t, e)
			p := e.Start("tx", "wait", h.Hex(), "--timeout", "2m")
			p.WaitStderr("waiting for "+h.Hex(), 60*time.Second)
			if err := p.Cmd.Process.Signal(sig.s); err != nil {
				t.Fatal(err)
			}
			r := p.Wait()
			if r.Code != sig.code || !strings.Contains(r.Stderr, sig.word+" while waiting for "+h.Hex()+" to be mined") ||
				!strings.Contains(r.Stderr, "vrwxctl tx wait "+h.Hex()) || strings.Contains(r.Stderr, "timeout") {
				t.Fatalf("want exit %d naming the wait and how to follow it again:\n%s", sig.code, r)
			}
			if !strings.Contains(r.Stderr, "elapsed") || !strings.Contains(r.Stderr, "left") {
				t.Errorf("the wait should show the time elapsed and left:\n%s", r)
			}
		})
	}
}

// `tx wait` of a transaction that another one replaced at its nonce follows the
// replacement: a speedup is the same payment (exit 0), a cancel is not (exit 1).
func TestTxWaitFollowsAReplacement(t *testing.T) {
	t.Parallel()
	for name, verb := range map[string]string{"speedup": "speedup", "cancel": "cancel"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := clitest.NewChain(t)
			e.Vars["KEY6"] = devchain.DevKeyHex(6)
			stuck := stuckTx(t, e)
			w := e.Machine()
			done := make(chan clitest.Result)
			go func() { done <- w.Run("tx", "wait", stuck.Hex(), "--timeout", "60s", "-o", "json") }()
			// The replacement goes out while the wait runs; a block then mines it.
			r := runMining(t, e, stuck, "tx", verb, "--nonce", "0", "--signer", "env://KEY6", "--yes")
			if r.Code != 0 {
				t.Fatalf("%s:\n%s", verb, r)
			}
			var j tx.StatusJSON
			got := <-done
			got.JSON(t, &j)
			if j.State != "replaced" || j.NonceTakenBy == nil || j.NonceTakenBy.State != "success" {
				t.Fatalf("tx wait should follow the replacement:\n%s", got)
			}
			want, same := 0, true
			if verb == "cancel" {
				want, same = 1, false
			}
			if got.Code != want || j.SamePayment != same {
				t.Fatalf("%s: want exit %d, samePayment %v:\n%s", verb, want, same, got)
			}
		})
	}
}
