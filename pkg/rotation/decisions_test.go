package rotation_test

// The rotation's decisions at its own seam, in milliseconds: a chain in memory
// (txflowtest), a real file store in a temporary directory, an API whose /health
// follows the key it last loaded, a deploy hook that "restarts" it, and a clock.
// They cover what the CLI tests on anvil covered one process at a time — refusals
// that change nothing, a wait that times out and a resume that finishes, the
// leftover pending version, a second rotation, rollback, the dry run, the age
// rule, the emergency order, and a kill at every step boundary followed by a resume
// that pays nothing twice. TestStandardRotation and pkg/cli/key prove the wiring on
// anvil with the real binary.

import (
	"bytes"
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
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/vrwx/vrwxctl/pkg/audit"
	"github.com/vrwx/vrwxctl/pkg/chain"
	"github.com/vrwx/vrwxctl/pkg/errs"
	"github.com/vrwx/vrwxctl/pkg/health"
	"github.com/vrwx/vrwxctl/pkg/rotation"
	"github.com/vrwx/vrwxctl/pkg/secrets"
	"github.com/vrwx/vrwxctl/pkg/signer"
	"github.com/vrwx/vrwxctl/pkg/txflow"
	"github.com/vrwx/vrwxctl/pkg/txflow/txflowtest"
	"github.com/vrwx/vrwxctl/pkg/ui"
)

const fakeChainID = 31337

// fakeAPI is the API as a rotation sees it: /health reports the key it loaded when
// it last started; restart loads the store's current key.
type fakeAPI struct {
	mu       sync.Mutex
	store    secrets.Store
	loaded   common.Address
	restarts int
	down     bool
	chainID  uint64
}

func (a *fakeAPI) Get(_ context.Context, apiURL string) (health.Result, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.down {
		return health.Result{}, errs.Failedf("%s is down: connection refused", apiURL).Marks(health.ErrDown)
	}
	addr := a.loaded
	return health.Result{URL: apiURL + "/health", Health: health.Health{Status: "ok", RelayMode: "relay", RelayerAddress: &addr, ChainID: a.chainID}}, nil
}

func (a *fakeAPI) restart() error {
	_, v, err := a.store.Read(context.Background(), "")
	a.mu.Lock()
	defer a.mu.Unlock()
	if err == nil {
		a.loaded, a.restarts = v.Address, a.restarts+1
	}
	return err
}

func (a *fakeAPI) state() (common.Address, int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.loaded, a.restarts
}

// fakeWorld is one rotation's surroundings.
type fakeWorld struct {
	t        *testing.T
	c        *txflowtest.Chain
	store    secrets.Store
	ref      string
	keyPath  string
	old      common.Address
	treasury *signer.Signer
	api      *fakeAPI
	state    string
	log      *audit.Log
	now      time.Time
	out, err bytes.Buffer
	// hooks are the deploy commands run, in order.
	hooks [][]string
}

func newFakeWorld(t *testing.T) *fakeWorld {
	t.Helper()
	keyPath := filepath.Join(t.TempDir(), "relayer.hex")
	w := newFakeWorldOn(t, "file://"+keyPath)
	w.keyPath = keyPath
	return w
}

