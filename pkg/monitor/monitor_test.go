package monitor_test

import (
	"context"
	"errors"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/vrwx/vrwxctl/pkg/apidb/apidbtest"
	"github.com/vrwx/vrwxctl/pkg/chain"
	"github.com/vrwx/vrwxctl/pkg/devchain"
	"github.com/vrwx/vrwxctl/pkg/errs"
	"github.com/vrwx/vrwxctl/pkg/health"
	"github.com/vrwx/vrwxctl/pkg/health/healthtest"
	"github.com/vrwx/vrwxctl/pkg/monitor"
	"github.com/vrwx/vrwxctl/pkg/monitor/monitortest"
)

func reader(urls []string, relayers []common.Address) *monitor.Reader {
	return &monitor.Reader{
		Chain:     chain.New(chain.Options{URLs: urls, ChainID: devchain.DefaultChainID}),
		Endpoints: monitor.NewEndpoints(urls, devchain.DefaultChainID),
		Relayers:  relayers,
	}
}

func rpc(t *testing.T, a *devchain.Anvil, result any, method string, args ...any) {
	t.Helper()
	if err := a.RPC(context.Background(), result, method, args...); err != nil {
		t.Fatal(err)
	}
}

// Everything the exporter publishes, read against a chain whose values the test set,
// and compared with what the node itself answers.
func TestReadMatchesTheChain(t *testing.T) {
	a, d := devchain.StartT(t)
	ctx := context.Background()
	second := devchain.DevAddress(7)
	rpc(t, a, nil, "anvil_setBalance", d.Relayer.Hex(), "0x2c68af0bb140000") // 0.2 ETH
	rpc(t, a, nil, "anvil_setBalance", second.Hex(), "0xb1a2bc2ec50000")     // 0.05 ETH
	// Two transactions from the second relayer wait in the mempool.
	if err := a.SetAutomine(ctx, false); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		rpc(t, a, nil, "eth_sendTransaction", map[string]any{"from": second.Hex(), "to": d.Treasury.Hex(), "value": "0x1"})
	}
	var nonce hexutil.Uint64
	rpc(t, a, &nonce, "eth_getTransactionCount", d.Relayer.Hex(), "latest")

	api := healthtest.New(t, healthtest.Options{Relayer: healthtest.Static(d.Relayer)})
	r := reader([]string{a.URL}, []common.Address{d.Relayer, second})
	r.Escrow, r.APIURL = &d.Escrow, api.URL
	got := r.Read(ctx)

	if !got.Chain.Up || got.Chain.Err != nil || got.Chain.ChainID != 31337 || got.Chain.RPC != a.URL {
		t.Fatalf("chain %+v", got.Chain)
	}
	want := []monitor.Relayer{
		{Address: d.Relayer, Balance: mustBig("200000000000000000"), NonceLatest: uint64(nonce), NoncePending: uint64(nonce)},
		{Address: second, Balance: mustBig("50000000000000000"), NonceLatest: 0, NoncePending: 2},
	}
	for i, w := range want {
		g := got.Relayers[i]
		if g.Err != nil || g.Address != w.Address || g.Balance.Cmp(w.Balance) != 0 || g.NonceLatest != w.NonceLatest || g.NoncePending != w.NoncePending {
			t.Errorf("relayer %d: got %+v, want %+v", i, g, w)
		}
	}
	if got.Relayers[1].Pending() != 2 {
		t.Errorf("pending %d", got.Relayers[1].Pending())
	}
	var gasPrice hexutil.Big
	rpc(t, a, &gasPrice, "eth_gasPrice")
	var head struct {
		Number  hexutil.Uint64 `json:"number"`
		BaseFee hexutil.Big    `json:"baseFeePerGas"`
	}
	rpc(t, a, &head, "eth_getBlockByNumber", "latest", false)
	if got.Gas.Err != nil || got.Gas.Price.Cmp(gasPrice.ToInt()) != 0 || got.Gas.BaseFee.Cmp(head.BaseFee.ToInt()) != 0 {
		t.Errorf("gas %+v, node says price %s base fee %s", got.Gas, gasPrice.ToInt(), head.BaseFee.ToInt())
	}
	if got.Head.Err != nil || got.Head.Number != uint64(head.Number) {
		t.Errorf("head %+v, node says %d", got.Head, head.Number)
	}
	if got.Escrow == nil || got.Escrow.Err != nil || got.Escrow.JobCount.Int64() != int64(len(d.Jobs)) {
		t.Errorf("escrow %+v, want %d jobs", got.Escrow, len(d.Jobs))
	}
	if len(got.RPCs) != 1 || !got.RPCs[0].Up || got.RPCs[0].Head != uint64(head.Number) || got.RPCs[0].Lag != 0 || got.RPCs[0].Latency <= 0 {
		t.Errorf("rpcs %+v", got.RPCs)
	}
	if got.API == nil || !got.API.Up || got.API.Health.RelayerAddress == nil || *got.API.Health.RelayerAddress != d.Relayer || got.API.Latency <= 0 {
		t.Errorf("api %+v", got.API)
	}
	if got.DLQ != nil {
		t.Errorf("no database configured, yet a DLQ reading: %+v", got.DLQ)
	}
}

