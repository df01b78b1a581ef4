package key_test

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/vrwx/vrwxctl/pkg/cli/clitest"
	"github.com/vrwx/vrwxctl/pkg/devchain"
	"github.com/vrwx/vrwxctl/pkg/rotation"
	"github.com/vrwx/vrwxctl/pkg/secrets"
)

// storeVersions lists the store's versions as `key versions -o json` does.
func storeVersions(t *testing.T, e *clitest.Env, ref string) []struct {
	ID      string   `json:"id"`
	Stages  []string `json:"stages"`
	Address string   `json:"address"`
} {
	t.Helper()
	r := e.Exec("key", "versions", "--store", ref, "-o", "json")
	if r.Code != 0 {
		t.Fatalf("key versions:\n%s", r)
	}
	var vs []struct {
		ID      string   `json:"id"`
		Stages  []string `json:"stages"`
		Address string   `json:"address"`
	}
	r.JSON(t, &vs)
	return vs
}

// activeJournal is the journal of w's store, read from disk.
func (w *world) activeJournal() *rotation.Journal {
	w.t.Helper()
	ref, err := secrets.ParseRef(w.ref)
	if err != nil {
		w.t.Fatal(err)
	}
	j, err := rotation.LoadJournal(rotation.JournalPath(w.e.Vars["XDG_STATE_HOME"]+"/vrwxctl/rotations", ref.String()))
	if err != nil {
		w.t.Fatal(err)
	}
	return j
}

// A treasury that cannot pay the funding stops the rotation before anything
// changes: exit 3, the store as it was, no transaction, no journal.
func TestRotateTreasuryTooPoor(t *testing.T) {
	e := clitest.NewChain(t)
	w := newWorld(t, e, "file")
	poor := newKey(t)
	poorAddr := crypto.PubkeyToAddress(poor.PublicKey)
	w.setBalance(poorAddr, ether(5, 100))
	e.Vars["POOR_TREASURY_KEY"] = keyHex(poor)
	before := storeVersions(t, e, w.ref)
	// The profile's treasury is another address: this one is allowed by naming it.
	e.WriteConfig("profiles:\n  local:\n    treasury: \"" + poorAddr.Hex() + "\"\n")
	r := e.Exec("key", "rotate", "--store", w.ref, "--treasury-signer", "env://POOR_TREASURY_KEY", "--api-url", w.api.URL,
		"--fund", "0.1ether", "--deploy-cmd", w.api.DeployCmd(), "--yes")
	if r.Code != 3 || !strings.Contains(r.Stderr, "cannot fund the new relayer") || !strings.Contains(r.Stderr, "nothing was changed") {
		t.Fatalf("want exit 3, the treasury too poor:\n%s", r)
	}
	if after := storeVersions(t, e, w.ref); len(after) != len(before) || len(after) != 1 {
		t.Fatalf("versions before %v, after %v", before, after)
	}
	if w.nonce(poorAddr) != 0 || w.balance(w.old).Cmp(ether(1, 1)) != 0 || w.api.Restarts() != 0 {
		t.Fatalf("something was sent or restarted")
	}
	if w.activeJournal() != nil {
		t.Fatalf("a journal was written for a rotation that never started")
	}
}

// /health never reports the new key (the deploy command restarts nothing): the
// rotation waits --wait-timeout, exits 4 with the next steps and a resumable
// journal; once the API is restarted, --resume finishes it.
func TestRotateHealthNeverFlips(t *testing.T) {
	e := clitest.NewChain(t)
	w := newWorld(t, e, "file")
	start := time.Now()
	r := e.Exec(w.rotateArgs("--deploy-cmd", "true", "--wait-timeout", "3s")...)
	if r.Code != 4 {
		t.Fatalf("want exit 4 (timed out):\n%s", r)
	}
	if time.Since(start) > 60*time.Second {
		t.Fatalf("the wait was not bounded by --wait-timeout")
	}
	for _, want := range []string{"still reports the old key " + w.old.Hex(), "did not report the new relayer", "restart the API", "--resume", "--rollback", "journal"} {
		if !strings.Contains(r.Stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.Stderr)
		}
	}
	var ej struct {
		Error struct {
			Code int    `json:"code"`
			Fix  string `json:"fix"`
		} `json:"error"`
	}
	r.JSON(t, &ej)
	if ej.Error.Code != 4 || !strings.Contains(ej.Error.Fix, "--resume") {
		t.Fatalf("-o json error %+v", ej)
	}
	j := w.activeJournal()
	if j == nil || j.Status != rotation.StatusInProgress || j.Step(rotation.StepVerify).Status != rotation.StatusFailed ||
		j.Step(rotation.StepDeploy).Status != rotation.StatusDone || len(j.Next) == 0 {
		t.Fatalf("journal %+v", j)
	}
	// The old wallet was not touched while the API might still use it.
	if w.nonce(w.old) != 0 || w.balance(w.old).Cmp(ether(1, 1)) != 0 {
		t.Fatalf("the old wallet was drained before /health reported the new key")
	}
	w.api.Restart(t)
	r = e.Exec("key", "rotate", "--store", w.ref, "--resume", "--yes", "-o", "json")
	if r.Code != 0 {
		t.Fatalf("resume:\n%s", r)
	}
	jj := journal(t, r)
	w.checkRotated(jj, ether(1, 10))
	if jj.Step(rotation.StepVerify).Attempts != 2 || jj.Step(rotation.StepFund).Attempts != 1 {
		t.Fatalf("steps %+v", jj.Steps)
	}
}