// newFakeWorldOn is newFakeWorld with the relayer key in the store ref names (a
// new secret: its first key is current).
func newFakeWorldOn(t *testing.T, ref string) *fakeWorld {
	t.Helper()
	w := &fakeWorld{t: t, c: txflowtest.New(fakeChainID), state: t.TempDir(), now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	s, err := secrets.Open(context.Background(), ref, secrets.Options{})
	if err != nil {
		t.Fatal(err)
	}
	w.store, w.ref = s, ref
	k, err := secrets.Generate()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.WritePending(context.Background(), k); err != nil {
		t.Fatal(err)
	}
	w.old = k.Address()
	tk, _ := secrets.Generate()
	w.treasury, _ = signer.New(tk)
	w.c.SetBalance(w.old, ether(1))
	w.c.SetBalance(w.treasury.Address(), ether(10))
	w.api = &fakeAPI{store: s, chainID: fakeChainID}
	if err := w.api.restart(); err != nil {
		t.Fatal(err)
	}
	w.api.restarts = 0
	w.log = audit.Open(filepath.Join(w.state, "audit.log"))
	return w
}

// stoppedAtVerify is a world whose rotation stopped at the verify step: its deploy
// command (`true`) does not restart the API, so /health reports the old key until
// the wait times out. o are the rotation's options, j its journal.
func stoppedAtVerify(t *testing.T) (w *fakeWorld, o rotation.Options, j *rotation.Journal) {
	t.Helper()
	w = newFakeWorld(t)
	o = w.options()
	o.DeployCmd, o.WaitTimeout = []string{"true"}, 20*time.Millisecond
	j, err, _ := w.run(o, "")
	if errs.KindOf(err) != errs.Timeout {
		t.Fatalf("the rotation should stop at verify: %v", err)
	}
	return w, o, j
}

func (w *fakeWorld) hook(_ context.Context, argv, _ []string, out io.Writer) error {
	w.hooks = append(w.hooks, argv)
	switch argv[0] {
	case "restart":
		return w.api.restart()
	case "fail":
		fmt.Fprintln(out, "  | rollout: deployment not found")
		return errs.Failedf("deploy command `fail` failed with exit status 3")
	}
	return nil // restarts nothing
}

func (w *fakeWorld) options() rotation.Options {
	treasury := w.treasury.Address()
	return rotation.Options{
		IO: ui.Test(strings.NewReader(""), &w.out, &w.err), Store: w.store, Chain: w.c,
		OpenSigner: func(_ context.Context, ref string) (txflow.Signer, error) {
			if ref != "test://treasury" {
				return nil, errs.Usagef("unknown signer %s", ref)
			}
			return w.treasury, nil
		},
		TreasuryRef: "test://treasury", Treasury: &treasury,
		Audit: w.log, LockDir: w.state, Profile: "local",
		Health: w.api, APIURL: "http://api.test", Hook: w.hook, DeployCmd: []string{"restart"},
		Dir: filepath.Join(w.state, "rotations"), Now: func() time.Time { return w.now }, Poll: time.Millisecond, WaitTimeout: 10 * time.Second,
		Advice: rotation.Advice{Resume: "RESUME", Rollback: "ROLLBACK", DiscardPending: "DISCARD", Restart: "RESTART",
			Drain: func(ref string) string { return "DRAIN " + ref }, Stuck: func(ref string) string { return "STUCK " + ref },
			Health: func(a common.Address) string { return "HEALTH " + a.Hex() }},
		Mode: rotation.Standard, Fund: new(big.Int).Div(ether(1), big.NewInt(10)), Yes: true,
		// The deploy commands are this world's hook's, not programs on PATH.
		FindProgram: func(name string) (string, error) {
			if name == "missing" {
				return "", errors.New("executable file not found in $PATH")
			}
			return "/hook/" + name, nil
		},
	}
}

// run runs a rotation; a checkpoint named kill stops it there as a SIGKILL would
// (nothing after it runs; the journal, the store and the chain stay as they are).
func (w *fakeWorld) run(o rotation.Options, kill string) (j *rotation.Journal, err error, killed bool) {
	type killedAt struct{}
	switch kill {
	case "":
	case "fund:broadcast", "drain:broadcast":
		// Right after the chain took the transaction, before its answer.
		sender := w.treasury.Address()
		if kill == "drain:broadcast" {
			sender = w.old
		}
		w.c.Broadcast = func(tx *types.Transaction) {
			if from, _ := types.Sender(types.LatestSignerForChainID(tx.ChainId()), tx); from == sender {
				panic(killedAt{})
			}
		}
		defer func() { w.c.Broadcast = nil }()
	default:
		o.Checkpoint = func(p string) {
			if p == kill {
				panic(killedAt{})
			}
		}
	}
	defer func() {
		if r := recover(); r != nil {
			if _, ok := r.(killedAt); !ok {
				panic(r)
			}
			killed = true
		}
	}()
	j, err = rotation.Run(context.Background(), o)
	return j, err, false
}

// pending puts a transfer signed by the store's current key in the pool, where it
// stays (a relay the old API has in flight, a thief's transfer).
func (w *fakeWorld) pending(to common.Address, value *big.Int) *types.Transaction {
	w.t.Helper()
	k, _, err := w.store.Read(context.Background(), "")
	if err != nil {
		w.t.Fatal(err)
	}
	s, _ := signer.New(k)
	tx, err := s.SignTx(types.NewTx(&types.DynamicFeeTx{ChainID: big.NewInt(fakeChainID), Nonce: w.c.Nonce(s.Address()), GasTipCap: big.NewInt(1e9),
		GasFeeCap: big.NewInt(3e9), Gas: 21000, To: &to, Value: value}), big.NewInt(fakeChainID))
	if err != nil {
		w.t.Fatal(err)
	}
	automine := w.c.Automine
	w.c.Automine = false
	defer func() { w.c.Automine = automine }()
	if err := w.c.Add(tx); err != nil {
		w.t.Fatal(err)
	}
	return tx
}

func (w *fakeWorld) current() common.Address {
	w.t.Helper()
	_, v, err := w.store.Read(context.Background(), "")
	if err != nil {
		w.t.Fatal(err)
	}
	return v.Address
}

func (w *fakeWorld) versions() []secrets.Version {
	w.t.Helper()
	vs, err := w.store.Versions(context.Background())
	if err != nil {
		w.t.Fatal(err)
	}
	return vs
}

func (w *fakeWorld) journalOnDisk() *rotation.Journal {
	w.t.Helper()
	j, err := rotation.LoadJournal(rotation.JournalPath(filepath.Join(w.state, "rotations"), w.store.Ref().String()))
	if err != nil {
		w.t.Fatal(err)
	}
	return j
}

// rotated checks a complete rotation's end state: the new key current and loaded
// by the API, funded exactly once, the old wallet drained exactly once.
func (w *fakeWorld) rotated(j *rotation.Journal, fund *big.Int) {
	w.t.Helper()
	if j == nil || j.Status != rotation.StatusComplete {
		w.t.Fatalf("journal %+v, want complete\n%s", j, w.err.String())
	}
	newAddr := common.HexToAddress(j.New.Address)
	if w.current() != newAddr || newAddr == w.old {
		w.t.Fatalf("current key %s, want the new %s", w.current().Hex(), newAddr.Hex())
	}
	if loaded, _ := w.api.state(); loaded != newAddr {
		w.t.Fatalf("the API runs on %s", loaded.Hex())
	}
	if got := w.c.Balance(newAddr); got.Cmp(fund) != 0 {
		w.t.Fatalf("the new wallet holds %s wei, want exactly %s (funded once)", got, fund)
	}
	if w.c.Balance(w.old).Sign() != 0 || w.c.Nonce(w.old) != 1 || w.c.Nonce(w.treasury.Address()) != 1 {
		w.t.Fatalf("old wallet %s wei after %d transactions, treasury sent %d: want 0 after one drain, one funding",
			w.c.Balance(w.old), w.c.Nonce(w.old), w.c.Nonce(w.treasury.Address()))
	}
	for _, st := range j.Steps {
		if st.Status != rotation.StatusDone {
			w.t.Fatalf("step %s is %s", st.Name, st.Status)
		}
	}
}

func (w *fakeWorld) keyOps() []string {
	w.t.Helper()
	es, err := w.log.Read()
	if err != nil {
		w.t.Fatal(err)
	}
	var ops []string
	for _, e := range es {
		if e.Store != "" {
			ops = append(ops, e.Command+" "+e.Outcome)
		}
	}
	return ops
}

func TestFakeStandardRotation(t *testing.T) {
	t.Parallel()
	w := newFakeWorld(t)
	o := w.options()
	j, err, _ := w.run(o, "")
	if err != nil {
		t.Fatalf("%v\n%s", err, w.err.String())
	}
	w.rotated(j, o.Fund)
	if _, restarts := w.api.state(); restarts != 1 || len(w.hooks) != 1 {
		t.Errorf("%d restarts, hooks %v", restarts, w.hooks)
	}
	if j.Drain.ExpectedLeftoverWei != "0" || j.Drain.ActualLeftoverWei != "0" || j.Drain.TxHash == "" {
		t.Errorf("drain %+v", j.Drain)
	}
	if got := w.keyOps(); !slices.Equal(got, []string{"key rotate (generate) done", "key rotate (promote) done", "key rotate (release) done"}) {
		t.Errorf("key operations in the audit log: %v", got)
	}
	// Every step is saved before it starts and after it ends: the journal on disk
	// is the one returned.
	if disk := w.journalOnDisk(); disk.Status != rotation.StatusComplete || disk.Drain.TxHash != j.Drain.TxHash {
		t.Errorf("journal on disk %+v", disk)
	}
}

// The plan reads everything before anything changes; a refusal leaves the store,
// the chain and the state directory as they were.
func TestFakeRefusalsChangeNothing(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name  string
		set   func(w *fakeWorld, o *rotation.Options)
		kind  errs.Kind
		words string
	}{
		{"treasury too poor", func(w *fakeWorld, o *rotation.Options) {
			w.c.SetBalance(w.treasury.Address(), ether(1))
			o.Fund = ether(2)
		},
			errs.Refused, "check(s) above failed: the rotation would not get through; nothing was changed"},
		{"above the funding limit", func(w *fakeWorld, o *rotation.Options) { o.FundingLimit = big.NewInt(1) },
			errs.Refused, "above the profile's funding limit"},
		{"treasury is not the profile's", func(w *fakeWorld, o *rotation.Options) { other := common.HexToAddress("0x01"); o.Treasury = &other },
			errs.Usage, "but the profile's treasury is"},
		{"treasury holds the relayer's key", func(w *fakeWorld, o *rotation.Options) {
			k, _, _ := w.store.Read(context.Background(), "")
			s, _ := signer.New(k)
			o.OpenSigner = func(context.Context, string) (txflow.Signer, error) { return s, nil }
			o.Treasury = nil
		}, errs.Usage, "holds the relayer's own key"},
		{"no API URL", func(w *fakeWorld, o *rotation.Options) { o.APIURL = "" }, errs.Usage, "no API URL"},
		{"a version, not the store", func(w *fakeWorld, o *rotation.Options) {
			s, _ := secrets.Open(context.Background(), "file://"+w.keyPath+"?stage=previous", secrets.Options{})
			o.Store = s
		}, errs.Usage, "names one version"},
		{"nothing to resume", func(w *fakeWorld, o *rotation.Options) { o.Resume = true }, errs.Failed, "nothing to resume"},
		{"nothing to roll back", func(w *fakeWorld, o *rotation.Options) { o.Rollback = true }, errs.Failed, "nothing to roll back"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			w := newFakeWorld(t)
			o := w.options()
			c.set(w, &o)
			_, err, _ := w.run(o, "")
			if errs.KindOf(err) != c.kind || !strings.Contains(err.Error(), c.words) {
				t.Fatalf("got %v (kind %d), want kind %d saying %q", err, errs.KindOf(err), c.kind, c.words)
			}
			if len(w.versions()) != 1 || w.c.Broadcasts() != 0 || w.journalOnDisk() != nil || len(w.hooks) != 0 {
				t.Fatalf("something changed: %d versions, %d transactions, journal %v, hooks %v", len(w.versions()), w.c.Broadcasts(), w.journalOnDisk(), w.hooks)
			}
		})
	}
}

