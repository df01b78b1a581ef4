package key

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/vrwx/vrwxctl/pkg/cli/cmdutil/cmdtest"
	"github.com/vrwx/vrwxctl/pkg/txflow"
)

func TestRotateFlags(t *testing.T) {
	t.Parallel()
	f := cmdtest.Factory()
	f.Globals.Yes, f.Globals.Timeout = true, 45*time.Second
	var o *RotateOptions
	err := cmdtest.Parse(NewCmdRotate(f, func(_ context.Context, opts *RotateOptions) error { o = opts; return nil }),
		"--store", "aws-sm://vrwx/prod/relayer-key", "--treasury-signer", "env://T", "--fund", "0.5ether", "--deploy-cmd", `touch '/tmp/a b' "c\"d" $HOME`,
		"--api-url", "https://api.vrwx.io", "--wait-timeout", "3m", "--if-older-than", "90d", "--reason", "CHG-1", "--emergency", "--discard-pending")
	if err != nil || o.Store != "aws-sm://vrwx/prod/relayer-key" || o.TreasurySigner != "env://T" || o.Fund != "0.5ether" ||
		o.DeployCmd != `touch '/tmp/a b' "c\"d" $HOME` || o.APIURL != "https://api.vrwx.io" || o.WaitTimeout != 3*time.Minute ||
		o.Reason != "CHG-1" || !o.Emergency || !o.DiscardPending || !o.Yes || o.DryRun || o.Timeout != 45*time.Second {
		t.Fatalf("%v %+v", err, o)
	}
	in, err := o.validate()
	if err != nil || strings.Join(in.deploy, "|") != `touch|/tmp/a b|c"d|$HOME` || in.minAge != 90*24*time.Hour || in.fund.String() != "500000000000000000" || in.store.String() != "aws-sm://vrwx/prod/relayer-key#RELAYER_PRIVATE_KEY" {
		t.Fatalf("validate: %v %+v", err, in)
	}

	// Bad input is refused before the configuration, the chain or a store is
	// touched: exit 2, naming the value.
	base := func() *RotateOptions {
		return &RotateOptions{IO: f.IO, Config: cmdtest.NoConfig(t), Chain: cmdtest.NoChain(t), OpenStore: noStore(t),
			OpenSigner: func(context.Context, string) (txflow.Signer, error) {
				t.Fatal("a signer was opened before the input was checked")
				return nil, nil
			}, StateDir: func() string { t.Fatal("the state dir was used before the input was checked"); return "" },
			Store: "file:///etc/vrwx/relayer.hex", WaitTimeout: time.Minute}
	}
	for _, c := range []struct {
		set  func(*RotateOptions)
		want string
	}{
		{func(o *RotateOptions) { o.Store = "" }, "--store is required"},
		{func(o *RotateOptions) { o.Store = "env://RELAYER_PRIVATE_KEY" }, "read-only"},
		{func(o *RotateOptions) { o.Store = "file:///k.hex?stage=previous" }, "names one version"},
		{func(o *RotateOptions) { o.Store = "s3://bucket/k" }, "unknown scheme"},
		{func(o *RotateOptions) { o.Resume, o.Rollback = true, true }, "cannot be combined"},
		{func(o *RotateOptions) { o.Resume, o.Emergency = true, true }, "--emergency cannot be combined with --resume"},
		{func(o *RotateOptions) { o.Rollback, o.Fund = true, "1ether" }, "--fund cannot be combined with --rollback"},
		{func(o *RotateOptions) { o.Resume, o.DiscardPending = true, true }, "--discard-pending cannot be combined"},
		{func(o *RotateOptions) { o.Fund = "half" }, "--fund"},
		{func(o *RotateOptions) { o.Fund = "0ether" }, "is zero"},
		{func(o *RotateOptions) { o.DeployCmd = "kubectl rollout restart x | tee log" }, "`|`"},
		{func(o *RotateOptions) { o.DeployCmd = "   " }, "empty"},
		// A new rotation's plan checks the program (exit 3, see pkg/rotation); a
		// resume is about to run it.
		{func(o *RotateOptions) { o.DeployCmd = "no-such-program-vrwx"; o.Resume = true }, "not a program on PATH"},
		{func(o *RotateOptions) { o.APIURL = "api.vrwx.io" }, "not an http(s) URL"},
		{func(o *RotateOptions) { o.WaitTimeout = 0 }, "--wait-timeout"},
		{func(o *RotateOptions) { o.IfOlderThan = "90" }, `--if-older-than "90" is not an age`},
		{func(o *RotateOptions) { o.IfOlderThan = "0d" }, "is not an age"},
		{func(o *RotateOptions) { o.IfOlderThan = "-5h" }, "is not an age"},
		{func(o *RotateOptions) { o.IfOlderThan = "90d"; o.Resume = true }, "applies to a new rotation"},
	} {
		o := base()
		c.set(o)
		cmdtest.Usage(t, rotateRun(context.Background(), o), c.want)
	}
}
