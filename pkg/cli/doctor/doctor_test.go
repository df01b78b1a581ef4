package doctor_test

import (
	"context"
	"math/big"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/vrwx/vrwxctl/pkg/cli/clitest"
	"github.com/vrwx/vrwxctl/pkg/cli/doctor"
	"github.com/vrwx/vrwxctl/pkg/devchain"
	"github.com/vrwx/vrwxctl/pkg/health/healthtest"
	"github.com/vrwx/vrwxctl/pkg/monitor/monitortest"
	"github.com/vrwx/vrwxctl/pkg/vrwx"
)

func TestMain(m *testing.M) { clitest.Main(m) }

// env is a chain with an API relaying from the relayer (dev account 2).
func env(t *testing.T) (*clitest.Env, *healthtest.Server) {
	t.Helper()
	e := clitest.NewChain(t)
	api := healthtest.New(t, healthtest.Options{Relayer: healthtest.Static(e.D.Relayer)})
	e.Vars["VRWX_API_URL"] = api.URL
	return e, api
}

func relay(t *testing.T, e *clitest.Env, want int, args ...string) doctor.RelayJSON {
	t.Helper()
	r := e.Run(append([]string{"doctor", "relay", "-o", "json"}, args...)...)
	if r.Code != want {
		t.Fatalf("want exit %d:\n%s", want, r)
	}
	var out doctor.RelayJSON
	r.JSON(t, &out)
	// Every fix is runnable as printed in the situation that produced it.
	var fixes []string
	for _, c := range out.Checks {
		fixes = append(fixes, c.Fix)
	}
	for _, c := range out.Causes {
		fixes = append(fixes, c.Fix)
	}
	e.CheckAdvice(fixes...)
	return out
}

func firstCause(t *testing.T, out doctor.RelayJSON, name string) doctor.RankedCause {
	t.Helper()
	if len(out.Causes) == 0 || out.Causes[0].Name != name {
		t.Fatalf("first cause is not %q: %+v", name, out.Causes)
	}
	return out.Causes[0]
}

func ruledOut(out doctor.RelayJSON, name string) bool {
	for _, c := range out.RuledOut {
		if c.Name == name {
			return true
		}
	}
	return false
}

// waitMined waits until h is mined and its block is the latest, where doctor
// relay's search starts.
func waitMined(t *testing.T, e *clitest.Env, h common.Hash) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := devchain.WaitMined(ctx, e.Anvil.URL, h); err != nil {
		t.Fatal(err)
	}
}

// A healthy relayer: nothing to blame, every cause of the runbook's table ruled out
// with the reading that rules it out; the seeded completions are its recent
// transactions and the escrow's events.
func TestRelayHealthy(t *testing.T) {
	e, _ := env(t)
	out := relay(t, e, 0)
	if len(out.Causes) != 0 || out.Relayer != e.D.Relayer.Hex() {
		t.Fatalf("causes %+v", out.Causes)
	}
	for _, n := range []string{"Relayer out of gas", "High gas prices", "Contract paused", "RPC node issues", "Invalid signatures"} {
		if !ruledOut(out, n) {
			t.Errorf("%q not ruled out: %+v", n, out.RuledOut)
		}
	}
	if len(out.Transactions) == 0 || out.Events["CompletionSubmitted"] == 0 {
		t.Errorf("transactions %d, events %v", len(out.Transactions), out.Events)
	}
	r := e.MustRun(0, "doctor", "relay")
	for _, want := range []string{"DOCTOR relay", "TRANSACTIONS", "EVENTS", "CompletionSubmitted", "NO CAUSE FOUND", "ruled out: Relayer out of gas"} {
		if !strings.Contains(r.Stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, r)
		}
	}
}

