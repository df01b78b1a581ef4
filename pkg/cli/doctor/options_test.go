package doctor

import (
	"context"
	"testing"
	"time"

	"github.com/vrwx/vrwxctl/pkg/cli/cmdutil/cmdtest"
)

func TestRelayFlags(t *testing.T) {
	var got *RelayOptions
	cmd := NewCmdRelay(cmdtest.Factory(), func(_ context.Context, o *RelayOptions) error { got = o; return nil })
	if err := cmdtest.Parse(cmd, "--address", "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC", "--blocks", "500", "--limit", "5", "--api-url", "https://api.example"); err != nil {
		t.Fatal(err)
	}
	if n, err := got.validate(); err != nil || n != 500 || got.Limit != 5 || got.APIURL != "https://api.example" || got.StoreKey == nil {
		t.Fatalf("parsed %v %+v", err, got)
	}
	got.Signer = "env://K"
	got.Config, got.Chain = cmdtest.NoConfig(t), cmdtest.NoChain(t)
	cmdtest.Usage(t, relayRun(context.Background(), got), "both an address and --signer")

	// Counts take the one number form: decimal (010 is ten, not octal eight) or 0x hex.
	cmd = NewCmdRelay(cmdtest.Factory(), func(_ context.Context, o *RelayOptions) error { got = o; return nil })
	if err := cmdtest.Parse(cmd, "--address", "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC", "--blocks", "0x10", "--limit", "010"); err != nil {
		t.Fatal(err)
	}
	if n, err := got.validate(); err != nil || n != 16 || got.Limit != 10 {
		t.Fatalf("--blocks 0x10 --limit 010: %d %d %v", n, got.Limit, err)
	}
	got.Blocks = "1e3"
	got.Config, got.Chain = cmdtest.NoConfig(t), cmdtest.NoChain(t)
	cmdtest.Usage(t, relayRun(context.Background(), got), `--blocks "1e3"`)

	// The DLQ's window and database; a window that is not positive reads nothing.
	cmd = NewCmdRelay(cmdtest.Factory(), func(_ context.Context, o *RelayOptions) error { got = o; return nil })
	if err := cmdtest.Parse(cmd, "--db", "/data/vrwx.db", "--since", "6h"); err != nil {
		t.Fatal(err)
	}
	if _, err := got.validate(); err != nil || got.DB != "/data/vrwx.db" || got.Since != 6*time.Hour || got.flags().DB != "/data/vrwx.db" {
		t.Fatalf("--db --since: %v %+v", err, got)
	}
	got.Since = 0
	got.Config, got.Chain = cmdtest.NoConfig(t), cmdtest.NoChain(t)
	cmdtest.Usage(t, relayRun(context.Background(), got), "--since 0s is not positive")
}

func TestSignatureFlags(t *testing.T) {
	var got *SignatureOptions
	cmd := NewCmdSignature(cmdtest.Factory(), func(_ context.Context, o *SignatureOptions) error { got = o; return nil })
	if err := cmdtest.Parse(cmd, "tnt_1:unit-01", "--job", "42", "--completion-hash", "0x"+repeat("ab", 32), "--quality", "100", "--work-units", "12", "--sig", "0x"+repeat("11", 65)); err != nil {
		t.Fatal(err)
	}
	id, name, claim, err := got.validate()
	if err != nil || name != "tnt_1:unit-01" || id == ([32]byte{}) || claim == nil || claim.JobID.Int64() != 42 || claim.QualityScore != 100 {
		t.Fatalf("parsed %v %s %+v", err, name, claim)
	}
	got.Claim.Sig = "0x11"
	got.Config, got.Chain = cmdtest.NoConfig(t), cmdtest.NoChain(t)
	cmdtest.Usage(t, signatureRun(context.Background(), got), "--sig")
}

func repeat(s string, n int) string {
	out := ""
	for range n {
		out += s
	}
	return out
}
