package status

import (
	"context"
	"testing"

	"github.com/vrwx/vrwxctl/pkg/cli/cmdutil/cmdtest"
)

func TestStatusFlags(t *testing.T) {
	var got *Options
	cmd := NewCmdStatus(cmdtest.Factory(), func(_ context.Context, o *Options) error { got = o; return nil })
	if err := cmdtest.Parse(cmd, "--address", "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC", "--signer", "env://K"); err != nil {
		t.Fatal(err)
	}
	if got.Address != "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC" || got.Signer != "env://K" || got.Now() != cmdtest.Now {
		t.Fatalf("parsed %+v", got)
	}
	got.Config, got.Chain = cmdtest.NoConfig(t), cmdtest.NoChain(t)
	cmdtest.Usage(t, run(context.Background(), got), "both an address and --signer")
}