// A paused escrow: "contract paused" first, from its paused() and from the
// relayer's transaction to it, which reverted EnforcedPause and is listed. (Each
// cause's evidence and rank are pkg/doctor's TestRelayCausesRankedByEvidence; the
// tests here prove that the chain's readings reach the judge.)
func TestRelayPausedEscrow(t *testing.T) {
	e, _ := env(t)
	ctx := context.Background()
	e.Vars["JOB_ESCROW_ADDRESS"] = e.D.PausableEscrow.Hex()
	if _, err := devchain.Transact(ctx, e.Anvil.URL, devchain.DevKey(devchain.AccountAdmin), e.D.PausableEscrow, devchain.ContractPausableEscrow, "pause"); err != nil {
		t.Fatal(err)
	}
	data := vrwx.Pack(vrwx.EscrowABI(), "submitCompletionV2", big.NewInt(1), [32]byte{1}, uint8(100), uint32(1), make([]byte, 65))
	h, err := devchain.SendRawTx(ctx, e.Anvil.URL, devchain.DevKey(devchain.AccountRelayer), devchain.RawTx{To: e.D.PausableEscrow, Data: data, Gas: 300_000})
	if err != nil {
		t.Fatal(err)
	}
	waitMined(t, e, h)
	out := relay(t, e, 1)
	c := firstCause(t, out, "Contract paused")
	if !strings.Contains(c.Fix, "unpause") {
		t.Fatalf("cause %+v", c)
	}
	if len(out.Transactions) == 0 || out.Transactions[0].Hash != h.Hex() || out.Transactions[0].State != "reverted" ||
		out.Transactions[0].Revert == nil || out.Transactions[0].Revert.Error != "EnforcedPause" {
		t.Fatalf("newest transaction %+v", out.Transactions)
	}
	if ev := strings.Join(c.Evidence, " "); !strings.Contains(ev, "paused() is true") || !strings.Contains(ev, h.Hex()) {
		t.Fatalf("evidence %q", ev)
	}
}

// The relayer's completion reverted InvalidSignature (signed by the wrong key):
// "invalid signatures" first, pointing at doctor signature with the job.
func TestRelayInvalidSignature(t *testing.T) {
	e, _ := env(t)
	ctx := context.Background()
	job := e.D.Jobs[devchain.JobFunded]
	cp, err := devchain.SignJobCompletion(ctx, e.D, job, crypto.Keccak256Hash([]byte("m")), 100, 12, devchain.DevKey(9), e.D.ChainID, e.D.Escrow)
	if err != nil {
		t.Fatal(err)
	}
	data := vrwx.Pack(vrwx.EscrowABI(), "submitCompletionV2", new(big.Int).SetUint64(job), cp.CompletionHash, uint8(100), uint32(12), cp.Signature)
	h, err := devchain.SendRawTx(ctx, e.Anvil.URL, devchain.DevKey(devchain.AccountRelayer), devchain.RawTx{To: e.D.Escrow, Data: data, Gas: 300_000})
	if err != nil {
		t.Fatal(err)
	}
	waitMined(t, e, h)

	// Through a node without Otterscan: the nonce scan finds it too.
	p := devchain.StartNodeProxy(t, e.Anvil.URL)
	p.Disable("ots_")
	e.Vars["RPC_URL"] = p.URL
	// Failed completions are a warning: the relayer itself is fine.
	out := relay(t, e, 5)
	c := firstCause(t, out, "Invalid signatures")
	if !strings.Contains(c.Fix, "doctor signature ROBOT --job "+strconv.FormatUint(job, 10)) || !strings.Contains(strings.Join(c.Evidence, " "), h.Hex()) {
		t.Fatalf("cause %+v", c)
	}
	if out.Transactions[0].Revert == nil || out.Transactions[0].Revert.Error != "InvalidSignature" {
		t.Fatalf("newest %+v", out.Transactions[0])
	}
	r := e.Run("doctor", "relay")
	for _, want := range []string{"nonce scan", "reverted: InvalidSignature", "LIKELY CAUSES", "1. ! Invalid signatures"} {
		if !strings.Contains(r.Stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, r)
		}
	}
}

