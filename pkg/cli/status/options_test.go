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

	cmd = NewCmdStatus(cmdtest.Factory(), func(_ context.Context, o *Options) error { got = o; return nil })
	if err := cmdtest.Parse(cmd, "--api-url", "https://api.example", "--db", "/data/vrwx.db", "--backups", "s3://b/p"); err != nil {
		t.Fatal(err)
	}
	if got.APIURL != "https://api.example" || got.DB != "/data/vrwx.db" || got.Backups != "s3://b/p" || got.StoreKey == nil {
		t.Fatalf("parsed %+v", got)
	}
	for _, c := range []struct{ flag, value, want string }{
		{"--api-url", "ftp://x", "--api-url"},
		{"--backups", "gs://b", "--backups"},
		{"--address", "0x12", "--address"},
	} {
		cmd := NewCmdStatus(cmdtest.Factory(), func(_ context.Context, o *Options) error { got = o; return nil })
		if err := cmdtest.Parse(cmd, c.flag, c.value); err != nil {
			t.Fatal(err)
		}
		got.Config, got.Chain = cmdtest.NoConfig(t), cmdtest.NoChain(t)
		cmdtest.Usage(t, run(context.Background(), got), c.want)
	}
}