// Without --deploy-cmd the rotation says what to run and waits for /health; the
// operator restarts the API and the rotation goes on by itself.
func TestRotateWaitsForAManualRestart(t *testing.T) {
	e := clitest.NewChain(t)
	w := newWorld(t, e, "vault")
	p := e.Start(w.rotateArgs()...)
	// The API is restarted by hand once the new key is current.
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if cur, err := w.current(); err == nil && cur != w.old {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	w.api.Restart(t)
	r := p.Wait()
	if r.Code != 0 {
		t.Fatalf("rotate:\n%s", r)
	}
	if !strings.Contains(r.Stderr, "restart the API now") || !strings.Contains(r.Stderr, "kubectl rollout restart deployment/vrwx-api") {
		t.Fatalf("the rotation did not say what to run:\n%s", r.Stderr)
	}
	w.checkRotated(journal(t, r), ether(1, 10))
}

// A deploy command that fails stops the rotation (exit 1) with its output shown
// and its status named; the journal is resumable, and --resume with a working
// command finishes.
func TestRotateDeployHookFails(t *testing.T) {
	e := clitest.NewChain(t)
	w := newWorld(t, e, "aws-sm")
	r := e.Exec(w.rotateArgs("--deploy-cmd", `sh -c 'echo "rollout: deployment not found" >&2; exit 3'`)...)
	if r.Code != 1 {
		t.Fatalf("want exit 1:\n%s", r)
	}
	for _, want := range []string{"  | rollout: deployment not found", "exit status 3", "step 4/7 deploy", "--resume"} {
		if !strings.Contains(r.Stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.Stderr)
		}
	}
	j := w.activeJournal()
	if j.Step(rotation.StepDeploy).Status != rotation.StatusFailed || j.Step(rotation.StepPromote).Status != rotation.StatusDone {
		t.Fatalf("journal steps %+v", j.Steps)
	}
	if w.api.Restarts() != 0 || w.nonce(w.old) != 0 {
		t.Fatalf("nothing should have happened after the failed deploy")
	}
	r = e.Exec("key", "rotate", "--store", w.ref, "--resume", "--deploy-cmd", w.api.DeployCmd(), "--yes", "-o", "json")
	if r.Code != 0 {
		t.Fatalf("resume:\n%s", r)
	}
	jj := journal(t, r)
	w.checkRotated(jj, ether(1, 10))
	if strings.Join(jj.DeployCmd, " ") != w.api.DeployCmd() {
		t.Fatalf("the journal keeps the command that ran: %v", jj.DeployCmd)
	}
}

// The deploy command is split like a shell splits words and run without one:
// nothing is expanded, and shell operators are refused before anything changes.
func TestRotateDeployCommandIsNotAShell(t *testing.T) {
	e := clitest.NewChain(t)
	w := newWorld(t, e, "file")
	for _, c := range []struct{ cmd, want string }{
		{"kubectl rollout restart deployment/vrwx-api && echo done", "`&&`"},
		{"echo $(cat /etc/passwd)", "`$(`"},
		{"touch 'unclosed", "single quote is not closed"},
		{"no-such-program-vrwx --flag", "not a program on PATH"},
	} {
		r := e.Exec(w.rotateArgs("--deploy-cmd", c.cmd)...)
		if r.Code != 2 || !strings.Contains(r.Stderr, c.want) {
			t.Fatalf("--deploy-cmd %q: want exit 2 mentioning %q:\n%s", c.cmd, c.want, r)
		}
	}
	// $HOME is passed as the four characters, not the directory.
	out := w.api.Marker + "-$HOME"
	r := e.Exec(w.rotateArgs("--deploy-cmd", "touch "+w.api.Marker+" '"+out+"'")...)
	if r.Code != 0 {
		t.Fatalf("rotate:\n%s", r)
	}
	if _, err := os.Stat(out); err != nil {
		t.Fatalf("the literal file %s was not created: %v", out, err)
	}
	if len(storeVersions(t, e, w.ref)) != 2 {
		t.Fatalf("versions after one rotation")
	}
	w.checkRotated(journal(t, r), ether(1, 10))
}

