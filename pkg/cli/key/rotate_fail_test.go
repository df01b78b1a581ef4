package key_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/vrwx/vrwxctl/pkg/cli/clitest"
	"github.com/vrwx/vrwxctl/pkg/rotation"
	"github.com/vrwx/vrwxctl/pkg/secrets"
)

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

// While a rotation of a store runs, the lock next to its journal refuses a second
// rotation and a resume from another process, naming the holder. (A rotation
// that stopped is refused by its journal: pkg/rotation's
// TestFakeSecondRotationAndResumeOfAFinishedOne.)
func TestRotateSecondRotationIsRefused(t *testing.T) {
	t.Parallel()
	e := clitest.NewChain(t)
	w := newWorld(t, e, "file")
	// The first waits in its deploy command until the test releases it.
	release := filepath.Join(t.TempDir(), "release")
	deploy := "sh -c 'while [ ! -e " + release + " ]; do sleep 0.02; done; touch " + w.api.Marker + "'"
	first := e.Start(w.rotateArgs("--deploy-cmd", deploy, "--wait-timeout", "60s")...)
	deadline := time.Now().Add(60 * time.Second)
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
	if r.Code != 3 || !strings.Contains(r.Stderr, "is rotating") {
		t.Fatalf("a resume while the first runs: want exit 3:\n%s", r)
	}
	if err := os.WriteFile(release, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	fr := first.Wait()
	if fr.Code != 0 {
		t.Fatalf("first rotation:\n%s", fr)
	}
	w.checkRotated(journal(t, fr), ether(1, 10))
}

// --rollback after the promote makes the previous key current again and runs the
// deploy command so the API follows; the new key's funds go back by its version
// reference. (Rollback before the promote, and its refusal once the drain started,
// are decisions of pkg/rotation, tested there.)
func TestRotateRollback(t *testing.T) {
	t.Parallel()
	e := clitest.NewChain(t)

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
}
