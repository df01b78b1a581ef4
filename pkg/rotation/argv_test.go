package rotation_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/vrwx/vrwxctl/pkg/errs"
	"github.com/vrwx/vrwxctl/pkg/redact"
	"github.com/vrwx/vrwxctl/pkg/rotation"
)

// A step's error quotes what failed; the journal on disk keeps no key and no RPC
// credential, while the references it needs to resume stay as they are.
func TestJournalSaveScrubs(t *testing.T) {
	key := strings.Repeat("5b", 32)
	raw := make([]byte, 32)
	for i := range raw {
		raw[i] = 0x5b
	}
	redact.RegisterKey(raw)
	p := rotation.JournalPath(t.TempDir(), "vault://secret/vrwx/relayer")
	j := &rotation.Journal{JournalVersion: 1, Status: rotation.StatusInProgress, Path: p,
		Treasury: rotation.Account{Address: "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC", Signer: "env://TREASURY_KEY"},
		APIURL:   "https://api.vrwx.example",
		Steps: []rotation.Step{{Name: rotation.StepFund, Status: rotation.StatusFailed,
			Error: `Post "https://ops:hunter2@rpc.example/v2/APIKEY123?key=QK9": dial tcp: refused; store said {"value":"0x` + key + `"}`}},
		Next: []string{"check https://rpc.example/v2/APIKEY123 then resume"},
	}
	if err := j.Save(time.Now()); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{key, strings.ToUpper(key), "hunter2", "APIKEY123", "QK9"} {
		if strings.Contains(string(b), secret) {
			t.Errorf("journal holds %q:\n%s", secret, b)
		}
	}
	for _, kept := range []string{"env://TREASURY_KEY", "https://api.vrwx.example", "rpc.example", "dial tcp: refused", redact.Placeholder} {
		if !strings.Contains(string(b), kept) {
			t.Errorf("journal lost %q:\n%s", kept, b)
		}
	}
}

