package rotation_test

// Safe from any machine, at the rotation's seam: each machine() is another host —
// its own state directory (journal, rotation lock, send locks) and audit log — on
// the same store, chain and API. What stops a second rotation, a second funding or
// a stranded key is the store's claim and the chain, not a local file.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/vrwx/vrwxctl/pkg/audit"
	"github.com/vrwx/vrwxctl/pkg/chain"
	"github.com/vrwx/vrwxctl/pkg/errs"
	"github.com/vrwx/vrwxctl/pkg/report"
	"github.com/vrwx/vrwxctl/pkg/rotation"
	"github.com/vrwx/vrwxctl/pkg/secrets"
	"github.com/vrwx/vrwxctl/pkg/secrets/secretstest"
	"github.com/vrwx/vrwxctl/pkg/txflow/txflowtest"
)

// machine is another host with the same store, chain, treasury key and API.
func (w *fakeWorld) machine() *fakeWorld {
	// Its own handle on the store: its own SDK client, nothing cached in common.
	s, err := secrets.Open(context.Background(), w.ref, secrets.Options{})
	if err != nil {
		w.t.Fatal(err)
	}
	m := &fakeWorld{t: w.t, c: w.c, store: s, ref: w.ref, keyPath: w.keyPath, old: w.old, treasury: w.treasury, api: w.api,
		state: w.t.TempDir(), now: w.now}
	m.log = audit.Open(filepath.Join(m.state, "audit.log"))
	return m
}

// resumeOptions are a resume on a machine that knows nothing of the rotation: no
// flags but --resume; the profile's treasury signer and API URL.
func (w *fakeWorld) resumeOptions() rotation.Options {
	o := w.options()
	o.Resume, o.TreasuryRef, o.APIURL = true, "", ""
	o.DefaultTreasuryRef, o.DefaultAPIURL = "test://treasury", "http://api.test"
	return o
}

// A rotation stopped on one machine (verify timed out): another machine's new
// rotation is refused, naming it and how to go on, and changes nothing; that
// machine's --resume continues it from the store and the chain and finishes.
func TestFakeSecondMachineRefusedThenResumes(t *testing.T) {
	t.Parallel()
	a, o, first := stoppedAtVerify(t)
	id := a.journalOnDisk().ID
	b := a.machine()
	versions, sends := len(a.versions()), a.c.Broadcasts()
	_, err, _ := b.run(b.options(), "")
	if errs.KindOf(err) != errs.Refused || !errors.Is(err, secrets.ErrClaimed) || !strings.Contains(err.Error(), id) ||
		!strings.Contains(err.Error(), "is current") || !strings.Contains(errs.FixOf(err), "RESUME") || !strings.Contains(errs.FixOf(err), "ROLLBACK") {
		t.Fatalf("second machine's rotation: %v (fix %q)", err, errs.FixOf(err))
	}
	if len(a.versions()) != versions || a.c.Broadcasts() != sends || b.journalOnDisk() != nil {
		t.Fatal("the refused rotation changed something")
	}
	if err := a.api.restart(); err != nil {
		t.Fatal(err)
	}
	j, err, _ := b.run(b.resumeOptions(), "")
	if err != nil {
		t.Fatalf("resume on the second machine: %v\n%s", err, b.err.String())
	}
	if j.ID != id || j.Source != "store" || !strings.Contains(b.err.String(), "rebuilt from the store's claim") {
		t.Fatalf("the resume did not continue %s from the store: %+v\n%s", id, j, b.err.String())
	}
	b.rotated(j, o.Fund)
	for _, st := range []string{rotation.StepGenerate, rotation.StepFund, rotation.StepPromote} {
		if !strings.HasPrefix(j.Step(st).Outcome, "found done") {
			t.Errorf("step %s: %q, want it found done", st, j.Step(st).Outcome)
		}
	}
	// The first machine's journal is out of date: its resume says it ended elsewhere.
	ro := a.options()
	ro.Resume = true
	j, err, _ = a.run(ro, "")
	if err != nil || j.Status != rotation.StatusEndedElsewhere || first == nil {
		t.Fatalf("the first machine's resume: %v, %+v", err, j)
	}
	// And a new rotation may start again, anywhere.
	if _, err, _ := a.machine().run(a.options(), ""); err != nil {
		t.Fatalf("the next rotation: %v", err)
	}
}