// A transaction queued behind a missing nonce: "nonce gap" first; one waiting in
// the mempool (mining off) is a warning.
func TestRelayStuckAndNonceGap(t *testing.T) {
	e, _ := env(t)
	ctx := context.Background()
	if err := e.Anvil.SetAutomine(ctx, false); err != nil {
		t.Fatal(err)
	}
	key := devchain.DevKey(devchain.AccountRelayer)
	if _, err := devchain.SendRawTx(ctx, e.Anvil.URL, key, devchain.RawTx{To: e.D.Treasury, Value: big.NewInt(1)}); err != nil {
		t.Fatal(err)
	}
	out := relay(t, e, 5)
	if len(out.Causes) != 1 || out.Causes[0].Name != "High gas prices" || out.Causes[0].Level != "warn" || !strings.Contains(out.Causes[0].Fix, "tx speedup") {
		t.Fatalf("pending: %+v", out.Causes)
	}
	var pending hexutil.Uint64
	if err := e.Anvil.RPC(ctx, &pending, "eth_getTransactionCount", e.D.Relayer.Hex(), "pending"); err != nil {
		t.Fatal(err)
	}
	gapNonce := uint64(pending) + 1
	if _, err := devchain.SendRawTx(ctx, e.Anvil.URL, key, devchain.RawTx{To: e.D.Treasury, Value: big.NewInt(1), Nonce: &gapNonce}); err != nil {
		t.Fatal(err)
	}
	c := firstCause(t, relay(t, e, 1), "Nonce gap")
	if !strings.Contains(strings.Join(c.Evidence, " "), "nonce "+strconv.FormatUint(uint64(pending), 10)) {
		t.Fatalf("cause %+v", c)
	}
}

// The first RPC URL dead: "RPC node issues", switch to the backup; the API
// relaying from another key is a cause too.
func TestRelayRPCAndAPI(t *testing.T) {
	e, api := env(t)
	e.Vars["RPC_URL"] = monitortest.DeadURL(t) + "," + e.Anvil.URL
	c := firstCause(t, relay(t, e, 5), "RPC node issues")
	if !strings.Contains(c.Fix, "switch to the backup RPC") {
		t.Fatalf("cause %+v", c)
	}
	e.Vars["RPC_URL"] = e.Anvil.URL

	api.SetRelayer(healthtest.Static(devchain.DevAddress(6)))
	c = firstCause(t, relay(t, e, 1), "API down or relaying from another key")
	if !strings.Contains(c.Fix, "rollout restart") {
		t.Fatalf("cause %+v", c)
	}
}

func signature(t *testing.T, e *clitest.Env, want int, args ...string) doctor.SignatureJSON {
	t.Helper()
	r := e.Run(append([]string{"doctor", "signature", "-o", "json"}, args...)...)
	if r.Code != want {
		t.Fatalf("want exit %d:\n%s", want, r)
	}
	var out doctor.SignatureJSON
	r.JSON(t, &out)
	return out
}