// /health never reports the new key: the rotation stops at verify with a timeout,
// the old wallet untouched and the journal resumable; once the API is restarted,
// the resume finishes without redoing what was done.
func TestFakeVerifyTimesOutThenResumes(t *testing.T) {
	t.Parallel()
	w := newFakeWorld(t)
	o := w.options()
	o.DeployCmd, o.WaitTimeout = []string{"true"}, 20*time.Millisecond
	_, err, _ := w.run(o, "")
	if errs.KindOf(err) != errs.Timeout || !strings.Contains(err.Error(), "rotation stopped at step 5/7 verify") ||
		!strings.Contains(err.Error(), "still reports the old key "+w.old.Hex()) {
		t.Fatalf("got %v", err)
	}
	for _, want := range []string{"RESUME", "ROLLBACK", "`true` ran", "HEALTH "} {
		if !strings.Contains(errs.FixOf(err), want) {
			t.Errorf("fix %q lacks %q", errs.FixOf(err), want)
		}
	}
	j := w.journalOnDisk()
	if j.Status != rotation.StatusInProgress || j.Step(rotation.StepVerify).Status != rotation.StatusFailed || j.Step(rotation.StepDeploy).Status != rotation.StatusDone {
		t.Fatalf("journal %+v", j.Steps)
	}
	// The error (also the -o json error's message) names the step and the journal;
	// the next steps are its fix, said once — not also as "next:" lines.
	if !strings.Contains(err.Error(), "rotation stopped at step 5/7 verify (journal "+j.Path+")") {
		t.Errorf("the error does not name its journal %s: %v", j.Path, err)
	}
	if strings.Contains(w.err.String(), "next:") {
		t.Errorf("the next steps are said twice, as the fix and as next: lines:\n%s", w.err.String())
	}
	if w.c.Nonce(w.old) != 0 {
		t.Fatal("the old wallet was drained while the API might still use it")
	}
	if err := w.api.restart(); err != nil {
		t.Fatal(err)
	}
	o = w.options()
	o.Resume, o.DeployCmd, o.APIURL, o.TreasuryRef = true, nil, "", ""
	j, err, _ = w.run(o, "")
	if err != nil {
		t.Fatal(err)
	}
	w.rotated(j, new(big.Int).Div(ether(1), big.NewInt(10)))
	if j.Step(rotation.StepVerify).Attempts != 2 || j.Step(rotation.StepFund).Attempts != 1 || j.Step(rotation.StepDeploy).Attempts != 1 {
		t.Errorf("attempts: %+v", j.Steps)
	}
}