// Killed at every step (and between journaling a transaction and its broadcast,
// and right after the chain took it), and resumed on another machine that has no
// journal: the new key is funded once, the old wallet drained to 0, no second key.
func TestFakeKillAnywhereThenResumeElsewhere(t *testing.T) {
	t.Parallel()
	killAnywhere(t, func(t *testing.T, w *fakeWorld, o rotation.Options, p string) {
		m := w.machine()
		j, err, _ := m.run(m.resumeOptions(), "")
		if p == "generate:started" {
			// Killed before it claimed the store: nothing changed, and there
			// is nothing for another machine to resume; a new rotation runs.
			if errs.KindOf(err) != errs.Failed || !strings.Contains(err.Error(), "nothing to resume") || len(w.versions()) != 1 {
				t.Fatalf("resume elsewhere before the claim: %v", err)
			}
			again := m.options()
			again.Mode = o.Mode
			if j, err, _ = m.run(again, ""); err != nil {
				t.Fatal(err)
			}
		} else if err != nil {
			t.Fatalf("resume elsewhere after %s: %v\n%s", p, err, m.err.String())
		}
		m.rotated(j, o.Fund)
		if n := len(w.versions()); n != 2 {
			t.Fatalf("%d versions after the resume, want 2 (one new key)", n)
		}
	})
}

// Two rotations of one store started at once on two machines, twenty times: one
// claims the store and completes; the other is refused (at its claim: the store
// is claimed, or the key it planned from is no longer current) having written no
// pending key and funded nothing. One funding, nothing stranded.
func TestFakeTwoRotationsAtOnce(t *testing.T) {
	t.Parallel()
	for trial := range 20 {
		w := newFakeWorld(t)
		js, es := rotateAtOnce(w, w.machine())
		checkOneRotation(t, trial, w, js, es)
	}
}

// rotateAtOnce runs a rotation on each machine, both planned (the current key
// read, the checks passed) before either claims the store: two rotations started
// at the same moment.
func rotateAtOnce(ms ...*fakeWorld) ([]*rotation.Journal, []error) {
	planned := txflowtest.Barrier(len(ms))
	js := make([]*rotation.Journal, len(ms))
	es := make([]error, len(ms))
	var wg sync.WaitGroup
	for i, x := range ms {
		o := x.options()
		o.Checkpoint = func(p string) {
			if p == rotation.StepGenerate+":started" {
				planned()
			}
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			js[i], es[i] = rotation.Run(context.Background(), o)
		}()
	}
	wg.Wait()
	return js, es
}

// checkOneRotation: exactly one of two rotations completed, the other was refused
// naming the claim; the treasury sent one funding; the store holds the old key and
// the winner's (nothing pending, no third key); no address but the winner's new one
// holds the funding.
func checkOneRotation(t *testing.T, trial int, w *fakeWorld, js []*rotation.Journal, es []error) {
	t.Helper()
	if len(js) != 2 {
		t.Fatalf("trial %d: %d rotations", trial, len(js))
	}
	t.Helper()
	won := -1
	for i, err := range es {
		switch {
		case err == nil && js[i].Status == rotation.StatusComplete:
			if won != -1 {
				t.Fatalf("trial %d: both rotations completed", trial)
			}
			won = i
		case errs.KindOf(err) == errs.Refused && errors.Is(err, secrets.ErrClaimed):
		default:
			t.Fatalf("trial %d: rotation %d: %v (journal %+v)", trial, i, err, js[i])
		}
	}
	if won == -1 {
		t.Fatalf("trial %d: no rotation completed: %v", trial, es)
	}
	if n := w.c.Nonce(w.treasury.Address()); n != 1 {
		t.Fatalf("trial %d: the treasury sent %d transactions, want one funding", trial, n)
	}
	newAddr := common.HexToAddress(js[won].New.Address)
	for _, v := range w.versions() {
		if v.Has(secrets.StagePending) {
			t.Fatalf("trial %d: a pending version is left: %+v", trial, v)
		}
		if v.Address != newAddr && v.Address != w.old && w.c.Balance(v.Address).Sign() != 0 {
			t.Fatalf("trial %d: %s holds %s wei: stranded", trial, v.Address.Hex(), w.c.Balance(v.Address))
		}
	}
	if c, err := secrets.ClaimsOf(w.store); err != nil {
		t.Fatal(err)
	} else if cl, err := c.Claim(context.Background()); err != nil || cl != nil {
		t.Fatalf("trial %d: the store is still claimed: %+v %v", trial, cl, err)
	}
}

