package chain

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/ethereum/go-ethereum/common/hexutil"
	"time"

	"github.com/vrwx/vrwxctl/pkg/devchain"
	"github.com/vrwx/vrwxctl/pkg/errs"
)

// deadURL is a loopback address nothing listens on.
func deadURL(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := "http://" + l.Addr().String()
	l.Close()
	return u
}

// countingProxy forwards to target and counts HTTP requests.
func countingProxy(t *testing.T, target string) (string, *atomic.Int64) {
	u, _ := url.Parse(target)
	var n atomic.Int64
	p := httputil.NewSingleHostReverseProxy(u)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		p.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL, &n
}

func TestFailoverSkipsDeadAndErroringURLs(t *testing.T) {
	t.Parallel()
	a := devchain.StartAnvilT(t, devchain.AnvilOptions{})
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "upstream down", http.StatusServiceUnavailable)
	}))
	defer failing.Close()
	var log strings.Builder
	c := New(Options{URLs: []string{deadURL(t), failing.URL, a.URL}, ChainID: 31337,
		Logf: func(f string, args ...any) { log.WriteString(strings.TrimSpace(f) + "\n") }})
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	bal, err := c.BalanceAt(ctx, devchain.DevAddress(9), Latest)
	if err != nil {
		t.Fatal(err)
	}
	if bal.Sign() <= 0 {
		t.Fatalf("balance %s, want anvil's funded dev account", bal)
	}
	if c.URL() != a.URL {
		t.Fatalf("client settled on %s, want %s", c.URL(), a.URL)
	}
	if got := strings.Count(log.String(), "failed"); got != 2 {
		t.Fatalf("want 2 failover notices, got %d:\n%s", got, log.String())
	}
	if !strings.Contains(log.String(), "retrying") {
		t.Fatalf("503 is transient and should be retried before moving on:\n%s", log.String())
	}
}

func TestAllURLsDownListsEach(t *testing.T) {
	t.Parallel()
	d1, d2 := deadURL(t), deadURL(t)
	c := New(Options{URLs: []string{d1, d2}, ChainID: 31337})
	_, err := c.BalanceAt(context.Background(), devchain.DevAddress(0), Latest)
	if errs.KindOf(err) != errs.Failed {
		t.Fatalf("want exit-1 error, got %v", err)
	}
	for _, u := range []string{d1, d2} {
		if !strings.Contains(err.Error(), u) {
			t.Errorf("error does not list %s: %v", u, err)
		}
	}
	if !strings.Contains(err.Error(), "refused") {
		t.Errorf("error does not say why: %v", err)
	}
}

func TestChainIDGuardRefusesBeforeReturningData(t *testing.T) {
	t.Parallel()
	a := devchain.StartAnvilT(t, devchain.AnvilOptions{ChainID: 8453})
	c := New(Options{URLs: []string{a.URL}, ChainID: 31337})
	bal, err := c.BalanceAt(context.Background(), devchain.DevAddress(0), Latest)
	if errs.KindOf(err) != errs.Refused || bal != nil {
		t.Fatalf("want refusal and no data, got %v, %v", bal, err)
	}
	if !strings.Contains(err.Error(), "chain 8453") || !strings.Contains(err.Error(), "expects chain 31337") {
		t.Fatalf("message should name both chain ids: %v", err)
	}
	// A later URL on the right chain does not rescue a misconfigured one: refuse.
	good := devchain.StartAnvilT(t, devchain.AnvilOptions{})
	c2 := New(Options{URLs: []string{a.URL, good.URL}, ChainID: 31337})
	if _, err := c2.BalanceAt(context.Background(), devchain.DevAddress(0), Latest); errs.KindOf(err) != errs.Refused {
		t.Fatalf("want refusal, got %v", err)
	}
}

func TestBatchIsOneRoundTripAndSplitsLargeBatches(t *testing.T) {
	t.Parallel()
	a := devchain.StartAnvilT(t, devchain.AnvilOptions{})
	proxy, n := countingProxy(t, a.URL)
	c := New(Options{URLs: []string{proxy}, ChainID: 31337, MaxBatch: 50})
	ctx := context.Background()
	b := c.NewBatch()
	bal := b.Balance(devchain.DevAddress(1), Latest)
	nonce := b.Nonce(devchain.DevAddress(1), Pending)
	head := b.Header(Latest)
	gas := b.GasPrice()
	if err := b.Do(ctx); err != nil {
		t.Fatal(err)
	}
	if got := n.Load(); got != 1 {
		t.Fatalf("balance+nonce+head+gas+chain id took %d HTTP requests, want 1", got)
	}
	if bal.Err() != nil || nonce.Err() != nil || head.Err() != nil || gas.Err() != nil || head.Value == nil || bal.Value.ToInt().Sign() <= 0 {
		t.Fatalf("bad results: %v %v %v %v", bal.Err(), nonce.Err(), head.Err(), gas.Err())
	}
	n.Store(0)
	b = c.NewBatch()
	var rs []*Result[hexutil.Big]
	for i := 0; i < 120; i++ {
		rs = append(rs, b.Balance(devchain.DevAddress(i%10), Latest))
	}
	if err := b.Do(ctx); err != nil {
		t.Fatal(err)
	}
	if got := n.Load(); got != 3 {
		t.Fatalf("120 calls with MaxBatch 50 took %d requests, want 3", got)
	}
	for i, r := range rs {
		if r.Err() != nil || r.Value.ToInt().Sign() <= 0 {
			t.Fatalf("call %d: %v", i, r.Err())
		}
	}
}

func TestRevertIsPerCallNotFailover(t *testing.T) {
	t.Parallel()
	_, d := devchain.StartT(t)
	var log strings.Builder
	c := New(Options{URLs: []string{d.RPCURL}, ChainID: 31337, Logf: func(f string, a ...any) { log.WriteString(f) }})
	b := c.NewBatch()
	// getJob on an id that does not exist is fine (zeros); calling a non-function reverts.
	r := b.Call(d.Escrow, []byte{0xde, 0xad, 0xbe, 0xef}, Latest)
	ok := b.Balance(d.Relayer, Latest)
	if err := b.Do(context.Background()); err != nil {
		t.Fatal(err)
	}
	if r.Err() == nil || ok.Err() != nil {
		t.Fatalf("want the bad call to fail alone: %v / %v", r.Err(), ok.Err())
	}
	if log.Len() != 0 {
		t.Fatalf("a revert must not trigger retries or failover: %s", log.String())
	}
}

func TestRedactURL(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		"https://mainnet.base.org":                               "https://mainnet.base.org",
		"https://base-mainnet.g.alchemy.com/v2/abcdef0123456789": "https://base-mainnet.g.alchemy.com/***",
		"https://user:pass@rpc.example/":                         "https://***@rpc.example",
		"http://127.0.0.1:8545":                                  "http://127.0.0.1:8545",
		"https://rpc.example/?apikey=secret":                     "https://rpc.example/***",
	}
	for in, want := range cases {
		if got := RedactURL(in); got != want {
			t.Errorf("RedactURL(%q) = %q, want %q", in, got, want)
		}
	}
}
