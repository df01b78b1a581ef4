package dlq_test

import (
	"context"
	"math/big"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/vrwx/vrwxctl/pkg/devchain"
	"github.com/vrwx/vrwxctl/pkg/dlq"
	"github.com/vrwx/vrwxctl/pkg/dlq/dlqtest"
)

// The estimateGas shape exactly as spec/VRWX.md quotes it from the live API, with a
// whole calldata in place of its ellipsis.
func TestParseReasonSpecEstimateGasShape(t *testing.T) {
	sig := "0x" + strings.Repeat("ab", 65)
	data := hexutil.Encode(dlqtest.Calldata(devchain.Completion{JobID: 77, CompletionHash: common.HexToHash("0x1234"), QualityScore: 92, WorkUnits: 47,
		Signature: hexutil.MustDecode(sig)}))
	text := `execution reverted (unknown custom error) (action="estimateGas", data="0x8baa579f", reason=null, transaction={ "data": "` + data +
		`", "from": "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC", "to": "0x7B55CD2614d42E328622E13E2F04c6A4044dCf8B" }, invocation=null, revertData=null, code=CALL_EXCEPTION, version=6.16.0)`
	r := dlq.ParseReason(text)
	if !r.Ethers || r.Message != "execution reverted (unknown custom error)" || r.Code != "CALL_EXCEPTION" || r.Action != "estimateGas" || r.EthersVersion != "6.16.0" {
		t.Fatalf("parsed %+v", r)
	}
	if r.Error == nil || r.Error.Name != "InvalidSignature" || r.Cause() != "InvalidSignature" || r.RevertData != "0x8baa579f" {
		t.Fatalf("revert: %+v %+v", r.Error, r)
	}
	if r.Request == nil || r.Request.From != "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC" || r.Request.To != "0x7B55CD2614d42E328622E13E2F04c6A4044dCf8B" {
		t.Fatalf("request %+v", r.Request)
	}
	c := r.Completion()
	if r.Call.Method != "submitCompletionV2" || c == nil || c.JobID != "77" || c.QualityScore != 92 || c.WorkUnits != 47 || c.Signature != sig ||
		c.CompletionHash != common.HexToHash("0x1234").Hex() {
		t.Fatalf("call %+v %+v", r.Call, c)
	}
	if len(r.Notes) != 0 {
		t.Errorf("notes %v", r.Notes)
	}
}

// Each of the spec's selectors, and OpenZeppelin's errors with their arguments.
func TestParseReasonNamesEveryError(t *testing.T) {
	for data, want := range map[string]string{
		"0x8baa579f": "InvalidSignature",
		"0x70f65caa": "DeadlinePassed",
		"0xf525e320": "InvalidStatus",
		"0xf645eedf": "ECDSAInvalidSignature",
		"0xfce698f7" + strings.Repeat("0", 62) + "40":                     "ECDSAInvalidSignatureLength(length=64)",
		"0x5274afe7" + strings.Repeat("0", 24) + strings.Repeat("ab", 20): "SafeERC20FailedOperation(token=0xABaBaBaBABabABabAbAbABAbABabababaBaBABaB)",
		"0xd78bce0c" + "ff" + strings.Repeat("00", 31):                    "ECDSAInvalidSignatureS(s=0xff00000000000000000000000000000000000000000000000000000000000000)",
	} {
		r := dlq.ParseReason(dlqtest.Ethers("execution reverted (unknown custom error)", "CALL_EXCEPTION", dlqtest.KV{Key: "action", Value: "estimateGas"},
			dlqtest.KV{Key: "data", Value: data}, dlqtest.KV{Key: "reason", Value: nil}))
		if r.Error == nil || r.Error.Title() != want {
			t.Errorf("%s: %+v", data, r.Error)
		}
	}
	// A selector the protocol does not have is named by its selector, not dropped.
	r := dlq.ParseReason(dlqtest.Ethers("execution reverted (unknown custom error)", "CALL_EXCEPTION", dlqtest.KV{Key: "data", Value: "0xdeadbeef"}))
	if r.Error != nil || r.Cause() != "revert 0xdeadbeef" || len(r.Notes) != 1 {
		t.Errorf("unknown selector: %+v", r)
	}
}