// The dry run (and the real run) check what the run needs before anything changes,
// one line each with its fix; any failure is exit 3 with nothing sent or written.
func TestFakeDryRunChecks(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name, check, words string
		set                func(w *fakeWorld, o *rotation.Options)
	}{
		{"API down", "api", "does not answer", func(w *fakeWorld, o *rotation.Options) { w.api.down = true }},
		{"deploy program missing", "deploy", `"missing" is not a program`, func(w *fakeWorld, o *rotation.Options) { o.DeployCmd = []string{"missing", "--now"} }},
		{"treasury short", "treasury", "may cost up to", func(w *fakeWorld, o *rotation.Options) { o.Fund = ether(20) }},
		{"API runs another key", "api", "not the store's current key", func(w *fakeWorld, o *rotation.Options) { w.api.loaded = common.HexToAddress("0x01") }},
		{"old key stuck", "old key", "below the base fee", func(w *fakeWorld, o *rotation.Options) {
			w.c.Automine = false
			w.pending(common.HexToAddress("0x02"), big.NewInt(1))
			w.c.BaseFee = big.NewInt(1e12)
		}},
	} {
		for _, dry := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/dry=%v", c.name, dry), func(t *testing.T) {
				t.Parallel()
				w := newFakeWorld(t)
				o := w.options()
				o.DryRun = dry
				c.set(w, &o)
				sends := w.c.Broadcasts()
				_, err, _ := w.run(o, "")
				if errs.KindOf(err) != errs.Refused || !strings.Contains(err.Error(), "nothing was changed") {
					t.Fatalf("dry %v: %v, want exit 3", dry, err)
				}
				out := w.err.String()
				if !strings.Contains(out, "✗ "+c.check) || !strings.Contains(out, c.words) || !strings.Contains(out, "fix: ") {
					t.Fatalf("the check line for %s:\n%s", c.check, out)
				}
				if w.c.Broadcasts() != sends || len(w.versions()) != 1 || w.journalOnDisk() != nil {
					t.Fatal("a failed check changed something")
				}
			})
		}
	}
	// All well: every check passes, and the dry run says what would run.
	w := newFakeWorld(t)
	o := w.options()
	o.DryRun = true
	j, err, _ := w.run(o, "")
	if err != nil {
		t.Fatal(err)
	}
	names := []string{}
	for _, c := range j.Checks {
		if c.Level != report.OK {
			t.Errorf("check %+v", c)
		}
		names = append(names, c.Name)
	}
	if !slices.Equal(names, []string{"api", "deploy", "treasury", "store", "old key"}) {
		t.Errorf("checks %v", names)
	}
}

