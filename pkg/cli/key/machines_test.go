package key_test

// Safe from any machine, on anvil with the real binary: each Env.Machine() is
// another host (its own state directory: no journal, no locks in common), the
// store (a file, the Secrets Manager or Vault test server through the real SDK)
// and the chain are shared.

import (
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vrwx/vrwxctl/pkg/cli/clitest"
	"github.com/vrwx/vrwxctl/pkg/devchain"
	"github.com/vrwx/vrwxctl/pkg/rotation"
)

// resumeArgs is a resume on a machine that knows nothing of the rotation but the
// store and what the operator types.
func (w *world) resumeArgs(extra ...string) []string {
	return append([]string{"key", "rotate", "--store", w.ref, "--resume", "--yes", "-o", "json", "--wait-timeout", "20s",
		"--treasury-signer", "env://TREASURY_KEY", "--api-url", w.api.URL}, extra...)
}

// Two `key rotate` of one store started at once on two machines: one completes,
// the other is refused (exit 3) naming the rotation that holds the store; the
// treasury sends one funding; nothing is left pending.
func TestRotateTwoMachinesAtOnce(t *testing.T) {
	t.Parallel()
	e := clitest.NewChain(t)
	treasury := devchain.DevAddress(devchain.AccountTreasury)
	for _, kind := range []string{"file", "aws-sm", "vault"} {
		t.Run(kind, func(t *testing.T) {
			for trial := range 3 {
				w := newWorld(t, e, kind)
				other := e.Machine()
				t0 := w.nonce(treasury)
				args := w.rotateArgs("--deploy-cmd", w.api.DeployCmd())
				a, b := e.Start(args...), other.Start(args...)
				ra, rb := a.Wait(), b.Wait()
				done, refused := ra, rb
				if ra.Code != 0 {
					done, refused = rb, ra
				}
				// Refused by the claim — or, when the other finished before this one's
				// plan read the API, by the check that the API runs the current key.
				if done.Code != 0 || refused.Code != 3 || !strings.Contains(refused.Stderr, "claimed") && !strings.Contains(refused.Stderr, "not the store's current key") {
					t.Fatalf("trial %d: want one rotation done and the other refused (exit 3):\n%s\n%s", trial, ra, rb)
				}
				w.checkRotated(journal(t, done), ether(1, 10))
				if got := w.nonce(treasury) - t0; got != 1 {
					t.Fatalf("trial %d: the treasury sent %d transactions, want one funding", trial, got)
				}
				if v := e.Exec("key", "versions", "--store", w.ref, "-o", "json"); v.Code != 0 || strings.Contains(v.Stdout, `"pending"`) {
					t.Fatalf("trial %d: a pending version is left:\n%s", trial, v)
				}
			}
		})
	}
}

// The real binary killed at step boundaries and in the middle of both sends, then
// resumed on another machine with no journal: the store's claim, the chain and
// /health say where it stands. One funding, the old wallet drained to 0.
func TestRotateKilledThenResumedOnAnotherMachine(t *testing.T) {
	t.Parallel()
	e, proxy := crashChain(t)
	treasury := devchain.DevAddress(devchain.AccountTreasury)
	for _, p := range []crashPoint{
		{at: "generate:done"}, {at: "fund:signed"}, {broadcast: 1}, {at: "fund:done"}, {at: "promote:promoted"},
		{at: "deploy:done"}, {at: "verify:done"}, {at: "drain:signed"}, {broadcast: 2},
	} {
		t.Run(p.String(), func(t *testing.T) {
			w := newWorld(t, e, "file")
			t0 := w.nonce(treasury)
			args := w.rotateArgs("--deploy-cmd", w.api.DeployCmd())
			p.kill(t, e, proxy, args)
			other := e.Machine()
			r := other.Exec(w.resumeArgs("--deploy-cmd", w.api.DeployCmd())...)
			if r.Code != 0 || !strings.Contains(r.Stderr, "rebuilt from the store's claim") {
				t.Fatalf("resume on another machine after a kill at %s:\n%s", p, r)
			}
			j := journal(t, r)
			w.checkRotated(j, ether(1, 10))
			if got := w.nonce(treasury) - t0; got != 1 {
				t.Fatalf("the treasury sent %d transactions, want exactly one funding", got)
			}
			if got := w.balance(w.old); got.Sign() != 0 {
				t.Fatalf("the old wallet holds %s wei", got)
			}
			// The first machine's journal is out of date; its own resume says so.
			r = e.Exec("key", "rotate", "--store", w.ref, "--resume", "--yes", "-o", "json")
			if r.Code != 0 || journal(t, r).Status != rotation.StatusEndedElsewhere {
				t.Fatalf("the first machine's resume:\n%s", r)
			}
		})
	}
}