// The runbook's four signature causes, each found: not registered, deactivated,
// wrong controller signing, signature for the wrong chain — and a good claim of an
// active robot passes.
func TestSignatureCauses(t *testing.T) {
	e := clitest.NewChain(t)
	ctx := context.Background()
	active := e.D.Robots[devchain.RobotActive].ID.Hex()

	out := signature(t, e, 1, e.D.Robots[devchain.RobotUnregistered].ID.Hex())
	if len(out.Causes) == 0 || out.Causes[0].Name != "Robot not registered" || out.Registered {
		t.Fatalf("unregistered %+v", out)
	}
	out = signature(t, e, 1, e.D.Robots[devchain.RobotDeactivated].ID.Hex())
	if len(out.Causes) == 0 || out.Causes[0].Name != "Robot deactivated" || !out.Registered || out.Active {
		t.Fatalf("deactivated %+v", out)
	}
	out = signature(t, e, 0, "tenant-demo:active")
	if out.RobotID != active || len(out.Causes) != 0 || out.Controller != devchain.DevAddress(devchain.AccountActiveController).Hex() {
		t.Fatalf("by name %+v", out)
	}

	job := e.D.Jobs[devchain.JobFunded]
	claim := func(key int, chainID uint64) []string {
		cp, err := devchain.SignJobCompletion(ctx, e.D, job, crypto.Keccak256Hash([]byte("doctor")), 100, 12, devchain.DevKey(key), chainID, e.D.Escrow)
		if err != nil {
			t.Fatal(err)
		}
		return []string{active, "--job", strconv.FormatUint(job, 10), "--completion-hash", cp.CompletionHash.Hex(), "--quality", "100", "--work-units", "12", "--sig", hexutil.Encode(cp.Signature)}
	}
	if out := signature(t, e, 0, claim(devchain.AccountActiveController, e.D.ChainID)...); len(out.Causes) != 0 || out.Verdict == nil || !out.Verdict.Valid {
		t.Fatalf("good claim %+v", out)
	}
	out = signature(t, e, 1, claim(9, e.D.ChainID)...)
	if len(out.Causes) == 0 || out.Causes[0].Name != "Wrong controller signing" {
		t.Fatalf("wrong signer %+v", out.Causes)
	}
	out = signature(t, e, 1, claim(devchain.AccountActiveController, 8453)...)
	if len(out.Causes) == 0 || out.Causes[0].Name != "Signature for wrong chain" {
		t.Fatalf("wrong chain %+v", out.Causes)
	}
	r := e.Run(append([]string{"doctor", "signature"}, claim(9, e.D.ChainID)...)...)
	for _, want := range []string{"DOCTOR signature", "REGISTRY", "CLAIM", "LIKELY CAUSES", "Wrong controller signing"} {
		if !strings.Contains(r.Stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, r)
		}
	}
}

func TestBadInput(t *testing.T) {
	e := clitest.New(t)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"relay", "--blocks", "0"}, `--blocks "0"`},
		{[]string{"relay", "--limit", "0"}, "--limit 0"},
		{[]string{"relay", "--address", "0x12"}, "--address"},
		{[]string{"signature", "0x12"}, "ROBOT"},
		{[]string{"signature", ":x"}, "tenantId:robotName"},
		{[]string{"signature", "tenant:r", "--job", "1"}, "got 1 of 5"},
	} {
		r := e.Run(append([]string{"doctor"}, c.args...)...)
		if r.Code != 2 || !strings.Contains(r.Stderr, c.want) {
			t.Errorf("%v: want exit 2 naming %q:\n%s", c.args, c.want, r)
		}
	}
}

// An RPC on another chain is refused (exit 3) before anything is judged or printed.
func TestRelayWrongChainIsRefused(t *testing.T) {
	e := clitest.New(t)
	a := devchain.StartAnvilT(t, devchain.AnvilOptions{ChainID: 8453})
	e.Vars["RPC_URL"] = a.URL
	r := e.Run("doctor", "relay")
	if r.Code != 3 || !strings.Contains(r.Stderr, "chain 8453") || r.Stdout != "" {
		t.Fatalf("want exit 3 and no data:\n%s", r)
	}
}

// With the only RPC down the outage is the cause; what needs the chain is neither
// blamed nor ruled out but "not judged", and the refusal is named at most twice.
func TestRelayRPCDown(t *testing.T) {
	t.Parallel()
	e, _ := env(t)
	e.Vars["RPC_URL"] = monitortest.DeadURL(t)
	out := relay(t, e, 1)
	if c := firstCause(t, out, "RPC node issues"); !strings.Contains(c.Fix, "make devchain") {
		t.Fatalf("cause %+v", c)
	}
	if len(out.Causes) != 1 {
		t.Errorf("only the RPC is to blame, causes %+v", out.Causes)
	}
	for _, name := range []string{"Relayer out of gas", "High gas prices", "Contract paused", "Invalid signatures"} {
		notJudged := false
		for _, c := range out.NotJudged {
			notJudged = notJudged || c.Name == name
		}
		if ruledOut(out, name) || !notJudged {
			t.Errorf("%s: ruled out %v, not judged %v (%+v)", name, ruledOut(out, name), notJudged, out.NotJudged)
		}
	}
	r := e.Run("doctor", "relay")
	if n := strings.Count(r.Stdout+r.Stderr, "refused"); n == 0 || n > 2 {
		t.Errorf("the refusal is named %d times:\n%s", n, r)
	}
}
