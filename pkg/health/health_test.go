package health_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/vrwx/vrwxctl/pkg/errs"
	"github.com/vrwx/vrwxctl/pkg/health"
	"github.com/vrwx/vrwxctl/pkg/health/healthtest"
)

var relayer = common.HexToAddress("0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC")

func TestGetDecodesTheSpecJSON(t *testing.T) {
	srv := healthtest.New(t, healthtest.Options{ChainID: 8453, Relayer: healthtest.Static(relayer)})
	var c health.Client
	res, err := c.Get(context.Background(), srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	h := res.Health
	if h.Status != "ok" || h.ChainID != 8453 || h.RelayMode != "relay" || h.RelayerAddress == nil || *h.RelayerAddress != relayer ||
		!h.StrictMode || !h.StorageRequired || h.SchemaVersionString() != "7" || h.Timestamp == "" {
		t.Fatalf("decoded %+v", h)
	}
	if res.URL != srv.URL+"/health" || res.Latency <= 0 {
		t.Fatalf("result %+v", res)
	}
	// A base URL with a trailing slash or already ending in /health reads the same endpoint.
	for _, u := range []string{srv.URL + "/", srv.URL + "/health"} {
		if _, err := c.Get(context.Background(), u); err != nil {
			t.Errorf("%s: %v", u, err)
		}
	}
	if srv.Requests() != 3 {
		t.Fatalf("server saw %d requests, want 3", srv.Requests())
	}
}

func TestSelfSubmitReportsNoRelayer(t *testing.T) {
	srv := healthtest.New(t, healthtest.Options{})
	res, err := new(health.Client).Get(context.Background(), srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	if res.Health.RelayerAddress != nil || res.Health.RelayMode != "selfSubmit" {
		t.Fatalf("decoded %+v", res.Health)
	}
}

// The rotation tests serve the store's current key through a function: each read
// sees the function's answer at that moment.
func TestRelayerFunctionIsReadPerRequest(t *testing.T) {
	current := relayer
	srv := healthtest.New(t, healthtest.Options{Relayer: func() (common.Address, error) { return current, nil }})
	c := health.Client{}
	next := common.HexToAddress("0x90F79bf6EB2c4f870365E785982E1f101E93b906")
	for _, want := range []common.Address{relayer, next} {
		current = want
		res, err := c.Get(context.Background(), srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		if *res.Health.RelayerAddress != want {
			t.Fatalf("got %s, want %s", res.Health.RelayerAddress.Hex(), want.Hex())
		}
	}
	srv.SetRelayer(func() (common.Address, error) { return common.Address{}, errors.New("secret store down") })
	if _, err := c.Get(context.Background(), srv.URL); !errors.Is(err, health.ErrStatus) || !strings.Contains(err.Error(), "HTTP 500") {
		t.Fatalf("relayer function failing: %v", err)
	}
}

func TestFailuresAreNamed(t *testing.T) {
	srv := healthtest.New(t, healthtest.Options{Relayer: healthtest.Static(relayer)})
	c := health.Client{Timeout: 300 * time.Millisecond}
	ctx := context.Background()

	srv.SetHTTPStatus(http.StatusServiceUnavailable)
	_, err := c.Get(ctx, srv.URL)
	if !errors.Is(err, health.ErrStatus) || !strings.Contains(err.Error(), "HTTP 503 (expected 200)") || errs.KindOf(err) != errs.Failed || errs.FixOf(err) == "" {
		t.Fatalf("503: %v (kind %d, fix %q)", err, errs.KindOf(err), errs.FixOf(err))
	}
	srv.SetHTTPStatus(0)

	for body, want := range map[string]string{
		`<html>502 Bad Gateway</html>`: "not the /health JSON",
		`{"chainId": 1}`:               `no "status"`,
		`{"status":"ok"}`:              `no "chainId"`,
		`{"status":"ok","chainId":1,"relayerAddress":"0x1234"}`:    `relayerAddress "0x1234" is not an address`,
		`{"status":"ok","chainId":"eight thousand","relayMode":1}`: "not the /health JSON",
	} {
		srv.SetBody(body)
		_, err := c.Get(ctx, srv.URL)
		if !errors.Is(err, health.ErrBadBody) || !strings.Contains(err.Error(), want) {
			t.Errorf("body %s: got %v, want ErrBadBody mentioning %q", body, err, want)
		}
	}
	srv.ClearBody()

	// A slow API is down for an operator: the client's own timeout ends the request.
	srv.SetDelay(2 * time.Second)
	_, err = c.Get(ctx, srv.URL)
	if !errors.Is(err, health.ErrDown) || !strings.Contains(err.Error(), "no answer within 300ms") {
		t.Fatalf("slow API: %v", err)
	}
	srv.SetDelay(0)

	srv.Stop()
	_, err = c.Get(ctx, srv.URL)
	if !errors.Is(err, health.ErrDown) || !strings.Contains(err.Error(), "is down") || !strings.Contains(err.Error(), "refused") {
		t.Fatalf("stopped API: %v", err)
	}
	srv.Start()
	if _, err := c.Get(ctx, srv.URL); err != nil {
		t.Fatalf("API back on the same address: %v", err)
	}
}

// Providers and proxies put tokens in URLs; errors show the redacted form only.
func TestErrorsRedactTheURL(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "nope", http.StatusForbidden)
	}))
	defer ts.Close()
	secretURL := ts.URL + "/gateway/tok_9f8e7d6c5b4a39281706"
	_, err := new(health.Client).Get(context.Background(), secretURL)
	if err == nil || strings.Contains(err.Error(), "tok_9f8e7d6c5b4a39281706") || !strings.Contains(err.Error(), "HTTP 403") {
		t.Fatalf("error %v", err)
	}
	ts.Close()
	_, err = new(health.Client).Get(context.Background(), secretURL)
	if err == nil || strings.Contains(err.Error(), "tok_9f8e7d6c5b4a39281706") || !errors.Is(err, health.ErrDown) {
		t.Fatalf("down: %v", err)
	}
}

func TestCompare(t *testing.T) {
	other := common.HexToAddress("0x90F79bf6EB2c4f870365E785982E1f101E93b906")
	h := health.Health{Status: "ok", ChainID: 8453, RelayMode: "relay", RelayerAddress: &relayer}
	if m := health.Compare(h, health.Expect{ChainID: 8453, Relayer: &relayer}); len(m) != 0 {
		t.Fatalf("matching answer: %+v", m)
	}
	m := health.Compare(h, health.Expect{ChainID: 84532, Relayer: &other, RelayerFrom: "--expect-relayer"})
	if len(m) != 2 || m[0].Field != "chainId" || m[1].Field != "relayerAddress" ||
		!strings.Contains(m[1].Message, "relays from "+relayer.Hex()+", but "+other.Hex()+" was expected (--expect-relayer)") ||
		!strings.Contains(m[1].Fix, "rollout restart") {
		t.Fatalf("mismatches %+v", m)
	}
	selfSubmit := health.Health{Status: "degraded", ChainID: 8453, RelayMode: "selfSubmit"}
	m = health.Compare(selfSubmit, health.Expect{Relayer: &relayer})
	if len(m) != 2 || m[0].Field != "status" || m[1].Actual != "null" {
		t.Fatalf("mismatches %+v", m)
	}
}
