package main

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/vrwx/vrwxctl/pkg/devchain"
	"github.com/vrwx/vrwxctl/pkg/health/healthsrv"
)

// latencyProxy forwards every HTTP request to target after holding it for delay: a
// remote RPC (or API) as seen from an operator's laptop. It runs until the bench
// process ends.
func latencyProxy(target string, delay time.Duration) (string, error) {
	u, err := url.Parse(target)
	if err != nil {
		return "", err
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	go func() {
		_ = http.Serve(l, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			time.Sleep(delay)
			rp.ServeHTTP(w, r)
		}))
	}()
	return "http://" + l.Addr().String(), nil
}

// healthServer answers /health like the API (healthsrv, as scripts/devapi does),
// relaying from relayer, after delay.
func healthServer(chainID uint64, relayer common.Address, delay time.Duration) (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	h := healthsrv.Handler(func() healthsrv.Options {
		return healthsrv.Options{ChainID: chainID, Relayer: healthsrv.Static(relayer)}
	})
	go func() {
		_ = http.Serve(l, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			time.Sleep(delay)
			h.ServeHTTP(w, r)
		}))
	}()
	return "http://" + l.Addr().String(), nil
}

// opsScenarios compares `doctor relay` with the runbook's cast sequence for the same
// investigation (balance, nonce, the escrow's logs of the last 100 blocks — cast
// needs the head first, it takes no negative block —, paused()), through a proxy
// adding 0 ms and then 50 ms to every request, and times `status` (the whole
// system) at the same latencies: at 50 ms per request to both the RPC and the API,
// status should take its 0 ms time plus at most two round trips (2 × 50 ms).
func opsScenarios(cast string, a *devchain.Anvil, d *devchain.Deployment) ([]Scenario, error) {
	relayer, escrow := d.Relayer.Hex(), d.PausableEscrow.Hex()
	var out []Scenario
	for _, delay := range []time.Duration{0, 50 * time.Millisecond} {
		rpc, err := latencyProxy(a.URL, delay)
		if err != nil {
			return nil, err
		}
		api, err := healthServer(d.ChainID, d.Relayer, delay)
		if err != nil {
			return nil, err
		}
		env := []string{"RPC_URL=" + rpc, "JOB_ESCROW_ADDRESS=" + escrow, "VRWX_API_URL=" + api}
		castSeq := fmt.Sprintf(`set -e
%[1]s balance %[2]s --rpc-url %[4]s >/dev/null
%[1]s nonce %[2]s --rpc-url %[4]s >/dev/null
n=$(%[1]s block-number --rpc-url %[4]s); from=$((n > 100 ? n - 100 : 0))
%[1]s logs --address %[3]s --from-block $from --rpc-url %[4]s >/dev/null
%[1]s call %[3]s 'paused()(bool)' --rpc-url %[4]s >/dev/null`, cast, relayer, escrow, rpc)
		ms := delay.Milliseconds()
		out = append(out,
			Scenario{Name: fmt.Sprintf("doctor relay vs cast sequence, +%d ms/request", ms), Goal: goalFor(delay), Env: env,
				VRWX: []string{"doctor", "relay", "--address", relayer}, Baseline: []string{"sh", "-c", castSeq}},
			Scenario{Name: fmt.Sprintf("status (whole system), +%d ms/request to RPC and API", ms),
				Goal: "at +50 ms: its +0 ms time + at most 2 × 50 ms", Env: env,
				VRWX: []string{"status", "--address", relayer}},
		)
	}
	return out, nil
}

func goalFor(delay time.Duration) string {
	if delay == 0 {
		return "informational"
	}
	return "ratio <= 0.25 (>= 4x faster)"
}