// A deploy command that fails stops the rotation at deploy (exit 1, its output
// shown); a resume with a working command finishes and the journal keeps it. With
// no command, the rotation says what to run and waits for /health.
func TestFakeDeployFailsOrIsManual(t *testing.T) {
	t.Parallel()
	w := newFakeWorld(t)
	o := w.options()
	o.DeployCmd = []string{"fail"}
	_, err, _ := w.run(o, "")
	if errs.KindOf(err) != errs.Failed || !strings.Contains(err.Error(), "step 4/7 deploy") || !strings.Contains(w.err.String(), "  | rollout: deployment not found") {
		t.Fatalf("got %v\n%s", err, w.err.String())
	}
	if _, restarts := w.api.state(); restarts != 0 || w.c.Nonce(w.old) != 0 {
		t.Fatal("something ran after the failed deploy")
	}
	o = w.options()
	o.Resume, o.TreasuryRef = true, ""
	j, err, _ := w.run(o, "")
	if err != nil {
		t.Fatal(err)
	}
	w.rotated(j, o.Fund)
	if strings.Join(j.DeployCmd, " ") != "restart" {
		t.Errorf("the journal keeps %v, not the command that ran", j.DeployCmd)
	}

	// Manual: the operator restarts the API while the rotation waits.
	m := newFakeWorld(t)
	o = m.options()
	o.DeployCmd = nil
	o.Hook = nil
	go func() {
		for {
			if _, v, err := m.store.Read(context.Background(), ""); err == nil && v.Address != m.old {
				_ = m.api.restart()
				return
			}
			time.Sleep(time.Millisecond)
		}
	}()
	j, err, _ = m.run(o, "")
	if err != nil {
		t.Fatal(err)
	}
	m.rotated(j, o.Fund)
	if !strings.Contains(m.err.String(), "restart the API now") || !strings.Contains(m.err.String(), "RESTART") {
		t.Errorf("the rotation did not say what to run:\n%s", m.err.String())
	}
}