// The chain part costs one HTTP request per refresh with one RPC URL, and one per URL
// with several (the others are probed at the same time, not one after another).
func TestOneRequestPerEndpoint(t *testing.T) {
	a, d := devchain.StartT(t)
	p1, p2 := monitortest.NewProxy(t, a.URL), monitortest.NewProxy(t, a.URL)
	relayers := []common.Address{d.Relayer, devchain.DevAddress(7), devchain.DevAddress(8)}

	one := reader([]string{p1.URL}, relayers)
	one.Escrow = &d.Escrow
	for i := range 3 {
		p1.ResetRequests()
		if got := one.Read(context.Background()); !got.Chain.Up || got.Escrow.Err != nil {
			t.Fatalf("read %d: %+v", i, got.Chain)
		}
		if n := p1.Requests(); n != 1 {
			t.Fatalf("read %d with one URL: %d HTTP requests, want 1", i, n)
		}
	}

	two := reader([]string{p1.URL, p2.URL}, relayers)
	two.Escrow = &d.Escrow
	p1.ResetRequests()
	got := two.Read(context.Background())
	if p1.Requests() != 1 || p2.Requests() != 1 {
		t.Fatalf("two URLs: %d + %d requests, want 1 + 1", p1.Requests(), p2.Requests())
	}
	if !got.RPCs[0].Up || !got.RPCs[1].Up || got.RPCs[0].Head != got.RPCs[1].Head {
		t.Fatalf("rpcs %+v", got.RPCs)
	}
}

// A dead RPC, a wrong-chain RPC and a lagging one are readings, not failures; the
// batch still goes through the healthy one.
func TestEndpointsDownWrongChainAndLagging(t *testing.T) {
	a, d := devchain.StartT(t)
	behind := devchain.StartAnvilT(t, devchain.AnvilOptions{}) // same chain id, fresh: head 0
	other := devchain.StartAnvilT(t, devchain.AnvilOptions{ChainID: 8453})
	dead := monitortest.DeadURL(t)

	r := reader([]string{dead, a.URL, behind.URL, other.URL}, []common.Address{d.Relayer})
	got := r.Read(context.Background())
	if !got.Chain.Up || got.Chain.RPC != a.URL || got.Relayers[0].Err != nil {
		t.Fatalf("chain %+v relayers %+v", got.Chain, got.Relayers)
	}
	rp := got.RPCs
	if rp[0].Up || rp[0].Err == nil || !strings.Contains(rp[0].Err.Error(), "failed over to "+a.URL) {
		t.Errorf("dead first URL: %+v", rp[0])
	}
	if !rp[1].Up || rp[1].Lag != 0 || rp[1].Head != got.Head.Number {
		t.Errorf("leader: %+v", rp[1])
	}
	if !rp[2].Up || rp[2].Head != 0 || rp[2].Lag != got.Head.Number {
		t.Errorf("lagging: %+v, want head 0 and lag %d", rp[2], got.Head.Number)
	}
	if rp[3].Up || !errs.Is(rp[3].Err, errs.Refused) || !strings.Contains(rp[3].Err.Error(), "chain 8453") {
		t.Errorf("wrong chain: %+v", rp[3])
	}

	// Next read: the client stays on the URL that answered; the dead one is probed.
	got = r.Read(context.Background())
	if rp := got.RPCs[0]; rp.Up || rp.Err == nil || !strings.Contains(rp.Err.Error(), "refused") {
		t.Errorf("dead first URL, second read: %+v", rp)
	}
	if !got.RPCs[1].Up {
		t.Errorf("leader, second read: %+v", got.RPCs[1])
	}
}

