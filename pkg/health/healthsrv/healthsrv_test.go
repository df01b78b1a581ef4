package healthsrv_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/vrwx/vrwxctl/pkg/health"
	"github.com/vrwx/vrwxctl/pkg/health/healthsrv"
)

var relayer = common.HexToAddress("0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC")

// The relay answer is the spec's JSON with the address checksummed, and vrwxctl's
// own client reads it back as sent.
func TestAnswerRelay(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 4, 5, 6, 7, 891_000_000, time.UTC)
	code, body := healthsrv.Answer(healthsrv.Options{ChainID: 8453, Relayer: healthsrv.Static(relayer)}, now)
	if code != http.StatusOK {
		t.Fatalf("HTTP %d %s", code, body)
	}
	var raw map[string]any
	if err := json.Unmarshal(body, &raw); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"status": "ok", "timestamp": "2026-03-04T05:06:07.891Z", "strictMode": true,
		"storageRequired": true, "schemaVersion": 7.0, "relayMode": "relay",
		"relayerAddress": "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC", "chainId": 8453.0}
	if len(raw) != len(want) {
		t.Errorf("fields %v, want exactly %v", raw, want)
	}
	for k, v := range want {
		if raw[k] != v {
			t.Errorf("%s = %#v, want %#v", k, raw[k], v)
		}
	}
	h, err := health.Decode(body)
	if err != nil || h.Status != "ok" || h.RelayMode != "relay" || h.RelayerAddress == nil || *h.RelayerAddress != relayer || h.ChainID != 8453 {
		t.Errorf("health.Decode: %+v, %v", h, err)
	}
}

// Without a relayer the API self-submits: relayerAddress is JSON null. Status,
// relay mode and schema version can be set.
func TestAnswerSelfSubmitAndOverrides(t *testing.T) {
	t.Parallel()
	_, body := healthsrv.Answer(healthsrv.Options{ChainID: 31337}, time.Now())
	var raw map[string]any
	if err := json.Unmarshal(body, &raw); err != nil {
		t.Fatal(err)
	}
	if v, ok := raw["relayerAddress"]; !ok || v != nil || raw["relayMode"] != "selfSubmit" {
		t.Errorf("self-submit answer: %s", body)
	}
	_, body = healthsrv.Answer(healthsrv.Options{ChainID: 1, Relayer: healthsrv.Static(relayer), RelayMode: "selfSubmit",
		Status: "degraded", SchemaVersion: "7a"}, time.Now())
	h, err := health.Decode(body)
	if err != nil || h.Status != "degraded" || h.RelayMode != "selfSubmit" || string(h.SchemaVersion) != `"7a"` {
		t.Errorf("overrides: %+v, %v from %s", h, err, body)
	}
}

// An API that cannot load its key answers 500 without saying why: the reason (a
// store's error) stays with the caller.
func TestAnswerRelayerError(t *testing.T) {
	t.Parallel()
	code, body := healthsrv.Answer(healthsrv.Options{Relayer: func() (common.Address, error) {
		return common.Address{}, errors.New("file:///k.hex: permission denied")
	}}, time.Now())
	if code != http.StatusInternalServerError || string(body) != `{"status":"error","error":"relayer key unavailable"}`+"\n" {
		t.Errorf("HTTP %d %s", code, body)
	}
}

// Handler serves GET /health with the options of the moment, and nothing else.
func TestHandler(t *testing.T) {
	t.Parallel()
	var chainID atomic.Uint64
	chainID.Store(31337)
	srv := httptest.NewServer(healthsrv.Handler(func() healthsrv.Options {
		return healthsrv.Options{ChainID: chainID.Load(), Relayer: healthsrv.Static(relayer)}
	}))
	defer srv.Close()
	res, err := (&health.Client{}).Get(t.Context(), srv.URL)
	if err != nil || *res.Health.RelayerAddress != relayer {
		t.Fatalf("health.Client: %+v, %v", res, err)
	}
	chainID.Store(8453)
	if res, err := (&health.Client{}).Get(t.Context(), srv.URL); err != nil || res.Health.ChainID != 8453 {
		t.Errorf("after a change: %+v, %v", res, err)
	}
	for _, req := range []struct{ method, path string }{{"POST", "/health"}, {"GET", "/"}, {"GET", "/healthz"}} {
		r, err := http.NewRequest(req.method, srv.URL+req.path, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Errorf("%s %s answered 200", req.method, req.path)
		}
	}
}