// A pending version an abandoned rotation left: taken over when its address is
// new and unfunded; refused (exit 3) when it holds funds, until --discard-pending
// clears it — never overwritten.
func TestRotateLeftoverPendingVersion(t *testing.T) {
	e := clitest.NewChain(t)

	t.Run("fresh is resumed", func(t *testing.T) {
		w := newWorld(t, e, "aws-sm")
		r := e.Exec("key", "generate", "--store", w.ref)
		if r.Code != 0 {
			t.Fatalf("generate:\n%s", r)
		}
		w.register()
		leftover := strings.TrimSpace(r.Stdout)
		r = e.Exec(w.rotateArgs("--deploy-cmd", w.api.DeployCmd())...)
		if r.Code != 0 {
			t.Fatalf("rotate:\n%s", r)
		}
		j := journal(t, r)
		if j.New.Address != leftover || !strings.Contains(r.Stderr, "abandoned rotation: new and unfunded") {
			t.Fatalf("new key %s, want the leftover %s taken over:\n%s", j.New.Address, leftover, r.Stderr)
		}
		w.checkRotated(j, ether(1, 10))
		if n := len(storeVersions(t, e, w.ref)); n != 2 {
			t.Fatalf("%d versions, want 2 (no second new key)", n)
		}
	})

	t.Run("funded is refused, then discarded", func(t *testing.T) {
		w := newWorld(t, e, "vault")
		r := e.Exec("key", "generate", "--store", w.ref)
		if r.Code != 0 {
			t.Fatalf("generate:\n%s", r)
		}
		w.register()
		leftover := common.HexToAddress(strings.TrimSpace(r.Stdout))
		w.setBalance(leftover, ether(1, 100))
		r = e.Exec(w.rotateArgs("--deploy-cmd", w.api.DeployCmd())...)
		if r.Code != 3 || !strings.Contains(r.Stderr, leftover.Hex()) || !strings.Contains(r.Stderr, "--discard-pending") || !strings.Contains(r.Stderr, "will not overwrite") {
			t.Fatalf("want exit 3 naming the leftover:\n%s", r)
		}
		if vs := storeVersions(t, e, w.ref); len(vs) != 2 {
			t.Fatalf("versions %v", vs)
		}
		r = e.Exec(w.rotateArgs("--deploy-cmd", w.api.DeployCmd(), "--discard-pending")...)
		if r.Code != 0 {
			t.Fatalf("rotate --discard-pending:\n%s", r)
		}
		j := journal(t, r)
		if common.HexToAddress(j.New.Address) == leftover {
			t.Fatalf("the discarded leftover was used")
		}
		w.checkRotated(j, ether(1, 10))
		// The leftover is kept in the store's history, no longer pending; its funds
		// are untouched.
		vs := storeVersions(t, e, w.ref)
		for _, v := range vs {
			if common.HexToAddress(v.Address) == leftover && len(v.Stages) != 0 {
				t.Fatalf("the leftover still has stages %v", v.Stages)
			}
		}
		if len(vs) != 3 || w.balance(leftover).Cmp(ether(1, 100)) != 0 {
			t.Fatalf("versions %v", vs)
		}
	})
}