// A pending version no rotation claims (key generate, a write by hand) is never
// taken over nor overwritten: the rotation refuses, naming it, until it is
// discarded — DiscardPending clears it first.
func TestFakeLeftoverPendingVersion(t *testing.T) {
	t.Parallel()
	w := newFakeWorld(t)
	k, _ := secrets.Generate()
	if _, err := w.store.WritePending(context.Background(), k); err != nil {
		t.Fatal(err)
	}
	leftover := k.Address()
	_, err, _ := w.run(w.options(), "")
	if errs.KindOf(err) != errs.Refused || !errors.Is(err, secrets.ErrClaimed) || !strings.Contains(err.Error(), leftover.Hex()) ||
		!strings.Contains(err.Error(), "will not overwrite") || !strings.Contains(errs.FixOf(err), "DISCARD") {
		t.Fatalf("a leftover: %v (%s)", err, errs.FixOf(err))
	}
	if len(w.versions()) != 2 || w.journalOnDisk() != nil || w.c.Broadcasts() != 0 {
		t.Fatal("the refusal changed something")
	}
	// Resume and rollback have nothing to work on either.
	for _, set := range []func(*rotation.Options){func(o *rotation.Options) { o.Resume = true }, func(o *rotation.Options) { o.Rollback = true }} {
		o := w.options()
		set(&o)
		if _, err, _ := w.run(o, ""); errs.KindOf(err) != errs.Refused || !strings.Contains(errs.FixOf(err), "DISCARD") {
			t.Fatalf("resume/rollback over a leftover: %v", err)
		}
	}
	o := w.options()
	o.DiscardPending = true
	j, err, _ := w.run(o, "")
	if err != nil {
		t.Fatal(err)
	}
	if common.HexToAddress(j.New.Address) == leftover {
		t.Fatal("the discarded leftover was used")
	}
	w.rotated(j, o.Fund)
	if got := w.keyOps(); !slices.Equal(got, []string{"key rotate (discard-pending) done", "key rotate (generate) done", "key rotate (promote) done", "key rotate (release) done"}) {
		t.Errorf("key operations: %v", got)
	}
}

