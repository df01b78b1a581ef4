package key

import (
	"context"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/spf13/cobra"
	"github.com/vrwx/vrwxctl/pkg/cli/cmdutil"
	"github.com/vrwx/vrwxctl/pkg/cli/cmdutil/cmdtest"
	"github.com/vrwx/vrwxctl/pkg/secrets"
)

func noStore(t *testing.T) func(context.Context, string) (secrets.Store, error) {
	return func(context.Context, string) (secrets.Store, error) {
		t.Helper()
		t.Fatal("a store was opened before the input was checked")
		return nil, nil
	}
}

func TestKeyFlags(t *testing.T) {
	t.Parallel()
	f := cmdtest.Factory()
	f.Globals.DryRun, f.Globals.Yes = true, true
	ref := "aws-sm://vrwx/prod/relayer-key"

	var gen *GenerateOptions
	if err := cmdtest.Parse(NewCmdGenerate(f, func(_ context.Context, o *GenerateOptions) error { gen = o; return nil }), "--store", ref, "--promote"); err != nil ||
		gen.Store != ref || !gen.Promote || !gen.DryRun {
		t.Fatalf("generate: %v %+v", err, gen)
	}
	var addr *AddressOptions
	if err := cmdtest.Parse(NewCmdAddress(f, func(_ context.Context, o *AddressOptions) error { addr = o; return nil }), "--signer", "env://K"); err != nil || addr.Signer != "env://K" {
		t.Fatalf("address: %v %+v", err, addr)
	}
	var vs *VersionsOptions
	if err := cmdtest.Parse(NewCmdVersions(f, func(_ context.Context, o *VersionsOptions) error { vs = o; return nil }), "--store", ref); err != nil || vs.Store != ref {
		t.Fatalf("versions: %v %+v", err, vs)
	}
	var pr *PromoteOptions
	if err := cmdtest.Parse(NewCmdPromote(f, func(_ context.Context, o *PromoteOptions) error { pr = o; return nil }), "--store", ref, "--version", "v7"); err != nil ||
		pr.Store != ref || pr.Version != "v7" || !pr.DryRun || !pr.Yes {
		t.Fatalf("promote: %v %+v", err, pr)
	}
	for _, newCmd := range []func(*cmdutil.Factory, func(context.Context, *StoreChangeOptions) error) *cobra.Command{NewCmdRollback, NewCmdDiscardPending} {
		var sc *StoreChangeOptions
		if err := cmdtest.Parse(newCmd(f, func(_ context.Context, o *StoreChangeOptions) error { sc = o; return nil }), "--store", ref); err != nil ||
			sc.Store != ref || !sc.DryRun || !sc.Yes || sc.Change == nil {
			t.Fatalf("store change: %v %+v", err, sc)
		}
		sc.OpenStore = noStore(t)
		sc.Store = ""
		cmdtest.Usage(t, storeChangeRun(context.Background(), sc), "--store is required")
	}

	// Every reference is required, and checked before anything is opened.
	gen.OpenStore, vs.OpenStore, pr.OpenStore = noStore(t), noStore(t), noStore(t)
	gen.Store, vs.Store, pr.Store = "", "", ""
	cmdtest.Usage(t, generateRun(context.Background(), gen), "--store is required")
	cmdtest.Usage(t, versionsRun(context.Background(), vs), "--store is required")
	cmdtest.Usage(t, promoteRun(context.Background(), pr), "--store is required")
	addr.Signer = ""
	addr.SignerAddress = func(context.Context, string) (common.Address, error) {
		t.Fatal("a signer was read before the input was checked")
		return common.Address{}, nil
	}
	cmdtest.Usage(t, addressRun(context.Background(), addr), "--signer is required")
}
