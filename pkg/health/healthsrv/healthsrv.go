// Package healthsrv answers GET /health as the VRWX API does (spec/VRWX.md "The
// API"): the JSON that scripts/devapi, the development stand-in for the API, serves
// and that healthtest serves in tests. It holds no key: the relayer is an address
// returned by a function, so a server can report whichever key it loaded last.
package healthsrv

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/ethereum/go-ethereum/common"
)

// Defaults of the fields an Options leaves zero.
const (
	// DefaultStatus is a healthy API's status.
	DefaultStatus = "ok"
	// DefaultSchemaVersion is the API's database schema: seven migrations exist.
	DefaultSchemaVersion = 7
)

// Options are the answer's fields.
type Options struct {
	ChainID uint64
	// Relayer returns the address to report; nil reports relayerAddress null
	// (selfSubmit). An error answers HTTP 500, as an API without its key does.
	Relayer func() (common.Address, error)
	// RelayMode defaults to "relay" with a Relayer and "selfSubmit" without.
	RelayMode string
	// Status defaults to DefaultStatus.
	Status string
	// SchemaVersion is sent as it is (a number or a string); nil sends
	// DefaultSchemaVersion.
	SchemaVersion any
}

// Static returns a Relayer function that always reports addr.
func Static(addr common.Address) func() (common.Address, error) {
	return func() (common.Address, error) { return addr, nil }
}

// Answer returns the HTTP status and the JSON body of /health at now.
func Answer(o Options, now time.Time) (int, []byte) {
	status := o.Status
	if status == "" {
		status = DefaultStatus
	}
	schema := o.SchemaVersion
	if schema == nil {
		schema = DefaultSchemaVersion
	}
	answer := map[string]any{
		"status":          status,
		"timestamp":       now.UTC().Format("2006-01-02T15:04:05.000Z"),
		"strictMode":      true,
		"storageRequired": true,
		"schemaVersion":   schema,
		"relayMode":       "selfSubmit",
		"relayerAddress":  nil,
		"chainId":         o.ChainID,
	}
	if o.Relayer != nil {
		addr, err := o.Relayer()
		if err != nil {
			// The error is the caller's (it may name a store); the answer says only
			// what the API says.
			return http.StatusInternalServerError, []byte(`{"status":"error","error":"relayer key unavailable"}` + "\n")
		}
		answer["relayMode"] = "relay"
		// The spec's relayerAddress is checksummed (EIP-55), which Hex is;
		// common.Address's JSON form is lower-case.
		answer["relayerAddress"] = addr.Hex()
	}
	if o.RelayMode != "" {
		answer["relayMode"] = o.RelayMode
	}
	body, err := json.Marshal(answer)
	if err != nil {
		// Only a SchemaVersion that JSON cannot encode gets here.
		return http.StatusInternalServerError, []byte(`{"status":"error","error":"cannot encode /health"}` + "\n")
	}
	return http.StatusOK, append(body, '\n')
}

// Write writes Answer(o, now) to w as JSON.
func Write(w http.ResponseWriter, o Options, now time.Time) {
	code, body := Answer(o, now)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = w.Write(body)
}

// Handler serves GET /health with the options options() returns at each request
// (so a server can change them while it runs); other paths answer 404.
func Handler(options func() Options) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, r *http.Request) {
		Write(w, options(), time.Now())
	})
	return mux
}