// A rotation in progress refuses a second one; resuming a complete one says so.
func TestFakeSecondRotationAndResumeOfAFinishedOne(t *testing.T) {
	t.Parallel()
	w, _, _ := stoppedAtVerify(t)
	_, err, _ := w.run(w.options(), "")
	if errs.KindOf(err) != errs.Refused || !strings.Contains(err.Error(), "is in progress") || !strings.Contains(errs.FixOf(err), "RESUME") {
		t.Fatalf("second: %v", err)
	}
	if len(w.versions()) != 2 {
		t.Fatalf("%d versions: the refused rotation wrote a key", len(w.versions()))
	}
	_ = w.api.restart()
	o := w.options()
	o.Resume, o.TreasuryRef = true, ""
	if _, err, _ := w.run(o, ""); err != nil {
		t.Fatal(err)
	}
	j, err, _ := w.run(o, "")
	if err != nil || j.Status != rotation.StatusComplete || !strings.Contains(w.err.String(), "nothing to resume") {
		t.Fatalf("resume of a finished rotation: %v %v", j, err)
	}
	// A new rotation archives the finished journal and retires the key it made.
	j2, err, _ := w.run(w.options(), "")
	if err != nil || j2.Old.Address != j.New.Address {
		t.Fatalf("next rotation: %v, old %s want %s", err, j2.Old.Address, j.New.Address)
	}
	if archived, _ := filepath.Glob(filepath.Join(w.state, "rotations", "*.complete.json")); len(archived) != 1 {
		t.Errorf("archived journals %v", archived)
	}
}

// Rollback: after the promote the previous key is current again and the API is
// restarted onto it, with the new wallet's return as a next step; before the promote
// the pending key is discarded; once the drain has started it is refused; without
// --yes and no terminal it is refused.
func TestFakeRollback(t *testing.T) {
	t.Parallel()
	t.Run("after the promote", func(t *testing.T) {
		t.Parallel()
		w, _, _ := stoppedAtVerify(t)
		o := w.options()
		o.Rollback, o.Yes = true, false
		if _, err, _ := w.run(o, ""); errs.KindOf(err) != errs.Refused || !strings.Contains(err.Error(), "not confirmed") {
			t.Fatalf("unconfirmed rollback: %v", err)
		}
		o.Yes = true
		j, err, _ := w.run(o, "")
		if err != nil {
			t.Fatal(err)
		}
		if loaded, _ := w.api.state(); j.Status != rotation.StatusRolledBack || w.current() != w.old || loaded != w.old {
			t.Fatalf("status %s, current %s, API on %s; want the old %s", j.Status, w.current().Hex(), loaded.Hex(), w.old.Hex())
		}
		if !strings.Contains(strings.Join(j.Next, "\n"), "DRAIN "+j.New.Ref) {
			t.Errorf("next steps %v do not say how to return the new wallet's funds", j.Next)
		}
		if got := w.keyOps(); !slices.Equal(got, []string{"key rotate (generate) done", "key rotate (promote) done", "key rotate (rollback) done", "key rotate (release) done"}) {
			t.Errorf("key operations: %v", got)
		}
	})
	t.Run("before the promote", func(t *testing.T) {
		t.Parallel()
		w := newFakeWorld(t)
		if _, err, killed := w.run(w.options(), "fund:done"); !killed {
			t.Fatalf("not killed: %v\n%s", err, w.err.String())
		}
		o := w.options()
		o.Rollback = true
		if _, err, _ := w.run(o, ""); err != nil {
			t.Fatal(err)
		}
		for _, v := range w.versions() {
			if v.Has(secrets.StagePending) {
				t.Fatalf("a pending version is left: %+v", v)
			}
		}
		if w.current() != w.old {
			t.Fatal("the current key changed")
		}
	})
	t.Run("dry run", func(t *testing.T) {
		t.Parallel()
		w := newFakeWorld(t)
		if _, _, killed := w.run(w.options(), "promote:done"); !killed {
			t.Fatal("not killed")
		}
		o := w.options()
		o.Rollback, o.DryRun = true, true
		if _, err, _ := w.run(o, ""); err != nil || w.current() == w.old {
			t.Fatalf("a dry-run rollback: %v, current %s", err, w.current().Hex())
		}
	})
	t.Run("refused once the drain started", func(t *testing.T) {
		t.Parallel()
		w := newFakeWorld(t)
		if _, _, killed := w.run(w.options(), "drain:started"); !killed {
			t.Fatal("not killed")
		}
		o := w.options()
		o.Rollback = true
		if _, err, _ := w.run(o, ""); errs.KindOf(err) != errs.Refused || !strings.Contains(err.Error(), "draining") {
			t.Fatalf("rollback after the drain started: %v", err)
		}
		o.Rollback, o.Resume, o.TreasuryRef = false, true, ""
		j, err, _ := w.run(o, "")
		if err != nil {
			t.Fatal(err)
		}
		w.rotated(j, o.Fund)
	})
}