// With no chain at all, the API and the database are still read.
func TestPartsFailIndependently(t *testing.T) {
	f, err := apidbtest.BuildFixture(context.Background(), filepath.Join(t.TempDir(), "vrwx.db"), apidbtest.FixtureOptions{DLQEvents: 40})
	if err != nil {
		t.Fatal(err)
	}
	api := healthtest.New(t, healthtest.Options{})
	dead := monitortest.DeadURL(t)
	escrow := common.HexToAddress("0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0")
	r := reader([]string{dead}, []common.Address{devchain.DevAddress(2)})
	r.Escrow, r.APIURL, r.DBPath = &escrow, api.URL, f.Path
	r.Health = &health.Client{Timeout: 2 * time.Second}

	got := r.Read(context.Background())
	if got.Chain.Up || got.Chain.Err == nil || got.Relayers[0].Err == nil || got.Escrow.Err == nil || got.Gas.Err == nil || got.RPCs[0].Up {
		t.Fatalf("chain down, yet: chain %+v relayers %+v escrow %+v", got.Chain, got.Relayers, got.Escrow)
	}
	if got.API == nil || !got.API.Up {
		t.Fatalf("api %+v", got.API)
	}
	want := sqliteInt(t, f.Path, "SELECT count(*) FROM dlq_events WHERE resolved_at IS NULL")
	if got.DLQ == nil || got.DLQ.Err != nil || got.DLQ.Summary.Depth != want || want == 0 {
		t.Fatalf("dlq %+v, sqlite3 says %d unresolved", got.DLQ, want)
	}

	api.Stop()
	r.DBPath = filepath.Join(t.TempDir(), "missing.db")
	got = r.Read(context.Background())
	if got.API.Up || !errors.Is(got.API.Err, health.ErrDown) {
		t.Errorf("api down: %+v", got.API)
	}
	if got.DLQ.Err == nil || !strings.Contains(got.DLQ.Err.Error(), "does not exist") {
		t.Errorf("missing database: %+v", got.DLQ)
	}
	if _, err := os.Stat(r.DBPath); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("reading a missing database created it")
	}
}

// An address with no escrow behind it is the escrow reading's error, nothing else's.
func TestEscrowWithoutCode(t *testing.T) {
	a, d := devchain.StartT(t)
	nothing := devchain.DevAddress(9)
	r := reader([]string{a.URL}, []common.Address{d.Relayer})
	r.Escrow = &nothing
	got := r.Read(context.Background())
	if !got.Chain.Up || got.Relayers[0].Err != nil || got.Escrow.Err == nil || !strings.Contains(got.Escrow.Err.Error(), "is there a JobEscrow") {
		t.Fatalf("chain %+v escrow %+v", got.Chain, got.Escrow)
	}
}

func mustBig(s string) *big.Int {
	v, ok := new(big.Int).SetString(s, 10)
	if !ok {
		panic(s)
	}
	return v
}

func sqliteInt(t *testing.T, db, q string) int64 {
	t.Helper()
	p, err := exec.LookPath("sqlite3")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("sqlite3 CLI is required in CI as the test oracle: %v", err)
		}
		t.Skip("sqlite3 CLI not installed; it is the oracle for this test")
	}
	out, err := exec.Command(p, db, q).CombinedOutput()
	if err != nil {
		t.Fatalf("sqlite3 %q: %v\n%s", q, err, out)
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