// What is not ethers' shape — or is broken — is kept as text, never an error.
func TestParseReasonIsRobust(t *testing.T) {
	for _, text := range []string{
		"",
		"submitCompletionV2 reverted or was not mined: insufficient funds for gas * price + value",
		"execution reverted (unknown custom error)",
		"execution reverted (action=",
		`execution reverted (action="estimateGas", data="0x8baa579f…", transaction={ "data": "0xa9270d8f…" }, code=CALL_EXCEPTION, version=6.16.0)`,
		`x (transaction="0x02f9zz", code=INSUFFICIENT_FUNDS, version=6.16.0)`,
		`x (transaction="0x02f801", code=INSUFFICIENT_FUNDS, version=6.16.0)`,
		`x (a={ "b": [ 1, { "c": [Circular] } ], "d": [ COULD NOT SERIALIZE ] }, code=UNKNOWN_ERROR, version=6.16.0)`,
		strings.Repeat("{", 10_000),
		"x (a=" + strings.Repeat("[ ", 5000) + "1" + strings.Repeat(" ]", 5000) + ", code=X, version=6)",
	} {
		r := dlq.ParseReason(text)
		if r == nil || (r.Message == "" && strings.TrimSpace(text) != "" && !r.Ethers) {
			t.Errorf("%.60q: %+v", text, r)
		}
	}
	r := dlq.ParseReason(`execution reverted (action="estimateGas", data="0x8baa579f…", transaction={ "data": "0xa9270d8f…" }, code=CALL_EXCEPTION, version=6.16.0)`)
	if r.Code != "CALL_EXCEPTION" || r.Error != nil || len(r.Notes) != 2 {
		t.Errorf("truncated hex: %+v", r)
	}
	r = dlq.ParseReason(`x (a={ "b": [ 1, { "c": [Circular] } ], "d": [ COULD NOT SERIALIZE ] }, code=UNKNOWN_ERROR, version=6.16.0)`)
	if !r.Ethers || r.Code != "UNKNOWN_ERROR" || r.Cause() != "UNKNOWN_ERROR" {
		t.Errorf("placeholders: %+v", r)
	}
	if c := dlq.ParseReason("something else entirely").Cause(); c != "" {
		t.Errorf("cause of free text: %q", c)
	}
}

// Real reasons: every error submitCompletionV2 reverts with, from a real
// eth_estimateGas on anvil formatted as ethers formats it, and an insufficient-funds
// refusal of a really signed transaction. Each decodes to the error by name and the
// calldata to the completion that was relayed.
func TestParseRealReasons(t *testing.T) {
	_, d := devchain.StartT(t)
	ctx := context.Background()
	b, err := dlqtest.NewBuilder(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	cases, err := b.Reverts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	wrong, err := b.WrongDomain(ctx, devchain.JobFunded, 8453, 100, 10)
	if err != nil {
		t.Fatal(err)
	}
	cases = append(cases, wrong)
	for _, c := range cases {
		r := dlq.ParseReason(c.Reason)
		if r.Error == nil || r.Error.Name != c.Name || r.Code != "CALL_EXCEPTION" || r.Action != "estimateGas" {
			t.Errorf("%s: %s\n-> %+v", c.Name, c.Reason, r)
			continue
		}
		got := r.Completion()
		if got == nil || got.JobID != new(big.Int).SetUint64(c.Completion.JobID).String() || got.QualityScore != c.Completion.QualityScore ||
			got.WorkUnits != c.Completion.WorkUnits || got.Signature != hexutil.Encode(c.Completion.Signature) || got.CompletionHash != c.Completion.CompletionHash.Hex() {
			t.Errorf("%s: call %+v, want %+v", c.Name, got, c.Completion)
		}
		if r.Request.From != d.Relayer.Hex() || r.Request.To != d.Escrow.Hex() {
			t.Errorf("%s: request %+v", c.Name, r.Request)
		}
	}

	key, _ := crypto.GenerateKey()
	ok, err := b.Controller(ctx, devchain.JobFunded, "funds", 100, 10)
	if err != nil {
		t.Fatal(err)
	}
	c, err := b.Unfunded(ctx, key, ok)
	if err != nil {
		t.Fatal(err)
	}
	r := dlq.ParseReason(c.Reason)
	s := r.Signed
	if r.Code != "INSUFFICIENT_FUNDS" || r.Cause() != "INSUFFICIENT_FUNDS" || s == nil || r.Node == nil || !strings.Contains(strings.ToLower(r.Node.Message), "insufficient funds") {
		t.Fatalf("%s\n-> %+v", c.Reason, r)
	}
	if s.From != crypto.PubkeyToAddress(key.PublicKey).Hex() || s.ChainID != "31337" || s.Nonce != 0 || s.Type != 2 || s.To != d.Escrow.Hex() ||
		s.Raw != hexutil.Encode(c.Raw) || s.Gas == 0 || s.MaxFeePerGas == "0" || s.MaxPriorityFeePerGas != "1000000000" {
		t.Errorf("signed %+v", s)
	}
	if got := r.Completion(); got == nil || got.JobID != new(big.Int).SetUint64(ok.JobID).String() || got.Signature != hexutil.Encode(ok.Signature) {
		t.Errorf("call %+v", r.Call)
	}
}