// While a rotation of a store is in progress, a second is refused: by the journal
// (a rotation that stopped) and by the lock (one that is running).
func TestRotateSecondRotationIsRefused(t *testing.T) {
	e := clitest.NewChain(t)
	w := newWorld(t, e, "file")

	// Running: the first waits in its deploy command.
	first := e.Start(w.rotateArgs("--deploy-cmd", "sleep 3", "--wait-timeout", "5s")...)
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if j := w.activeJournal(); j != nil && j.Step(rotation.StepDeploy).Status == rotation.StatusStarted {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	r := e.Exec(w.rotateArgs("--deploy-cmd", w.api.DeployCmd())...)
	if r.Code != 3 || !strings.Contains(r.Stderr, "is rotating") || !strings.Contains(r.Stderr, "pid") {
		t.Fatalf("a second rotation while the first runs: want exit 3:\n%s", r)
	}
	r = e.Exec("key", "rotate", "--store", w.ref, "--resume", "--yes")
	if r.Code != 3 {
		t.Fatalf("a resume while the first runs: want exit 3:\n%s", r)
	}
	if fr := first.Wait(); fr.Code != 4 {
		// `sleep 3` restarts nothing, so the first times out waiting for /health.
		t.Fatalf("first rotation:\n%s", fr)
	}

	// Stopped: the journal says in progress.
	r = e.Exec(w.rotateArgs("--deploy-cmd", w.api.DeployCmd())...)
	if r.Code != 3 || !strings.Contains(r.Stderr, "in progress") || !strings.Contains(r.Stderr, "--resume") {
		t.Fatalf("a new rotation while one is in progress: want exit 3:\n%s", r)
	}
	if n := len(storeVersions(t, e, w.ref)); n != 2 {
		t.Fatalf("%d versions: the refused rotation wrote a key", n)
	}
	w.api.Restart(t)
	r = e.Exec("key", "rotate", "--store", w.ref, "--resume", "--yes", "-o", "json")
	if r.Code != 0 {
		t.Fatalf("resume:\n%s", r)
	}
	w.checkRotated(journal(t, r), ether(1, 10))
}

// --rollback before the drain makes the previous key current again (and runs the
// deploy command so the API follows); before the promote it discards the pending
// key; once the drain has started it is refused.
func TestRotateRollback(t *testing.T) {
	e := clitest.NewChain(t)
	e.TestHooks = true // the kills below stop the binary at a checkpoint

	t.Run("after the promote", func(t *testing.T) {
		w := newWorld(t, e, "aws-sm")
		r := e.Exec(w.rotateArgs("--deploy-cmd", w.api.DeployCmd()+"-elsewhere", "--wait-timeout", "2s")...)
		if r.Code != 4 {
			t.Fatalf("want the rotation stopped at verify:\n%s", r)
		}
		j := w.activeJournal()
		if cur, _ := w.current(); cur.Hex() != j.New.Address {
			t.Fatalf("the new key should be current before the rollback")
		}
		if r := e.Exec("key", "rotate", "--store", w.ref, "--rollback"); r.Code != 3 {
			t.Fatalf("rollback without --yes and no terminal: want exit 3:\n%s", r)
		}
		r = e.Exec("key", "rotate", "--store", w.ref, "--rollback", "--deploy-cmd", w.api.DeployCmd(), "--yes", "-o", "json")
		if r.Code != 0 {
			t.Fatalf("rollback:\n%s", r)
		}
		w.register()
		jj := journal(t, r)
		if cur, _ := w.current(); cur != w.old || jj.Status != rotation.StatusRolledBack {
			t.Fatalf("after the rollback the current key is %s (journal %s), want the old %s", cur.Hex(), jj.Status, w.old.Hex())
		}
		if w.api.Loaded() != w.old {
			t.Fatalf("the API was not restarted onto the old key")
		}
		// The new wallet was funded: the journal says how to return it, naming the
		// new key by its version.
		if !strings.Contains(strings.Join(jj.Next, "\n"), "wallet drain --signer "+jj.New.Ref) {
			t.Fatalf("next steps %v", jj.Next)
		}
		r = e.Exec("wallet", "drain", "--signer", jj.New.Ref, "--yes")
		if r.Code != 0 || w.balance(common.HexToAddress(jj.New.Address)).Sign() != 0 {
			t.Fatalf("draining the rolled-back key by its version reference:\n%s", r)
		}
		// A new rotation may start now.
		r = e.Exec(w.rotateArgs("--deploy-cmd", w.api.DeployCmd())...)
		if r.Code != 0 {
			t.Fatalf("rotation after a rollback:\n%s", r)
		}
		w.checkRotated(journal(t, r), ether(1, 10))
	})

	t.Run("before the promote", func(t *testing.T) {
		w := newWorld(t, e, "file")
		e.Vars[clitest.KillAtEnv] = "fund:done"
		r := e.Exec(w.rotateArgs("--deploy-cmd", w.api.DeployCmd())...)
		delete(e.Vars, clitest.KillAtEnv)
		if r.Code != -1 {
			t.Fatalf("want killed:\n%s", r)
		}
		w.register()
		r = e.Exec("key", "rotate", "--store", w.ref, "--rollback", "--yes")
		if r.Code != 0 || strings.TrimSpace(r.Stdout) != w.old.Hex() {
			t.Fatalf("rollback:\n%s", r)
		}
		for _, v := range storeVersions(t, e, w.ref) {
			if strings.Contains(strings.Join(v.Stages, ","), "pending") {
				t.Fatalf("a pending version is left: %+v", v)
			}
		}
	})

	t.Run("refused once the drain started", func(t *testing.T) {
		w := newWorld(t, e, "file")
		e.Vars[clitest.KillAtEnv] = "drain:started"
		r := e.Exec(w.rotateArgs("--deploy-cmd", w.api.DeployCmd())...)
		delete(e.Vars, clitest.KillAtEnv)
		if r.Code != -1 {
			t.Fatalf("want killed:\n%s", r)
		}
		w.register()
		r = e.Exec("key", "rotate", "--store", w.ref, "--rollback", "--yes")
		if r.Code != 3 || !strings.Contains(r.Stderr, "draining") {
			t.Fatalf("want exit 3:\n%s", r)
		}
		r = e.Exec("key", "rotate", "--store", w.ref, "--resume", "--yes", "-o", "json")
		if r.Code != 0 {
			t.Fatalf("resume:\n%s", r)
		}
		w.checkRotated(journal(t, r), ether(1, 10))
	})
}

// --dry-run prints the plan and the two transactions it would send (signed and
// simulated), and changes nothing: no version, no transaction, no journal.
func TestRotateDryRun(t *testing.T) {
	e := clitest.NewChain(t)
	w := newWorld(t, e, "vault")
	treasury := devchain.DevAddress(devchain.AccountTreasury)
	n0 := w.nonce(treasury)
	r := e.Exec(append(w.rotateArgs("--deploy-cmd", w.api.DeployCmd()), "--dry-run")...)
	if r.Code != 0 {
		t.Fatalf("dry run:\n%s", r)
	}
	var j rotation.Journal
	if err := json.Unmarshal([]byte(r.Stdout), &j); err != nil {
		t.Fatal(err)
	}
	if j.Status != rotation.StatusDryRun || len(j.Transactions) != 2 || j.Transactions[0].Call == "" || !j.Transactions[1].DryRun {
		t.Fatalf("dry-run journal %+v", j)
	}
	if j.Transactions[0].ValueWei != ether(1, 10).String() || j.Transactions[1].From != w.old.Hex() || j.Transactions[1].To != treasury.Hex() {
		t.Fatalf("transactions %+v %+v", j.Transactions[0], j.Transactions[1])
	}
	for _, want := range []string{"Key rotation plan", "throwaway address", "nothing was sent", "were not changed"} {
		if !strings.Contains(r.Stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.Stderr)
		}
	}
	if len(storeVersions(t, e, w.ref)) != 1 || w.nonce(treasury) != n0 || w.nonce(w.old) != 0 || w.activeJournal() != nil || w.api.Restarts() != 0 {
		t.Fatalf("the dry run changed something")
	}
}