// The dry run checks what the real run needs — the API, the deploy program, the
// treasury's balance — and any failure is exit 3 with each line's fix; nothing
// is sent or written. The real run refuses the same way.
func TestRotateDryRunChecks(t *testing.T) {
	t.Parallel()
	e := clitest.NewChain(t)
	treasury := devchain.DevAddress(devchain.AccountTreasury)
	for _, c := range []struct {
		name, line string
		args       []string
	}{
		{"api down", "does not answer", []string{"--api-url", "http://127.0.0.1:1"}},
		{"deploy program missing", `"vrwx-no-such-deploy" is not a program`, []string{"--deploy-cmd", "vrwx-no-such-deploy --restart"}},
		{"treasury short", "may cost up to", []string{"--fund", "100000ether"}},
	} {
		for _, dry := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/dry=%v", c.name, dry), func(t *testing.T) {
				w := newWorld(t, e, "file")
				m := e.Machine()
				t0 := w.nonce(treasury)
				extra := c.args
				if c.args[0] != "--deploy-cmd" {
					extra = append([]string{"--deploy-cmd", w.api.DeployCmd()}, c.args...)
				}
				args := w.rotateArgs(extra...)
				if dry {
					args = append(args, "--dry-run")
				}
				r := m.Run(args...)
				if r.Code != 3 || !strings.Contains(r.Stderr, "✗") || !strings.Contains(r.Stderr, c.line) || !strings.Contains(r.Stderr, "fix: ") ||
					!strings.Contains(r.Stderr, "nothing was changed") {
					t.Fatalf("want exit 3 with the failed check and its fix:\n%s", r)
				}
				if w.nonce(treasury) != t0 || len(journalFiles(t, m)) != 0 {
					t.Fatal("a failed check sent or wrote something")
				}
				if v := m.Run("key", "versions", "--store", w.ref, "-o", "json"); strings.Count(v.Stdout, `"id"`) != 1 {
					t.Fatalf("the store changed:\n%s", v)
				}
			})
		}
	}
}

// A resume runs what it says: /health never flipped (the deploy command did not
// restart the API); the resume with a corrected --deploy-cmd runs it, and the
// journal records both runs.
func TestRotateResumeWithACorrectedDeployCommand(t *testing.T) {
	t.Parallel()
	e := clitest.NewChain(t)
	w := newWorld(t, e, "file")
	r := e.Exec(w.rotateArgs("--deploy-cmd", "true", "--wait-timeout", "2s")...)
	if r.Code != 4 || !strings.Contains(r.Stderr, "`true` ran at") {
		t.Fatalf("want the rotation stopped at verify, naming what ran:\n%s", r)
	}
	r = e.Exec(w.resumeArgs("--deploy-cmd", w.api.DeployCmd())...)
	if r.Code != 0 || !strings.Contains(r.Stderr, "the deploy step runs again") {
		t.Fatalf("resume with the corrected command:\n%s", r)
	}
	j := journal(t, r)
	w.checkRotated(j, ether(1, 10))
	if len(j.Deploys) != 2 || j.Deploys[0].Command != "true" || j.Deploys[1].Command != w.api.DeployCmd() || j.Deploys[1].Outcome != "exit 0" {
		t.Fatalf("deploy runs %+v", j.Deploys)
	}
}

// Ctrl-C while the rotation waits for /health: exit 130, "interrupted at step
// 5/7 verify", the journal saved and how to resume; the resume finishes (here
// from another machine).
func TestRotateInterruptedWhileWaiting(t *testing.T) {
	t.Parallel()
	e := clitest.NewChain(t)
	w := newWorld(t, e, "vault")
	p := e.Start(w.rotateArgs("--deploy-cmd", "true", "--wait-timeout", "2m")...)
	p.WaitStderr("to report", 60*time.Second)
	if err := p.Cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	r := p.Wait()
	if r.Code != 130 || !strings.Contains(r.Stderr, "rotation interrupted at step 5/7 verify") || !strings.Contains(r.Stderr, "--resume") ||
		strings.Contains(r.Stderr, "did not report the new relayer") {
		t.Fatalf("want exit 130, where it stopped and how to resume:\n%s", r)
	}
	if j := w.activeJournal(); j == nil || j.Step(rotation.StepVerify).Status != rotation.StatusFailed {
		t.Fatalf("the journal was not saved before exiting: %+v", j)
	}
	r = e.Machine().Exec(w.resumeArgs("--deploy-cmd", w.api.DeployCmd())...)
	if r.Code != 0 {
		t.Fatalf("resume:\n%s", r)
	}
	w.checkRotated(journal(t, r), ether(1, 10))
}
