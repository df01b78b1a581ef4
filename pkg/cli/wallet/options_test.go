package wallet

import (
	"context"
	"testing"

	"github.com/vrwx/vrwxctl/pkg/chain"
	"github.com/vrwx/vrwxctl/pkg/cli/cmdutil"
	"github.com/vrwx/vrwxctl/pkg/cli/cmdutil/cmdtest"
)

func noResolve(t *testing.T) func(context.Context, string, string) (cmdutil.Account, error) {
	return func(context.Context, string, string) (cmdutil.Account, error) {
		t.Helper()
		t.Fatal("the account was resolved before the input was checked")
		return cmdutil.Account{}, nil
	}
}

func TestBalanceFlags(t *testing.T) {
	t.Parallel()
	var got *BalanceOptions
	parse := func(args ...string) {
		t.Helper()
		cmd := NewCmdBalance(cmdtest.Factory(), func(_ context.Context, o *BalanceOptions) error { got = o; return nil })
		if err := cmdtest.Parse(cmd, args...); err != nil {
			t.Fatal(err)
		}
		got.Resolve, got.Chain = noResolve(t), cmdtest.NoChain(t)
	}
	parse("0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC", "--block", "1234", "--wei")
	if at, err := got.validate(); err != nil || at != chain.BlockNumber(1234) || got.Address != "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC" || !got.Wei {
		t.Fatalf("parsed %v %+v", err, got)
	}
	parse("--signer", "env://K")
	if at, err := got.validate(); err != nil || at != chain.Latest || got.Signer != "env://K" {
		t.Fatalf("defaults %v %+v", err, got)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--wei", "--ether"}, "--wei and --ether"},
		{[]string{"0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC", "--signer", "env://K"}, "both an address and --signer"},
		{[]string{"--block", "yesterday"}, `--block "yesterday"`},
	} {
		parse(c.args...)
		cmdtest.Usage(t, balanceRun(context.Background(), got), c.want)
	}
}

func TestNonceFlags(t *testing.T) {
	t.Parallel()
	var got *NonceOptions
	cmd := NewCmdNonce(cmdtest.Factory(), func(_ context.Context, o *NonceOptions) error { got = o; return nil })
	if err := cmdtest.Parse(cmd, "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC", "--signer", "env://K"); err != nil {
		t.Fatal(err)
	}
	got.Resolve, got.Chain = noResolve(t), cmdtest.NoChain(t)
	cmdtest.Usage(t, nonceRun(context.Background(), got), "both an address and --signer")
}

func TestFundFlags(t *testing.T) {
	t.Parallel()
	f := cmdtest.Factory()
	f.Globals.DryRun = true
	var got *FundOptions
	parse := func(f *cmdutil.Factory, args ...string) {
		t.Helper()
		cmd := NewCmdFund(f, func(_ context.Context, o *FundOptions) error { got = o; return nil })
		if err := cmdtest.Parse(cmd, args...); err != nil {
			t.Fatal(err)
		}
		got.Flow = cmdtest.NoFlow(t)
	}
	to := "0x90F79bf6EB2c4f870365E785982E1f101E93b906"
	parse(f, "--to", to, "--amount", "0.5ether", "--signer", "env://T", "--reason", "CHG-1", "--force")
	addr, amount, err := got.validate()
	if err != nil || addr.Hex() != to || amount.String() != "500000000000000000" || !got.Force || !got.DryRun || got.Yes || got.Send.Signer != "env://T" || got.Send.Reason != "CHG-1" {
		t.Fatalf("parsed %v %+v", err, got)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--amount", "1ether"}, "--to is required"},
		{[]string{"--to", to}, "--amount is required"},
		{[]string{"--to", to, "--amount", "0"}, "is zero"},
		{[]string{"--to", "0x0000000000000000000000000000000000000000", "--amount", "1ether"}, "zero address"},
		{[]string{"--to", to, "--amount", "lots"}, "lots"},
	} {
		parse(cmdtest.Factory(), c.args...)
		cmdtest.Usage(t, fundRun(context.Background(), got), c.want)
	}
}

func TestDrainFlags(t *testing.T) {
	t.Parallel()
	f := cmdtest.Factory()
	f.Globals.Yes = true
	var got *DrainOptions
	cmd := NewCmdDrain(f, func(_ context.Context, o *DrainOptions) error { got = o; return nil })
	if err := cmdtest.Parse(cmd, "--signer", "env://OLD", "--to", "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", "--keep", "0.01ether",
		"--force", "--allow-non-treasury", "--sweep"); err != nil {
		t.Fatal(err)
	}
	if got.Send.Signer != "env://OLD" || got.To != "0x70997970C51812dc3A010C7d01b50e0d17dc79C8" || got.Keep != "0.01ether" ||
		!got.Force || !got.AllowNonTreasury || !got.Sweep || !got.Yes || got.DryRun {
		t.Fatalf("parsed %+v", got)
	}
	cmd = NewCmdDrain(cmdtest.Factory(), func(_ context.Context, o *DrainOptions) error { got = o; return nil })
	if err := cmdtest.Parse(cmd, "--signer", "env://OLD", "--keep", "a little"); err != nil {
		t.Fatal(err)
	}
	got.Flow = cmdtest.NoFlow(t)
	cmdtest.Usage(t, drainRun(context.Background(), got), "--keep")
}

func TestHistoryFlags(t *testing.T) {
	t.Parallel()
	var got *HistoryOptions
	cmd := NewCmdHistory(cmdtest.Factory(), func(_ context.Context, o *HistoryOptions) error { got = o; return nil })
	if err := cmdtest.Parse(cmd, "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC", "--blocks", "5000", "--limit", "50"); err != nil {
		t.Fatal(err)
	}
	if n, err := got.validate(); err != nil || n != 5000 || got.Limit != 50 || got.Address != "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC" {
		t.Fatalf("parsed %v %+v", err, got)
	}
	got.Signer = "env://K"
	got.Resolve, got.Chain = noResolve(t), cmdtest.NoChain(t)
	cmdtest.Usage(t, historyRun(context.Background(), got), "both an address and --signer")

	// Counts take the one number form: decimal (010 is ten, not octal eight) or 0x hex.
	cmd = NewCmdHistory(cmdtest.Factory(), func(_ context.Context, o *HistoryOptions) error { got = o; return nil })
	if err := cmdtest.Parse(cmd, "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC", "--blocks", "0x10", "--limit", "010"); err != nil {
		t.Fatal(err)
	}
	if n, err := got.validate(); err != nil || n != 16 || got.Limit != 10 {
		t.Fatalf("--blocks 0x10 --limit 010: %d %d %v", n, got.Limit, err)
	}
	got.Blocks = "+100"
	got.Resolve, got.Chain = noResolve(t), cmdtest.NoChain(t)
	cmdtest.Usage(t, historyRun(context.Background(), got), `--blocks "+100"`)
}