// --if-older-than: a key younger than the age is not rotated (exit 0, status
// not-due, nothing changed); an older one is.
func TestRotateIfOlderThan(t *testing.T) {
	e := clitest.NewChain(t)
	w := newWorld(t, e, "file")
	r := e.Exec(w.rotateArgs("--deploy-cmd", w.api.DeployCmd(), "--if-older-than", "30d")...)
	if r.Code != 0 {
		t.Fatalf("rotate of a new key:\n%s", r)
	}
	j := journal(t, r)
	if j.Status != rotation.StatusNotDue || j.Old.Address != w.old.Hex() || len(j.Next) != 1 || !strings.Contains(j.Next[0], "due for rotation after") {
		t.Fatalf("journal %+v", j)
	}
	if len(storeVersions(t, e, w.ref)) != 1 || w.activeJournal() != nil || w.nonce(w.old) != 0 {
		t.Fatalf("a not-due run changed something")
	}
	// The file store's version time is the key file's: make it 31 days old.
	p := strings.TrimPrefix(w.ref, "file://")
	old := time.Now().Add(-31 * 24 * time.Hour)
	if err := os.Chtimes(p, old, old); err != nil {
		t.Fatal(err)
	}
	r = e.Exec(w.rotateArgs("--deploy-cmd", w.api.DeployCmd(), "--if-older-than", "30d")...)
	if r.Code != 0 {
		t.Fatalf("rotate of a 31-day-old key:\n%s", r)
	}
	w.checkRotated(journal(t, r), ether(1, 10))
}