// The dry run signs and simulates the funding (to a throwaway address) and the
// drain, and changes nothing.
func TestFakeDryRun(t *testing.T) {
	t.Parallel()
	w := newFakeWorld(t)
	o := w.options()
	o.DryRun = true
	j, err, _ := w.run(o, "")
	if err != nil {
		t.Fatal(err)
	}
	if j.Status != rotation.StatusDryRun || len(j.Transactions) != 2 || !j.Transactions[0].DryRun || j.Transactions[0].ValueWei != o.Fund.String() ||
		j.Transactions[1].From != w.old.Hex() || j.Transactions[1].To != w.treasury.Address().Hex() {
		t.Fatalf("dry-run journal %+v", j)
	}
	if !strings.Contains(w.err.String(), "throwaway address") || !strings.Contains(w.err.String(), "were not changed") {
		t.Errorf("stderr:\n%s", w.err.String())
	}
	if len(w.versions()) != 1 || w.c.Broadcasts() != 0 || w.journalOnDisk() != nil || len(w.hooks) != 0 {
		t.Fatal("the dry run changed something")
	}
	// An old wallet too poor to drain is said, not refused.
	w.c.SetBalance(w.old, big.NewInt(1000))
	if _, err, _ := w.run(o, ""); err != nil || !strings.Contains(w.err.String(), "holds too little to drain") {
		t.Fatalf("dust: %v\n%s", err, w.err.String())
	}
}

// MinAge: a key younger than it is not rotated (not-due, nothing changed); an older
// one is.
func TestFakeMinAge(t *testing.T) {
	t.Parallel()
	w := newFakeWorld(t)
	created := time.Now()
	if err := os.Chtimes(w.keyPath, created, created); err != nil {
		t.Fatal(err)
	}
	w.now = created.Add(29 * 24 * time.Hour)
	o := w.options()
	o.MinAge = 30 * 24 * time.Hour
	j, err, _ := w.run(o, "")
	if err != nil || j.Status != rotation.StatusNotDue || len(j.Next) != 1 || !strings.Contains(j.Next[0], "due for rotation after") {
		t.Fatalf("a 29-day-old key: %v %+v", err, j)
	}
	if len(w.versions()) != 1 || w.journalOnDisk() != nil || w.c.Broadcasts() != 0 {
		t.Fatal("a not-due run changed something")
	}
	w.now = created.Add(31 * 24 * time.Hour)
	j, err, _ = w.run(o, "")
	if err != nil {
		t.Fatal(err)
	}
	w.rotated(j, o.Fund)
}

// An emergency generates and promotes at once, drains the old wallet first —
// replacing what it has pending — then funds, restarts and verifies.
func TestFakeEmergencyDrainsFirst(t *testing.T) {
	t.Parallel()
	w := newFakeWorld(t)
	// The old key signed a transfer out that is still pending.
	thief := common.HexToAddress("0x000000000000000000000000000000000000dEaD")
	stolen := w.pending(thief, big.NewInt(5e17))
	var order []string
	o := w.options()
	o.Mode = rotation.Emergency
	o.Checkpoint = func(p string) {
		if strings.HasSuffix(p, ":done") {
			order = append(order, strings.TrimSuffix(p, ":done"))
		}
	}
	j, err := rotation.Run(context.Background(), o)
	if err != nil {
		t.Fatalf("%v\n%s", err, w.err.String())
	}
	if !slices.Equal(order, rotation.Steps(rotation.Emergency)) || order[2] != rotation.StepDrain {
		t.Errorf("steps ran in the order %v", order)
	}
	if w.c.Balance(thief).Sign() != 0 || j.Drain.ReplacedTx != stolen.Hash().Hex() || *j.Drain.ReplacedNonce != 0 {
		t.Errorf("thief got %s wei; drain %+v", w.c.Balance(thief), j.Drain)
	}
	if len(j.Next) != len(rotation.FollowUps) {
		t.Errorf("follow-ups %v", j.Next)
	}
}

