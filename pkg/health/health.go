// Package health reads the VRWX API's GET /health: the runbook's
// `curl …/health | jq .relayerAddress`, with the answer decoded and checked (the
// JSON shape of spec/VRWX.md "The API"), its latency measured, and every failure
// named as one of three things an operator can act on: the API is down, it answered
// with an HTTP error, or it answered something that is not the /health JSON.
package health

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ethereum/go-ethereum/common"
	"github.com/vrwx/vrwxctl/pkg/chain"
	"github.com/vrwx/vrwxctl/pkg/errs"
)

// The three ways a /health read fails; the errors Get returns wrap one of them.
var (
	// ErrDown: no HTTP answer (refused, DNS, TLS, timeout).
	ErrDown = errors.New("API down")
	// ErrStatus: an HTTP answer other than 200.
	ErrStatus = errors.New("API answered an HTTP error")
	// ErrBadBody: a 200 whose body is not the /health JSON.
	ErrBadBody = errors.New("API answered something other than the /health JSON")
)

// DefaultTimeout bounds one /health request when the client sets none: a health
// endpoint that needs longer than this is as good as down for an operator.
const DefaultTimeout = 10 * time.Second

// maxBody is the most of a /health answer read; the real one is a few hundred bytes.
const maxBody = 1 << 20

// Health is the API's /health answer (spec/VRWX.md "The API").
type Health struct {
	// Status is "ok" on a healthy API.
	Status string `json:"status"`
	// Timestamp is the API's clock, ISO-8601, as sent.
	Timestamp       string `json:"timestamp"`
	StrictMode      bool   `json:"strictMode"`
	StorageRequired bool   `json:"storageRequired"`
	// SchemaVersion is kept as sent (a number or a string), so nothing is lost.
	SchemaVersion json.RawMessage `json:"schemaVersion,omitempty"`
	// RelayMode is "relay" or "selfSubmit".
	RelayMode string `json:"relayMode"`
	// RelayerAddress is the address of the key the API signs relays with; nil
	// outside relay mode (JSON null).
	RelayerAddress *common.Address `json:"relayerAddress"`
	ChainID        uint64          `json:"chainId"`
}

// Result is one successful /health read.
type Result struct {
	// URL is the /health URL that was read, redacted for printing.
	URL     string
	Latency time.Duration
	Health  Health
}

// Client reads /health. The zero value uses http.DefaultTransport and DefaultTimeout.
type Client struct {
	// HTTP is the HTTP client (nil: a client on http.DefaultTransport).
	HTTP *http.Client
	// Timeout bounds one request (0: DefaultTimeout).
	Timeout time.Duration
}

// URL returns the /health URL of an API base URL; a URL that already ends in
// /health is used as it is.
func URL(apiURL string) string {
	u := strings.TrimRight(apiURL, "/")
	if strings.HasSuffix(u, "/health") {
		return u
	}
	return u + "/health"
}

// Get reads apiURL's /health. Errors are errs.Failed with the operator's fix and
// wrap ErrDown, ErrStatus or ErrBadBody; URLs in them are redacted. A bad URL is
// errs.Usage.
func (c *Client) Get(ctx context.Context, apiURL string) (Result, error) {
	target := URL(apiURL)
	shown := chain.RedactURL(target)
	res := Result{URL: shown}
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return res, errs.Usagef("API URL %s is not a URL (expected e.g. https://api.vrwx.io): %s", shown, redactErr(err, target, shown))
	}
	req.Header.Set("Accept", "application/json")
	hc := c.HTTP
	if hc == nil {
		hc = &http.Client{}
	}
	start := time.Now()
	resp, err := hc.Do(req)
	if err != nil {
		res.Latency = time.Since(start)
		why := redactErr(err, target, shown)
		if ctx.Err() != nil {
			why = fmt.Sprintf("no answer within %s", timeout)
		}
		return res, fail(ErrDown, "check that the API is running and reachable from here (kubectl get pods -l app=vrwx-api), and that api_url / --api-url is right",
			"API %s is down: %s", shown, why)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	res.Latency = time.Since(start)
	if err != nil {
		return res, fail(ErrDown, "check the API's logs (kubectl logs -l app=vrwx-api)",
			"API %s is down: reading its answer: %s", shown, redactErr(err, target, shown))
	}
	if resp.StatusCode != http.StatusOK {
		return res, fail(ErrStatus, "check the API's logs (kubectl logs -l app=vrwx-api); a 404 means api_url does not point at the VRWX API",
			"API %s answered HTTP %d (expected 200)%s", shown, resp.StatusCode, excerpt(body))
	}
	h, err := Decode(body)
	if err != nil {
		return res, fail(ErrBadBody, "check that api_url / --api-url points at the VRWX API, not a proxy or another service",
			"API %s answered 200 but %v%s", shown, err, excerpt(body))
	}
	res.Health = h
	return res, nil
}

