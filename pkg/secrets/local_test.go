package secrets_test

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/ethereum/go-ethereum/accounts/keystore"
	"github.com/ethereum/go-ethereum/common"
	"github.com/google/uuid"

	"github.com/vrwx/vrwxctl/pkg/errs"
	"github.com/vrwx/vrwxctl/pkg/secrets"
)

func TestEnvStore(t *testing.T) {
	t.Parallel()
	k, hexKey := testKey(t)
	s := mustOpen(t, "env://VRWX_TEST_RELAYER_KEY", secrets.Options{LookupEnv: envOf("VRWX_TEST_RELAYER_KEY", "0x"+hexKey)})
	ctx := ctxT(t)

	got, v, err := s.Read(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if !got.Equal(k) || v.Address != k.Address() || !v.Has(secrets.StageCurrent) {
		t.Fatalf("Read = %v %+v, want %v current", got, v, k)
	}
	vs, err := s.Versions(ctx)
	if err != nil || len(vs) != 1 || vs[0].Address != k.Address() {
		t.Fatalf("Versions = %+v, %v", vs, err)
	}

	other, _ := testKey(t)
	_, err = s.WritePending(ctx, other)
	wantKind(t, err, errs.Usage, "env:// references are read-only")
	wantKind(t, s.Promote(ctx, "current"), errs.Usage, "read-only")
	wantKind(t, s.Rollback(ctx), errs.Usage, "read-only")
	_, _, err = s.ReadPending(ctx)
	wantKind(t, err, errs.Failed, "no pending")

	_, _, err = mustOpen(t, "env://VRWX_TEST_UNSET_VARIABLE", secrets.Options{}).Read(ctx, "")
	wantKind(t, err, errs.Usage, "VRWX_TEST_UNSET_VARIABLE is not set")

	// An injected environment replaces the process's for env:// references.
	injected := secrets.Options{LookupEnv: func(k string) (string, bool) {
		if k == "ONLY_HERE" {
			return other.String(), true // not a key: must fail validation, not read the process env
		}
		return "", false
	}}
	_, _, err = mustOpen(t, "env://VRWX_TEST_RELAYER_KEY", injected).Read(ctx, "")
	wantKind(t, err, errs.Usage, "VRWX_TEST_RELAYER_KEY is not set")
	_, _, err = mustOpen(t, "env://ONLY_HERE", injected).Read(ctx, "")
	wantKind(t, err, errs.Usage, "env://ONLY_HERE")
}

func writeFile(t *testing.T, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

func TestFileModes(t *testing.T) {
	t.Parallel()
	k, hexKey := testKey(t)
	dir := t.TempDir()
	ctx := ctxT(t)
	for _, mode := range []os.FileMode{0o600, 0o400} {
		p := filepath.Join(dir, "ok-"+mode.String()+".hex")
		writeFile(t, p, "0x"+hexKey+"\n", mode)
		got, _, err := mustOpen(t, "file://"+p, secrets.Options{}).Read(ctx, "")
		if err != nil {
			t.Fatalf("mode %04o: %v", mode, err)
		}
		if !got.Equal(k) {
			t.Fatalf("mode %04o: read another key", mode)
		}
	}
	for _, mode := range []os.FileMode{0o644, 0o640, 0o604, 0o700, 0o660} {
		p := filepath.Join(dir, "loose.hex")
		writeFile(t, p, hexKey, mode)
		_, _, err := mustOpen(t, "file://"+p, secrets.Options{}).Read(ctx, "")
		wantKind(t, err, errs.Refused, p, "0600 or 0400")
		if fix := errs.FixOf(err); fix != "chmod 600 "+p {
			t.Errorf("fix = %q", fix)
		}
		noLeak(t, err.Error(), hexKey)
	}

	_, _, err := mustOpen(t, "file://"+filepath.Join(dir, "missing.hex"), secrets.Options{}).Read(ctx, "")
	wantKind(t, err, errs.Usage, "does not exist")
	_, err = mustOpen(t, "file://"+filepath.Join(dir, "no", "such", "dir", "k.hex"), secrets.Options{}).WritePending(ctx, func() secrets.PrivateKey { k, _ := testKey(t); return k }())
	wantKind(t, err, errs.Usage, "directory does not exist")
	_, _, err = mustOpen(t, "keystore://"+filepath.Join(dir, "missing.json")+"?password-env=PW", secrets.Options{}).Read(ctx, "")
	wantKind(t, err, errs.Usage, "does not exist")

	bad := filepath.Join(dir, "bad.hex")
	writeFile(t, bad, hexKey[:60], 0o600)
	_, _, err = mustOpen(t, "file://"+bad, secrets.Options{}).Read(ctx, "")
	wantKind(t, err, errs.Usage, "file://"+bad, "60 hex digits")
	noLeak(t, err.Error(), hexKey[:60], hexKey[:8])
}

// lsDir lists a directory's file names with their modes.
func lsDir(t *testing.T, dir string) map[string]os.FileMode {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]os.FileMode{}
	for _, e := range ents {
		fi, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = fi.Mode().Perm()
	}
	return out
}

func stagesByAddress(t *testing.T, s secrets.Store) map[common.Address][]string {
	t.Helper()
	vs, err := s.Versions(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	out := map[common.Address][]string{}
	for _, v := range vs {
		if v.Problem != "" {
			t.Fatalf("version %s: %s", v.ID, v.Problem)
		}
		out[v.Address] = v.Stages
	}
	return out
}

func wantStages(t *testing.T, got map[common.Address][]string, want map[common.Address]string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("versions = %v, want %v", got, want)
	}
	for a, st := range want {
		if strings.Join(got[a], ",") != st {
			t.Fatalf("stages of %s = %v, want %q (all: %v)", a.Hex(), got[a], st, got)
		}
	}
}

// rotationRoundTrip drives a store through a whole rotation and back:
// first key → pending → promote → rollback, checking what Read sees at each step.
func rotationRoundTrip(t *testing.T, s secrets.Store) (first, second secrets.PrivateKey) {
	t.Helper()
	ctx := ctxT(t)
	first, _ = testKey(t)
	second, _ = testKey(t)

	v1, err := s.WritePending(ctx, first)
	if err != nil {
		t.Fatal(err)
	}
	if !v1.Has(secrets.StageCurrent) || v1.Address != first.Address() {
		t.Fatalf("first write = %+v, want it current (a store's first key is current at once)", v1)
	}
	if _, _, err := s.ReadPending(ctx); errs.KindOf(err) != errs.Failed {
		t.Fatalf("ReadPending on a store without pending: %v", err)
	}

	v2, err := s.WritePending(ctx, second)
	if err != nil {
		t.Fatal(err)
	}
	if !v2.Has(secrets.StagePending) || v2.Has(secrets.StageCurrent) || v2.Address != second.Address() {
		t.Fatalf("second write = %+v, want pending only", v2)
	}
	cur, cv, err := s.Read(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if !cur.Equal(first) || cv.ID != v1.ID {
		t.Fatalf("after WritePending the current key changed to %v (version %s)", cur, cv.ID)
	}
	pend, pv, err := s.ReadPending(ctx)
	if err != nil || !pend.Equal(second) || pv.ID != v2.ID {
		t.Fatalf("ReadPending = %v %+v %v", pend, pv, err)
	}
	byID, _, err := s.Read(ctx, v2.ID)
	if err != nil || !byID.Equal(second) {
		t.Fatalf("Read(%s) = %v, %v", v2.ID, byID, err)
	}

	third, _ := testKey(t)
	_, err = s.WritePending(ctx, third)
	wantKind(t, err, errs.Refused, "already has a pending key", second.Address().Hex())

	wantStages(t, stagesByAddress(t, s), map[common.Address]string{first.Address(): "current", second.Address(): "pending"})

	if err := s.Promote(ctx, v2.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.Promote(ctx, v2.ID); err != nil {
		t.Fatalf("promoting the current version again: %v", err)
	}
	if cur, _, _ := s.Read(ctx, ""); !cur.Equal(second) {
		t.Fatalf("after Promote current = %v, want %v", cur, second)
	}
	if _, _, err := s.ReadPending(ctx); errs.KindOf(err) != errs.Failed {
		t.Fatalf("ReadPending after promote: %v", err)
	}
	wantStages(t, stagesByAddress(t, s), map[common.Address]string{first.Address(): "previous", second.Address(): "current"})
	if old, _, err := s.Read(ctx, v1.ID); err != nil || !old.Equal(first) {
		t.Fatalf("Read(previous %s) = %v, %v", v1.ID, old, err)
	}
	wantKind(t, s.Promote(ctx, v1.ID), errs.Usage, "not pending", "previous")

	if err := s.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if cur, _, _ := s.Read(ctx, ""); !cur.Equal(first) {
		t.Fatalf("after Rollback current = %v, want %v", cur, first)
	}
	wantStages(t, stagesByAddress(t, s), map[common.Address]string{first.Address(): "current", second.Address(): "previous"})
	return first, second
}

func TestFileStoreRotation(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := filepath.Join(dir, "relayer.hex")
	s := mustOpen(t, "file://"+p, secrets.Options{})
	first, second := rotationRoundTrip(t, s)
	ctx := ctxT(t)

	// A third key: promote retires the old previous instead of deleting it.
	third, thirdHex := testKey(t)
	v3, err := s.WritePending(ctx, third)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Promote(ctx, v3.ID); err != nil {
		t.Fatal(err)
	}
	files := lsDir(t, dir)
	retired := "relayer.hex.retired-" + strings.ToLower(second.Address().Hex())
	for _, name := range []string{"relayer.hex", "relayer.hex.previous", retired} {
		if mode, ok := files[name]; !ok || mode != 0o600 {
			t.Fatalf("file %s: present=%v mode=%04o (all: %v)", name, ok, mode, files)
		}
	}
	if len(files) != 3 {
		t.Fatalf("unexpected files: %v", files)
	}
	wantStages(t, stagesByAddress(t, s), map[common.Address]string{first.Address(): "previous", third.Address(): "current", second.Address(): ""})
	b, err := os.ReadFile(p)
	if err != nil || strings.TrimSpace(string(b)) != "0x"+thirdHex {
		t.Fatalf("current file holds %q, want 0x-prefixed hex of the promoted key", b)
	}

	// Discard keeps the key as a retired file.
	fourth, _ := testKey(t)
	if _, err := s.WritePending(ctx, fourth); err != nil {
		t.Fatal(err)
	}
	if err := s.DiscardPending(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok := lsDir(t, dir)["relayer.hex.retired-"+strings.ToLower(fourth.Address().Hex())]; !ok {
		t.Fatalf("discarded key not kept: %v", lsDir(t, dir))
	}
	wantKind(t, s.DiscardPending(ctx), errs.Failed, "no pending")
}

// An interrupted promote (current already moved to previous) and an
// interrupted rollback are completed by running the operation again.
func TestFileStoreResumesInterruptedSteps(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := filepath.Join(dir, "k.hex")
	s := mustOpen(t, "file://"+p, secrets.Options{})
	ctx := ctxT(t)
	a, _ := testKey(t)
	b, _ := testKey(t)
	if _, err := s.WritePending(ctx, a); err != nil {
		t.Fatal(err)
	}
	vb, err := s.WritePending(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(p, p+".previous"); err != nil { // promote stopped here
		t.Fatal(err)
	}
	if err := s.Promote(ctx, vb.ID); err != nil {
		t.Fatal(err)
	}
	wantStages(t, stagesByAddress(t, s), map[common.Address]string{a.Address(): "previous", b.Address(): "current"})

	if err := os.Rename(p, p+".rollback"); err != nil { // rollback stopped here
		t.Fatal(err)
	}
	_, _, err = s.Read(ctx, "")
	wantKind(t, err, errs.Failed, "does not exist")
	if !strings.Contains(errs.FixOf(err), "rollback was interrupted") {
		t.Errorf("fix = %q", errs.FixOf(err))
	}
	if err := s.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	// Finishing the interrupted rollback swapped the stages; this Rollback
	// swapped them back.
	wantStages(t, stagesByAddress(t, s), map[common.Address]string{a.Address(): "previous", b.Address(): "current"})
}

func TestFileStoreConcurrentWritersOneWins(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := filepath.Join(dir, "k.hex")
	s := mustOpen(t, "file://"+p, secrets.Options{})
	ctx := ctxT(t)
	first, _ := testKey(t)
	if _, err := s.WritePending(ctx, first); err != nil {
		t.Fatal(err)
	}
	const n = 8
	var wg sync.WaitGroup
	results := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			k, _ := testKey(t)
			// Separate stores, as separate processes would have.
			_, results[i] = mustOpen(t, "file://"+p, secrets.Options{}).WritePending(ctx, k)
		}()
	}
	wg.Wait()
	wins := 0
	for _, err := range results {
		switch {
		case err == nil:
			wins++
		case errs.KindOf(err) != errs.Refused:
			t.Fatalf("loser error kind %d: %v", errs.KindOf(err), err)
		}
	}
	if wins != 1 {
		t.Fatalf("%d writers created a pending key, want exactly 1", wins)
	}
}

func TestKeystoreStore(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	k, hexKey := testKey(t)
	// A keystore written by go-ethereum itself.
	p := filepath.Join(dir, "relayer.json")
	blob, err := keystore.EncryptKey(&keystore.Key{Id: uuid.New(), Address: k.Address(), PrivateKey: k.ECDSA()}, "correct horse", keystore.LightScryptN, keystore.LightScryptP)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, p, string(blob), 0o600)
	ctx := ctxT(t)

	got, v, err := mustOpen(t, "keystore://"+p+"?password-env=VRWX_TEST_KS_PASS", secrets.Options{LookupEnv: envOf("VRWX_TEST_KS_PASS", "correct horse")}).Read(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if !got.Equal(k) || v.ID != strings.ToLower(k.Address().Hex()) {
		t.Fatalf("Read = %v %+v", got, v)
	}

	_, _, err = mustOpen(t, "keystore://"+p+"?password-env=VRWX_TEST_KS_PASS", secrets.Options{LookupEnv: envOf("VRWX_TEST_KS_PASS", "wrong horse")}).Read(ctx, "")
	wantKind(t, err, errs.Failed, "wrong password", p)
	noLeak(t, err.Error(), hexKey, "wrong horse")

	// Without password-env the prompt is used.
	asked := 0
	prompt := func(_ context.Context, q string) (string, error) {
		asked++
		if !strings.Contains(q, p) {
			t.Errorf("prompt %q does not name the keystore", q)
		}
		return "correct horse", nil
	}
	got, _, err = mustOpen(t, "keystore://"+p, secrets.Options{Prompt: prompt}).Read(ctx, "")
	if err != nil || !got.Equal(k) || asked != 1 {
		t.Fatalf("prompted read: %v, %v, asked %d times", got, err, asked)
	}

	// Listing versions needs no password: the address is stored in clear.
	vs, err := mustOpen(t, "keystore://"+p, secrets.Options{Prompt: func(context.Context, string) (string, error) {
		t.Fatal("Versions asked for a password")
		return "", nil
	}}).Versions(ctx)
	if err != nil || len(vs) != 1 || vs[0].Address != k.Address() {
		t.Fatalf("Versions = %+v, %v", vs, err)
	}

	// Malformed file.
	junk := filepath.Join(dir, "junk.json")
	writeFile(t, junk, "not json", 0o600)
	_, _, err = mustOpen(t, "keystore://"+junk+"?password-env=VRWX_TEST_KS_PASS", secrets.Options{LookupEnv: envOf("VRWX_TEST_KS_PASS", "correct horse")}).Read(ctx, "")
	wantKind(t, err, errs.Usage, "not a JSON keystore")
}

func TestKeystoreStoreRotation(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := filepath.Join(dir, "relayer.json")
	opts := secrets.Options{ScryptN: keystore.LightScryptN, ScryptP: keystore.LightScryptP, LookupEnv: envOf("VRWX_TEST_KS_PASS", "rotation pass")}
	s := mustOpen(t, "keystore://"+p+"?password-env=VRWX_TEST_KS_PASS", opts)
	first, _ := rotationRoundTrip(t, s)

	// The files are real keystores go-ethereum decrypts with the same password.
	for _, name := range []string{"relayer.json", "relayer.json.previous"} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		key, err := keystore.DecryptKey(b, "rotation pass")
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if name == "relayer.json" && key.Address != first.Address() {
			t.Fatalf("current keystore holds %s, want %s", key.Address.Hex(), first.Address().Hex())
		}
	}
	for name, mode := range lsDir(t, dir) {
		if mode != 0o600 {
			t.Errorf("%s has mode %04o", name, mode)
		}
	}

	// A rotation under a different password is refused before anything is written.
	opts.LookupEnv = envOf("VRWX_TEST_KS_PASS", "another pass")
	k, _ := testKey(t)
	_, err := mustOpen(t, "keystore://"+p+"?password-env=VRWX_TEST_KS_PASS", opts).WritePending(ctxT(t), k)
	wantKind(t, err, errs.Failed, "wrong password")
	if _, err := os.Stat(p + ".pending"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("a pending keystore was written: %v", err)
	}
}

func TestKeystoreFirstKeyPromptsTwice(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := filepath.Join(dir, "new.json")
	answers := []string{"one", "two"}
	prompt := func(context.Context, string) (string, error) {
		a := answers[0]
		answers = answers[1:]
		return a, nil
	}
	k, _ := testKey(t)
	opts := secrets.Options{Prompt: prompt, ScryptN: keystore.LightScryptN, ScryptP: keystore.LightScryptP}
	_, err := mustOpen(t, "keystore://"+p, opts).WritePending(ctxT(t), k)
	wantKind(t, err, errs.Usage, "passwords", "differ")
	if _, err := os.Stat(p); !errors.Is(err, fs.ErrNotExist) {
		t.Fatal("a keystore was written after mismatched passwords")
	}
	var head struct{ Address string }
	answers = []string{"same", "same"}
	if _, err := mustOpen(t, "keystore://"+p, opts).WritePending(ctxT(t), k); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(p)
	if err := json.Unmarshal(b, &head); err != nil || common.HexToAddress(head.Address) != k.Address() {
		t.Fatalf("keystore address field %q, want %s", head.Address, k.Address().Hex())
	}
}

// file://tmp/k.hex is the relative path tmp/k.hex — almost always a typo for
// file:///tmp/k.hex. Reading it or generating into it is bad input whose fix names
// the absolute form, never "create the directory" or "generate a key there".
func TestRelativeFileReferenceTypo(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	rel := "file://" + strings.TrimPrefix(filepath.Join(t.TempDir(), "k.hex"), "/")
	abs := "file:///" + strings.TrimPrefix(rel, "file://")
	for _, op := range []func(secrets.Store) error{
		func(s secrets.Store) error { _, _, err := s.Read(ctx, ""); return err },
		func(s secrets.Store) error { k, _ := testKey(t); _, err := s.WritePending(ctx, k); return err },
	} {
		err := op(mustOpen(t, rel, secrets.Options{}))
		fix := errs.FixOf(err)
		if errs.KindOf(err) != errs.Usage || !strings.Contains(fix, "an absolute path takes three: "+abs) || strings.Contains(fix, "key generate") || strings.Contains(fix, "mkdir") {
			t.Errorf("%s: %v (exit %d), fix %q", rel, err, errs.KindOf(err), fix)
		}
	}
}