// Settle waits for the old address's pending transactions (a relay the old API
// still has in flight) before the drain prices the balance; if they never clear,
// it stops with the caller's advice.
func TestFakeSettleWaitsForPendingRelays(t *testing.T) {
	t.Parallel()
	w := newFakeWorld(t)
	o := w.options()
	o.Checkpoint = func(p string) {
		if p == "fund:done" {
			// The old API's last relay, still pending (signed with the store's
			// current key: the old one, before the promote).
			w.pending(common.HexToAddress("0x02"), big.NewInt(1e15))
		}
	}
	w.c.OnAccount = func(s *chain.AccountState) {
		if s.Address == w.old && s.Waiting() > 0 {
			w.c.Mine()
		}
	}
	j, err := rotation.Run(context.Background(), o)
	if err != nil {
		t.Fatalf("%v\n%s", err, w.err.String())
	}
	if !strings.Contains(w.err.String(), "1 pending transaction(s)") || w.c.Nonce(w.old) != 2 || w.c.Balance(w.old).Sign() != 0 {
		t.Fatalf("settle: nonce %d, left %s\n%s", w.c.Nonce(w.old), w.c.Balance(w.old), w.err.String())
	}
	if j.Status != rotation.StatusComplete {
		t.Fatalf("status %s", j.Status)
	}

	// Never clears: the step stops with a timeout and the caller's advice.
	w2 := newFakeWorld(t)
	o = w2.options()
	o.Checkpoint = func(p string) {
		if p == "fund:done" {
			w2.pending(common.HexToAddress("0x02"), big.NewInt(1e15))
		}
	}
	// The wait ends as it sees the pending relay, however loaded the machine.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w2.c.OnAccount = func(s *chain.AccountState) {
		if s.Address == w2.old && s.Waiting() > 0 {
			cancel()
		}
	}
	_, err = rotation.Run(ctx, o)
	if errs.KindOf(err) != errs.Timeout || !errors.Is(err, txflow.ErrStillPending) || !strings.Contains(errs.FixOf(err), "STUCK "+w2.journalOnDisk().Old.Ref) {
		t.Fatalf("never settles: %v (%s)", err, errs.FixOf(err))
	}
}

// Killed at any step boundary, between journaling a transaction and broadcasting
// it, or right after the chain took it, a rotation resumes where it stopped: the new key funded once,
// the old wallet drained once, no second new key.
func TestFakeKillAnywhereThenResume(t *testing.T) {
	t.Parallel()
	killAnywhere(t, func(t *testing.T, w *fakeWorld, o rotation.Options, p string) {
		ro := w.options()
		ro.Resume, ro.TreasuryRef = true, ""
		j, err, _ := w.run(ro, "")
		if err != nil {
			t.Fatalf("resume after %s: %v\n%s", p, err, w.err.String())
		}
		w.rotated(j, o.Fund)
		if n := len(w.versions()); n != 2 {
			t.Fatalf("%d versions after a resume, want 2 (one new key)", n)
		}
	})
}

// killAnywhere kills a rotation of each mode at each point it can stop at — every
// step boundary, between journaling a transaction and broadcasting it, right after
// the chain took it — each in a parallel subtest of its own, then hands the world
// and the killed run's options to then.
func killAnywhere(t *testing.T, then func(t *testing.T, w *fakeWorld, o rotation.Options, p string)) {
	var points []string
	for _, st := range rotation.Steps(rotation.Standard) {
		points = append(points, st+":started", st+":finished", st+":done")
	}
	points = append(points, "promote:promoted", "fund:signed", "fund:broadcast", "drain:signed", "drain:broadcast")
	for _, mode := range []string{rotation.Standard, rotation.Emergency} {
		for _, p := range points {
			if !slices.Contains(rotation.Steps(mode), p[:strings.Index(p, ":")]) {
				continue
			}
			t.Run(mode+"/"+p, func(t *testing.T) {
				t.Parallel()
				w := newFakeWorld(t)
				o := w.options()
				o.Mode = mode
				_, err, killed := w.run(o, p)
				if !killed {
					t.Fatalf("not killed at %s: %v", p, err)
				}
				then(t, w, o, p)
			})
		}
	}
}