// failure is a message that says everything, wrapping the sentinel it is a case of
// (so errors.Is works without the sentinel's text being appended).
type failure struct {
	reason error
	msg    string
}

func (f *failure) Error() string { return f.msg }
func (f *failure) Unwrap() error { return f.reason }

// fail returns an errs.Failed error with fix whose text is exactly the message.
func fail(reason error, fix, format string, args ...any) error {
	return (&errs.Error{Kind: errs.Failed, Err: &failure{reason: reason, msg: fmt.Sprintf(format, args...)}}).WithFix(fix)
}

// Decode parses a /health body. status and chainId must be present; relayerAddress
// must be an address or null; other fields the API may add are ignored.
func Decode(body []byte) (Health, error) {
	var raw struct {
		Status          *string         `json:"status"`
		Timestamp       string          `json:"timestamp"`
		StrictMode      bool            `json:"strictMode"`
		StorageRequired bool            `json:"storageRequired"`
		SchemaVersion   json.RawMessage `json:"schemaVersion"`
		RelayMode       string          `json:"relayMode"`
		RelayerAddress  *string         `json:"relayerAddress"`
		ChainID         *uint64         `json:"chainId"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&raw); err != nil {
		return Health{}, fmt.Errorf("not the /health JSON: %w", err)
	}
	switch {
	case raw.Status == nil:
		return Health{}, errors.New("its JSON has no \"status\"")
	case raw.ChainID == nil:
		return Health{}, errors.New("its JSON has no \"chainId\"")
	}
	h := Health{Status: *raw.Status, Timestamp: raw.Timestamp, StrictMode: raw.StrictMode,
		StorageRequired: raw.StorageRequired, RelayMode: raw.RelayMode, ChainID: *raw.ChainID}
	if len(raw.SchemaVersion) > 0 && string(raw.SchemaVersion) != "null" {
		h.SchemaVersion = raw.SchemaVersion
	}
	if raw.RelayerAddress != nil {
		a := *raw.RelayerAddress
		if !common.IsHexAddress(a) || !strings.HasPrefix(a, "0x") || len(a) != 42 {
			return Health{}, fmt.Errorf("its relayerAddress %q is not an address", a)
		}
		addr := common.HexToAddress(a)
		h.RelayerAddress = &addr
	}
	return h, nil
}

// SchemaVersionString is the schema version as text ("" when absent): a JSON
// string without its quotes, a number as written.
func (h Health) SchemaVersionString() string {
	var s string
	if json.Unmarshal(h.SchemaVersion, &s) == nil {
		return s
	}
	return string(h.SchemaVersion)
}

// excerpt quotes the start of a body for an error message, on one line.
func excerpt(body []byte) string {
	s := strings.Join(strings.Fields(string(body)), " ")
	if s == "" {
		return ""
	}
	const n = 120
	if len(s) > n {
		cut := n
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return fmt.Sprintf(": %q", s)
}

// redactErr prints err with the full URL (which may carry a token) replaced by
// its redacted form: net/http puts the URL into its errors.
func redactErr(err error, target, shown string) string {
	return strings.ReplaceAll(err.Error(), target, shown)
}