// A resume runs what it says: after /health timed out, --resume with a new deploy
// command runs the deploy step again with it (the journal records both runs);
// without one, the deploy does not run again and the message names the run that
// did happen.
func TestFakeResumeWithACorrectedDeployCommand(t *testing.T) {
	t.Parallel()
	w, o, _ := stoppedAtVerify(t)
	// Resumed with no new command: verify again, the deploy is not claimed to rerun.
	ro := w.options()
	ro.Resume, ro.TreasuryRef, ro.DeployCmd, ro.WaitTimeout = true, "", nil, 20*time.Millisecond
	_, err, _ := w.run(ro, "")
	if errs.KindOf(err) != errs.Timeout || !strings.Contains(errs.FixOf(err), "`true` ran at") || len(w.hooks) != 1 {
		t.Fatalf("resume without a command: %v (fix %q), hooks %v", err, errs.FixOf(err), w.hooks)
	}
	// Resumed with the corrected command: it runs, the rotation finishes.
	ro.DeployCmd, ro.WaitTimeout = []string{"restart"}, 10*time.Second
	j, err, _ := w.run(ro, "")
	if err != nil {
		t.Fatal(err)
	}
	w.rotated(j, o.Fund)
	if len(w.hooks) != 2 || w.hooks[1][0] != "restart" || len(j.Deploys) != 2 || j.Deploys[0].Command != "true" || j.Deploys[1].Command != "restart" ||
		j.Deploys[1].Outcome != "exit 0" || !strings.Contains(w.err.String(), "the deploy step runs again") {
		t.Fatalf("hooks %v, deploys %+v", w.hooks, j.Deploys)
	}
	// With no deploy command at all nothing claims one ran.
	m := newFakeWorld(t)
	o = m.options()
	o.DeployCmd, o.WaitTimeout = nil, 20*time.Millisecond
	_, err, _ = m.run(o, "")
	if errs.KindOf(err) != errs.Timeout || strings.Contains(errs.FixOf(err), "` ran") || !strings.Contains(errs.FixOf(err), "no deploy command ran") {
		t.Fatalf("no deploy command: %v (fix %q)", err, errs.FixOf(err))
	}
}

// Ctrl-C (or SIGTERM) during each of the rotation's waits ends it as an
// interruption — exit 130/143, not a timeout — with the journal saved first, the
// step and how to resume named; the resume then finishes.
func TestFakeInterruptedDuringEachWait(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		step string
		// arm makes the wait begin and interrupts it once it has.
		arm func(w *fakeWorld, o *rotation.Options, stop func())
	}{
		{rotation.StepFund, func(w *fakeWorld, o *rotation.Options, stop func()) {
			w.c.Automine = false
			w.c.Fault = func(tx *types.Transaction) txflowtest.Fault { stop(); return txflowtest.Accept }
		}},
		{rotation.StepDeploy, func(w *fakeWorld, o *rotation.Options, stop func()) {
			o.DeployCmd = []string{"hang"}
			o.Hook = func(ctx context.Context, argv, _ []string, _ io.Writer) error {
				stop()
				<-ctx.Done()
				return errs.Timeoutf("deploy command `hang` did not finish in time and was stopped")
			}
		}},
		{rotation.StepVerify, func(w *fakeWorld, o *rotation.Options, stop func()) {
			o.DeployCmd = []string{"true"}
			o.Checkpoint = func(p string) {
				if p == "verify:started" {
					stop()
				}
			}
		}},
		{rotation.StepSettle, func(w *fakeWorld, o *rotation.Options, stop func()) {
			o.Checkpoint = func(p string) {
				if p == "fund:done" {
					w.pending(common.HexToAddress("0x02"), big.NewInt(1e15))
				}
			}
			w.c.OnAccount = func(s *chain.AccountState) {
				if s.Address == w.old && s.Waiting() > 0 && w.journalOnDisk().Step(rotation.StepSettle).Status == rotation.StatusStarted {
					stop()
				}
			}
		}},
		{rotation.StepDrain, func(w *fakeWorld, o *rotation.Options, stop func()) {
			o.Checkpoint = func(p string) {
				if p == "drain:started" {
					w.c.Automine = false
				}
			}
			w.c.Fault = func(tx *types.Transaction) txflowtest.Fault {
				if from, _ := types.Sender(types.LatestSignerForChainID(tx.ChainId()), tx); from == w.old {
					stop()
				}
				return txflowtest.Accept
			}
		}},
	} {
		for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
			t.Run(c.step+"/"+sig.String(), func(t *testing.T) {
				t.Parallel()
				w := newFakeWorld(t)
				o := w.options()
				ctx, cancel := context.WithCancelCause(context.Background())
				defer cancel(nil)
				c.arm(w, &o, func() { cancel(errs.Signal(sig)) })
				_, err := rotation.Run(ctx, o)
				want := errs.Interrupted
				if sig == syscall.SIGTERM {
					want = errs.Terminated
				}
				if errs.KindOf(err) != want || !errors.Is(err, errs.ErrInterrupted) || !strings.Contains(err.Error(), "rotation interrupted at step") ||
					!strings.Contains(err.Error(), c.step) || !strings.Contains(errs.FixOf(err), "RESUME") {
					t.Fatalf("interrupted at %s: %v (kind %d, fix %q)\n%s", c.step, err, errs.KindOf(err), errs.FixOf(err), w.err.String())
				}
				j := w.journalOnDisk()
				if st := j.Step(c.step); st.Status != rotation.StatusFailed || !strings.Contains(st.Error, "interrupted") && !strings.Contains(st.Error, "terminated") {
					t.Fatalf("journal step %+v", st)
				}
				// Resumed (after the chain mined what was sent), it finishes.
				w.c.Automine, w.c.Fault, w.c.OnAccount = true, nil, nil
				w.c.Mine()
				ro := w.options()
				ro.Resume, ro.TreasuryRef = true, ""
				j, err, _ = w.run(ro, "")
				if err != nil {
					t.Fatalf("resume: %v\n%s", err, w.err.String())
				}
				if c.step == rotation.StepSettle {
					// The old key's pending relay was mined too: two transactions.
					if j.Status != rotation.StatusComplete || w.c.Balance(w.old).Sign() != 0 || w.c.Nonce(w.treasury.Address()) != 1 {
						t.Fatalf("after the resume: %s, old %s wei, treasury sent %d", j.Status, w.c.Balance(w.old), w.c.Nonce(w.treasury.Address()))
					}
					return
				}
				w.rotated(j, o.Fund)
			})
		}
	}
}

