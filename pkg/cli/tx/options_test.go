package tx

import (
	"context"
	"testing"

	"github.com/vrwx/vrwxctl/pkg/cli/cmdutil/cmdtest"
)

func TestStatusAndWaitFlags(t *testing.T) {
	hash := "0x5c504ed432cb51138bcf09aa5e8a410dd4a1e204ef84bfed1be16dfba1b22060"
	for _, c := range []struct {
		wait bool
	}{{false}, {true}} {
		var got *StatusOptions
		runF := func(_ context.Context, o *StatusOptions) error { got = o; return nil }
		cmd := NewCmdStatus(cmdtest.Factory(), runF)
		if c.wait {
			cmd = NewCmdWait(cmdtest.Factory(), runF)
		}
		if err := cmdtest.Parse(cmd, hash); err != nil || got.Hash != hash || got.Wait != c.wait {
			t.Fatalf("wait %v: %v %+v", c.wait, err, got)
		}
		got.Chain = cmdtest.NoChain(t)
		got.Hash = "0x1234"
		cmdtest.Usage(t, statusRun(context.Background(), got), `transaction hash "0x1234" is 2 bytes`)
	}
}

func TestReplaceFlags(t *testing.T) {
	for _, verb := range []string{"speedup", "cancel"} {
		f := cmdtest.Factory()
		f.Globals.DryRun, f.Globals.Yes = true, true
		var got *ReplaceOptions
		parse := func(args ...string) {
			t.Helper()
			cmd := NewCmdReplace(f, verb, func(_ context.Context, o *ReplaceOptions) error { got = o; return nil })
			if err := cmdtest.Parse(cmd, args...); err != nil {
				t.Fatal(err)
			}
			got.Flow = cmdtest.NoFlow(t)
		}
		hash := "0x5c504ed432cb51138bcf09aa5e8a410dd4a1e204ef84bfed1be16dfba1b22060"
		parse("--nonce", "42", "--hash", hash, "--signer", "env://R", "--reason", "INC-1")
		n, h, err := got.validate()
		if err != nil || n != 42 || h.Hex() != hash || got.Verb != verb || got.Send.Signer != "env://R" || got.Send.Reason != "INC-1" || !got.DryRun || !got.Yes {
			t.Fatalf("%s: %v %+v", verb, err, got)
		}
		for _, c := range []struct {
			args []string
			want string
		}{
			{[]string{"--signer", "env://R"}, "--nonce is required"},
			{[]string{"--nonce", "-1"}, `--nonce "-1"`},
			{[]string{"--nonce", "1", "--hash", "0xzz"}, "transaction hash"},
		} {
			parse(c.args...)
			cmdtest.Usage(t, replaceRun(context.Background(), got), c.want)
		}
	}
}
