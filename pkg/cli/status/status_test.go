package status_test

import (
	"context"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/vrwx/vrwxctl/pkg/cli/clitest"
	"github.com/vrwx/vrwxctl/pkg/cli/status"
	"github.com/vrwx/vrwxctl/pkg/devchain"
	"github.com/vrwx/vrwxctl/pkg/doctor"
	"github.com/vrwx/vrwxctl/pkg/units"
)

func TestMain(m *testing.M) { clitest.Main(m) }

func checkByName(t *testing.T, s status.JSON, name string) doctor.Check {
	t.Helper()
	for _, c := range s.Checks {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no %q check in %+v", name, s.Checks)
	return doctor.Check{}
}

func setBalance(t *testing.T, e *clitest.Env, addr string, wei string) {
	t.Helper()
	if err := e.Anvil.RPC(context.Background(), nil, "anvil_setBalance", addr, wei); err != nil {
		t.Fatal(err)
	}
}

func TestHealthyRelayerExitsZero(t *testing.T) {
	t.Parallel()
	e := clitest.NewChain(t)
	r := e.MustRun(0, "status")
	for _, want := range []string{"RELAYER", e.D.Relayer.Hex(), "balance", "9999.", "nonce", "gas price", "chain head", "OK"} {
		if !strings.Contains(r.Stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, r)
		}
	}
	var s status.JSON
	e.MustRun(0, "status", "-o", "json").JSON(t, &s)
	if s.Level != doctor.OK || s.Relayer != e.D.Relayer.Hex() || s.ChainID != 31337 || s.Profile != "local" {
		t.Fatalf("json %+v", s)
	}
}

func TestThresholdsDecideExitCode(t *testing.T) {
	t.Parallel()
	e := clitest.NewChain(t)
	addr := devchain.DevAddress(7).Hex()

	setBalance(t, e, addr, hexutil.EncodeBig(mustWei("0.1"))) // below 0.2 warning, above 0.05 critical
	var s status.JSON
	r := e.Run("status", "--address", addr, "-o", "json")
	if r.Code != 5 {
		t.Fatalf("0.1 ETH: want exit 5 (warnings only):\n%s", r)
	}
	r.JSON(t, &s)
	if c := checkByName(t, s, "balance"); c.Level != doctor.Warn || !strings.Contains(c.Fix, "wallet fund --to "+addr) {
		t.Fatalf("balance check %+v", c)
	}

	setBalance(t, e, addr, hexutil.EncodeBig(mustWei("0.01")))
	r = e.Run("status", "--address", addr)
	if r.Code != 1 || !strings.Contains(r.Stdout, "top up immediately") || !strings.Contains(r.Stdout, "CRITICAL") {
		t.Fatalf("0.01 ETH: want exit 1 with the runbook's fix:\n%s", r)
	}

	// The alert rule's 0.1 ETH critical line, configured per profile.
	e.WriteConfig("profiles:\n  local:\n    balance_crit_eth: 0.1\n    balance_warn_eth: 0.5\n")
	setBalance(t, e, addr, hexutil.EncodeBig(mustWei("0.09")))
	if r := e.Run("status", "--address", addr); r.Code != 1 {
		t.Fatalf("0.09 ETH with critical at 0.1: want exit 1:\n%s", r)
	}
}

func TestPendingTransactionsWarn(t *testing.T) {
	t.Parallel()
	e := clitest.NewChain(t)
	ctx := context.Background()
	if err := e.Anvil.SetAutomine(ctx, false); err != nil {
		t.Fatal(err)
	}
	from := devchain.DevAddress(8).Hex()
	for i := 0; i < 2; i++ {
		tx := map[string]any{"from": from, "to": devchain.DevAddress(9).Hex(), "value": "0x1"}
		if err := e.Anvil.RPC(ctx, nil, "eth_sendTransaction", tx); err != nil {
			t.Fatal(err)
		}
	}
	var s status.JSON
	r := e.Run("status", "--address", from, "-o", "json")
	if r.Code != 5 {
		t.Fatalf("want exit 5:\n%s", r)
	}
	r.JSON(t, &s)
	c := checkByName(t, s, "nonce")
	if c.Level != doctor.Warn || c.Value != "latest 0, pending 2" || !strings.Contains(c.Detail, "2 transaction(s) waiting") || !strings.Contains(c.Fix, "tx speedup --nonce 0") {
		t.Fatalf("nonce check %+v", c)
	}
}

func TestHighGasPriceIsCritical(t *testing.T) {
	t.Parallel()
	e := clitest.NewChain(t)
	// Base fee 150 gwei: above the 100 gwei critical line and the 50 gwei fee cap.
	if err := e.Anvil.RPC(context.Background(), nil, "anvil_setNextBlockBaseFeePerGas", hexutil.EncodeBig(mustWei("0.00000015"))); err != nil {
		t.Fatal(err)
	}
	if err := e.Anvil.Mine(context.Background()); err != nil {
		t.Fatal(err)
	}
	var s status.JSON
	r := e.Run("status", "-o", "json")
	if r.Code != 1 {
		t.Fatalf("want exit 1:\n%s", r)
	}
	r.JSON(t, &s)
	if c := checkByName(t, s, "gas price"); c.Level != doctor.Crit {
		t.Fatalf("gas check %+v", c)
	}
	if c := checkByName(t, s, "fee cap"); c.Level != doctor.Crit || !strings.Contains(c.Fix, "MAX_FEE_PER_GAS_GWEI") {
		t.Fatalf("fee cap check %+v", c)
	}
}

// status reads everything in one HTTP round trip, chain-id guard included.
func TestStatusIsOneRoundTrip(t *testing.T) {
	t.Parallel()
	e := clitest.NewChain(t)
	u, _ := url.Parse(e.Anvil.URL)
	var n atomic.Int64
	p := httputil.NewSingleHostReverseProxy(u)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { n.Add(1); p.ServeHTTP(w, r) }))
	defer srv.Close()
	e.Vars["RPC_URL"] = srv.URL
	e.MustRun(0, "status")
	if n.Load() != 1 {
		t.Fatalf("status made %d HTTP requests, want 1", n.Load())
	}
}

func mustWei(eth string) *big.Int {
	v, err := units.ParseAmount(eth)
	if err != nil {
		panic(err)
	}
	return v
}