// Two rotations at once, twenty times, on the AWS Secrets Manager and Vault test
// servers through the real SDK clients (each machine its own client): the store's
// claim — AWSPENDING moved without RemoveFromVersionId, KV v2 check-and-set —
// lets one through. (The SDKs read their credentials from the process
// environment, so this test does not run in parallel.)
func TestStoresTwoRotationsAtOnce(t *testing.T) {
	sm := secretstest.NewSecretsManager(t)
	v := secretstest.NewVault(t)
	none := filepath.Join(t.TempDir(), "absent")
	for k, val := range map[string]string{
		"AWS_ACCESS_KEY_ID": "AKIAVRWXTESTKEY00001", "AWS_SECRET_ACCESS_KEY": "vrwx-test-secret-access-key", "AWS_REGION": sm.Region(),
		"AWS_CONFIG_FILE": none, "AWS_SHARED_CREDENTIALS_FILE": none, "AWS_EC2_METADATA_DISABLED": "true",
		"AWS_ENDPOINT_URL_SECRETS_MANAGER": sm.URL(), "VAULT_ADDR": v.Addr(), "VAULT_TOKEN": v.RootToken(), "VAULT_MAX_RETRIES": "0",
	} {
		t.Setenv(k, val)
	}
	for _, k := range []string{"AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_ENDPOINT_URL", "VAULT_NAMESPACE"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	for _, backend := range []string{"aws-sm", "vault"} {
		t.Run(backend, func(t *testing.T) {
			for trial := range 20 {
				ref := fmt.Sprintf("aws-sm://vrwx/relayer-%d", trial)
				if backend == "vault" {
					ref = fmt.Sprintf("vault://secret/vrwx/relayer-%d", trial)
				}
				w := newFakeWorldOn(t, ref)
				js, es := rotateAtOnce(w, w.machine())
				checkOneRotation(t, trial, w, js, es)
			}
		})
	}
}
