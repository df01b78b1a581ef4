package key_test

import (
	"strings"
	"sync/atomic"
	"testing"

	"github.com/vrwx/vrwxctl/pkg/cli/clitest"
	"github.com/vrwx/vrwxctl/pkg/devchain"
	"github.com/vrwx/vrwxctl/pkg/rotation"
)

// crashPoint is where the real binary is SIGKILLed: at a named checkpoint (the
// process kills itself there, see clitest.KillAtEnv), or — in the middle of a send —
// by the test, right after the node received the run's n-th broadcast and before
// the answer reaches vrwxctl.
type crashPoint struct {
	at        string
	broadcast int
}

func (p crashPoint) String() string {
	if p.at != "" {
		return p.at
	}
	return "broadcast-" + string(rune('0'+p.broadcast))
}

// crashChain is a chain reached through a fault proxy (which can kill a run as a
// transaction passes it), for the binary that SIGKILLs itself at a checkpoint.
func crashChain(t *testing.T) (*clitest.Env, *devchain.FaultProxy) {
	t.Helper()
	e := clitest.NewChain(t)
	e.TestHooks = true
	proxy := devchain.StartFaultProxy(t, e.Anvil.URL)
	e.Vars["RPC_URL"] = proxy.URL
	return e, proxy
}

// kill runs args on e and SIGKILLs the run at p: at its checkpoint, or once the
// proxy has forwarded its p.broadcast-th transaction.
func (p crashPoint) kill(t *testing.T, e *clitest.Env, proxy *devchain.FaultProxy, args []string) {
	t.Helper()
	var r clitest.Result
	if p.at != "" {
		e.Vars[clitest.KillAtEnv] = p.at
		r = e.Exec(args...)
		delete(e.Vars, clitest.KillAtEnv)
	} else {
		var proc atomic.Pointer[clitest.Proc]
		var sends atomic.Int32
		proxy.AfterForward("eth_sendRawTransaction", func() {
			if int(sends.Add(1)) == p.broadcast {
				_ = proc.Load().Cmd.Process.Kill()
			}
		})
		pr := e.Start(args...)
		proc.Store(pr)
		r = pr.Wait()
		proxy.AfterForward("eth_sendRawTransaction", func() {})
	}
	if r.Code != -1 {
		t.Fatalf("want the run SIGKILLed at %s:\n%s", p, r)
	}
}

// The real binary, SIGKILLed in the middle of both sends — the hash journaled but
// not broadcast (…:signed), broadcast but unanswered (the proxy hook), and inside
// the promote — then resumed: the chain shows the new wallet funded exactly once
// (one treasury transaction, exactly the amount) and the old one drained exactly
// once (one transaction from it, 0 left), with the new version current. This
// proves the wiring (the checkpoint's self-SIGKILL, the journal and the audit log
// on disk across processes, a node that has the bytes); that every step boundary
// of both orders resumes without paying twice is pkg/rotation's
// TestFakeKillAnywhereThenResume.
func TestRotateKilledMidSendResumes(t *testing.T) {
	t.Parallel()
	standard := []crashPoint{
		{at: "fund:signed"}, {broadcast: 1}, {at: "promote:promoted"}, {at: "drain:signed"}, {broadcast: 2},
	}
	// The emergency order: generate, promote, drain (first send), fund (second).
	emergency := []crashPoint{{broadcast: 1}, {at: "fund:signed"}}
	e, proxy := crashChain(t)
	treasury := devchain.DevAddress(devchain.AccountTreasury)
	for mode, points := range map[string][]crashPoint{"standard": standard, "emergency": emergency} {
		for _, p := range points {
			t.Run(mode+"/"+p.String(), func(t *testing.T) {
				w := newWorld(t, e, "file")
				t0 := w.nonce(treasury)
				args := w.rotateArgs("--deploy-cmd", w.api.DeployCmd())
				if mode == "emergency" {
					args = append(args, "--emergency")
				}
				p.kill(t, e, proxy, args)
				files := journalFiles(t, e)
				if len(files) == 0 {
					t.Fatalf("no journal after a kill at %s", p)
				}

				r := e.Exec("key", "rotate", "--store", w.ref, "--resume", "--yes", "-o", "json", "--wait-timeout", "20s")
				if r.Code != 0 {
					t.Fatalf("resume after a kill at %s:\n%s", p, r)
				}
				j := journal(t, r)
				w.checkRotated(j, ether(1, 10))
				if got := w.nonce(treasury) - t0; got != 1 {
					t.Fatalf("the treasury sent %d transactions, want exactly one funding", got)
				}
				if got := w.nonce(w.old); got != 1 {
					t.Fatalf("the old wallet sent %d transactions, want exactly one drain", got)
				}
				if j.Drain.ActualLeftoverWei != "0" {
					t.Fatalf("old wallet left with %s wei", j.Drain.ActualLeftoverWei)
				}
				if !strings.Contains(r.Stderr, "Resuming") {
					t.Fatalf("the resume did not show the plan with what is done:\n%s", r.Stderr)
				}
				// The journal of this rotation is archived by the next world's first
				// run only if it shares the store; each world has its own store, so
				// the journal stays, complete.
				for _, f := range journalFiles(t, e) {
					if jj, err := rotation.LoadJournal(f); err == nil && jj.Store == j.Store && jj.Status != rotation.StatusComplete {
						t.Fatalf("journal %s is %s", f, jj.Status)
					}
				}
			})
		}
	}
}