func TestSplitCommand(t *testing.T) {
	ok := []struct {
		in   string
		want []string
	}{
		{"kubectl rollout restart deployment/vrwx-api", []string{"kubectl", "rollout", "restart", "deployment/vrwx-api"}},
		{"  kubectl\trollout   restart\n x ", []string{"kubectl", "rollout", "restart", "x"}},
		{`kubectl annotate deploy/api "reason=key rotated" --overwrite`, []string{"kubectl", "annotate", "deploy/api", "reason=key rotated", "--overwrite"}},
		{`echo 'a "b" $HOME' "x\"y\\z" "\$n"`, []string{"echo", `a "b" $HOME`, `x"y\z`, `$n`}},
		{"echo \"\\n\" \"a\\`b\"", []string{"echo", `\n`, "a`b"}},
		{`echo $HOME ~ *.json`, []string{"echo", "$HOME", "~", "*.json"}},
		{`echo a\ b 'it'\''s' ""`, []string{"echo", "a b", "it's", ""}},
		{`sh -c 'kubectl rollout restart deploy/api && kubectl rollout status deploy/api'`, []string{"sh", "-c", "kubectl rollout restart deploy/api && kubectl rollout status deploy/api"}},
		{`echo "a|b" 'c;d' e\&f`, []string{"echo", "a|b", "c;d", "e&f"}},
	}
	for _, c := range ok {
		got, err := rotation.SplitCommand(c.in)
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("SplitCommand(%q) = %q, %v; want %q", c.in, got, err, c.want)
			continue
		}
		// QuoteCommand writes the words back so that they split the same way.
		again, err := rotation.SplitCommand(rotation.QuoteCommand(got))
		if err != nil || !reflect.DeepEqual(again, c.want) {
			t.Errorf("QuoteCommand(%q) = %q splits into %q, %v", got, rotation.QuoteCommand(got), again, err)
		}
	}
	bad := []struct{ in, want string }{
		{"", "empty"},
		{"   ", "empty"},
		{"kubectl rollout restart x && echo done", "`&&`"},
		{"kubectl get pods | grep api", "`|`"},
		{"kubectl apply -f x; echo", "`;`"},
		{"kubectl logs x > out.log", "`>`"},
		{"echo $(id)", "`$(`"},
		{"echo `id`", "`"},
		{"(cd /tmp)", "`(`"},
		{"sleep 5 &", "`&`"},
		{"echo 'open", "single quote is not closed"},
		{`echo "open`, "double quote is not closed"},
		{`echo x\`, "ends with a backslash"},
	}
	for _, c := range bad {
		_, err := rotation.SplitCommand(c.in)
		if errs.KindOf(err) != errs.Usage || !strings.Contains(err.Error(), c.want) {
			t.Errorf("SplitCommand(%q): %v, want a usage error mentioning %q", c.in, err, c.want)
		}
	}
}

// The hook runs the program itself (no shell), streams what it prints with a
// prefix, and turns a non-zero exit into an error naming the status.
func TestExecHook(t *testing.T) {
	var out bytes.Buffer
	dir := t.TempDir()
	marker := filepath.Join(dir, "a $HOME b")
	if err := rotation.ExecHook(context.Background(), []string{"touch", marker}, nil, &out); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(marker); err != nil {
		t.Fatalf("the argument was not passed as one literal word: %v", err)
	}
	out.Reset()
	err := rotation.ExecHook(context.Background(), []string{"sh", "-c", "echo one; echo two >&2; printf three; exit 7"}, nil, &out)
	if errs.KindOf(err) != errs.Failed || !strings.Contains(err.Error(), "exit status 7") {
		t.Fatalf("err = %v", err)
	}
	for _, want := range []string{"  | one\n", "  | two\n", "  | three\n"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output %q lacks %q", out.String(), want)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := rotation.ExecHook(ctx, []string{"sleep", "30"}, nil, &out); errs.KindOf(err) != errs.Timeout {
		t.Fatalf("a hook past its deadline: %v, want a timeout", err)
	}
}

func TestJournalSaveLoadAndLock(t *testing.T) {
	dir := t.TempDir()
	p := rotation.JournalPath(dir, "aws-sm://vrwx/prod/relayer-key#RELAYER_PRIVATE_KEY")
	if filepath.Dir(p) != dir || !strings.HasPrefix(filepath.Base(p), "aws-sm_vrwx_prod_relayer-key_RELAYER_PRIVATE_KEY-") {
		t.Fatalf("journal path %s", p)
	}
	if other := rotation.JournalPath(dir, "aws-sm://vrwx/prod/relayer-key#RELAYER_PRIVATE_KEY2"); other == p {
		t.Fatalf("two stores share a journal path")
	}
	if j, err := rotation.LoadJournal(p); j != nil || err != nil {
		t.Fatalf("no journal yet: %v %v", j, err)
	}
	j := &rotation.Journal{JournalVersion: 1, Status: rotation.StatusInProgress, Path: p, Steps: []rotation.Step{{Name: rotation.StepGenerate, Status: rotation.StatusPending}}}
	if err := j.Save(time.Now()); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(p)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("journal mode %v (%v)", fi.Mode().Perm(), err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Fatalf("temporary files left: %v", ents)
	}
	back, err := rotation.LoadJournal(p)
	if err != nil || back.Status != rotation.StatusInProgress || back.Path != p || len(back.Steps) != 1 {
		t.Fatalf("loaded %+v %v", back, err)
	}
	if err := os.WriteFile(p, []byte("{half"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := rotation.LoadJournal(p); errs.KindOf(err) != errs.Failed {
		t.Fatalf("a torn journal: %v", err)
	}

	l, err := rotation.AcquireLock(p, "the store")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rotation.AcquireLock(p, "the store"); errs.KindOf(err) != errs.Refused || !strings.Contains(err.Error(), "is rotating the store") {
		t.Fatalf("second lock: %v", err)
	}
	l.Release()
	l2, err := rotation.AcquireLock(p, "the store")
	if err != nil {
		t.Fatalf("lock after release: %v", err)
	}
	l2.Release()
	l2.Release()
}
