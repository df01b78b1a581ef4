package robot

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vrwx/vrwxctl/pkg/cli/cmdutil/cmdtest"
	"github.com/vrwx/vrwxctl/pkg/vrwx"
)

func TestGetFlags(t *testing.T) {
	var got *GetOptions
	parse := func(args ...string) {
		t.Helper()
		cmd := NewCmdGet(cmdtest.Factory(), func(_ context.Context, o *GetOptions) error { got = o; return nil })
		if err := cmdtest.Parse(cmd, args...); err != nil {
			t.Fatal(err)
		}
		got.Config, got.Chain = cmdtest.NoConfig(t), cmdtest.NoChain(t)
	}
	id := "0x5c8d1e4f0d4f6ce5bd5a0dfd4e39f6e9b5f3a4a1c2b3d4e5f60718293a4b5c6d"
	db := filepath.Join(t.TempDir(), "vrwx.db")
	if err := os.WriteFile(db, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	parse(id, "--db", db)
	if h, err := got.validate(context.Background()); err != nil || h.Hex() != id || got.DB != db {
		t.Fatalf("robot get ID --db: %v %+v", err, got)
	}
	parse("--name", "tnt_1:unit-01")
	if h, err := got.validate(context.Background()); err != nil || h != vrwx.RobotIDFromName("tnt_1:unit-01") {
		t.Fatalf("--name: %v %s", err, h.Hex())
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{id, "--name", "t:r"}, "both ROBOT and --name"},
		{nil, "no robot given"},
		{[]string{"--name", "unit-01"}, "is not tenantId:robotName"},
		{[]string{"0x12"}, `ROBOT "0x12" is 1 bytes`},
		{[]string{id, "--db", filepath.Join(t.TempDir(), "none.db")}, "--db"},
	} {
		parse(c.args...)
		cmdtest.Usage(t, getRun(context.Background(), got), c.want)
	}
}

func TestVerifySigFlags(t *testing.T) {
	var got *VerifySigOptions
	hash := "0x9c1f0e7a3b5d4c2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0c9d8e"
	sig := "0x" + strings.Repeat("cd", 65)
	args := []string{"--job", "7", "--completion-hash", hash, "--quality", "90", "--work-units", "3", "--sig", sig}
	parse := func(args ...string) {
		t.Helper()
		cmd := NewCmdVerifySig(cmdtest.Factory(), func(_ context.Context, o *VerifySigOptions) error { got = o; return nil })
		if err := cmdtest.Parse(cmd, args...); err != nil {
			t.Fatal(err)
		}
		got.Config, got.Chain = cmdtest.NoConfig(t), cmdtest.NoChain(t)
	}
	parse(args...)
	if got.Claim.Job != "7" || got.Claim.CompletionHash != hash || got.Claim.Quality != "90" || got.Claim.WorkUnits != "3" || got.Claim.Sig != sig || got.Profiles == nil {
		t.Fatalf("parsed %+v", got)
	}
	for _, c := range []struct {
		drop int
		want string
	}{{0, "--job is required"}, {2, "--completion-hash is required"}, {4, "--quality is required"}, {6, "--work-units is required"}, {8, "--sig is required"}} {
		parse(append(append([]string(nil), args[:c.drop]...), args[c.drop+2:]...)...)
		cmdtest.Usage(t, verifyRun(context.Background(), got), c.want)
	}
	parse(append(args[:8:8], "--sig", "0x"+strings.Repeat("cd", 66))...)
	cmdtest.Usage(t, verifyRun(context.Background(), got), "--sig is 66 bytes")
}
