package vrwx_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/vrwx/vrwxctl/pkg/chain"
	"github.com/vrwx/vrwxctl/pkg/devchain"
	"github.com/vrwx/vrwxctl/pkg/vrwx"
)

// countingProxy forwards JSON-RPC to anvil, counts HTTP round trips, and — when
// rejectCreate is set — answers eth_call without a "to" the way a provider that
// refuses such calls does.
type countingProxy struct {
	trips        atomic.Int64
	rejectCreate bool
}

func (p *countingProxy) start(t *testing.T, target string) string {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.trips.Add(1)
		body, _ := io.ReadAll(r.Body)
		if p.rejectCreate {
			var batch []map[string]json.RawMessage
			if json.Unmarshal(body, &batch) == nil {
				var out []any
				rewritten := false
				for _, req := range batch {
					var params []map[string]any
					_ = json.Unmarshal(req["params"], &params)
					if string(req["method"]) == `"eth_call"` && len(params) > 0 && params[0]["to"] == nil {
						out = append(out, map[string]any{"jsonrpc": "2.0", "id": req["id"], "error": map[string]any{"code": -32602, "message": "invalid argument 0: missing to"}})
						rewritten = true
						continue
					}
					out = append(out, nil)
				}
				if rewritten {
					// Forward the rest one by one and merge, keeping the batch order.
					for i, req := range batch {
						if out[i] != nil {
							continue
						}
						b, _ := json.Marshal(req)
						resp, err := http.Post(target, "application/json", bytes.NewReader(b))
						if err != nil {
							http.Error(w, err.Error(), http.StatusBadGateway)
							return
						}
						var v any
						_ = json.NewDecoder(resp.Body).Decode(&v)
						resp.Body.Close()
						out[i] = v
					}
					w.Header().Set("Content-Type", "application/json")
					_ = json.NewEncoder(w).Encode(out)
					return
				}
			}
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestReadJobOneRoundTrip(t *testing.T) {
	t.Parallel()
	_, d := devchain.StartT(t)
	p := &countingProxy{}
	c := chain.New(chain.Options{URLs: []string{p.start(t, d.RPCURL)}, ChainID: d.ChainID})
	defer c.Close()
	ctx := context.Background()

	for _, name := range []string{devchain.JobFunded, devchain.JobCompleted, devchain.JobFundedDeactivated, devchain.JobFundedUnregistered} {
		before := p.trips.Load()
		id := new(big.Int).SetUint64(d.Jobs[name])
		r, err := vrwx.ReadJob(ctx, c, d.Escrow, d.Identity, id)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if n := p.trips.Load() - before; n != 1 {
			t.Errorf("%s: %d HTTP round trips, want 1", name, n)
		}
		want := readJob(t, c, d.Escrow, d.Jobs[name])
		if got, _ := json.Marshal(r.Job); string(got) != string(mustJSON(t, want)) {
			t.Errorf("%s: job\n got %s\nwant %s", name, got, mustJSON(t, want))
		}
		robot := d.Robots[devchain.RobotActive]
		wantActive := true
		switch name {
		case devchain.JobFundedDeactivated:
			robot, wantActive = d.Robots[devchain.RobotDeactivated], false
		case devchain.JobFundedUnregistered:
			robot, wantActive = d.Robots[devchain.RobotUnregistered], false
		}
		if r.Controller != robot.Controller || r.ControllerErr != nil || r.Active != wantActive || r.ActiveErr != nil {
			t.Errorf("%s: controller %s (%v) active %v (%v), want %s %v", name, r.Controller.Hex(), r.ControllerErr, r.Active, r.ActiveErr, robot.Controller.Hex(), wantActive)
		}
		if r.Token != d.Token || r.Decimals != 6 || r.DecimalsErr != nil || r.Symbol != "USDC" {
			t.Errorf("%s: token %s decimals %d (%v) symbol %q, want %s 6 USDC", name, r.Token.Hex(), r.Decimals, r.DecimalsErr, r.Symbol, d.Token.Hex())
		}
		if r.JobCount == nil || r.JobCount.Uint64() != uint64(len(d.Jobs)) {
			t.Errorf("%s: jobCount %v, want %d", name, r.JobCount, len(d.Jobs))
		}
	}

	// Without a configured registry the escrow's identity() is used.
	r, err := vrwx.ReadJob(ctx, c, d.Escrow, common.Address{}, new(big.Int).SetUint64(d.Jobs[devchain.JobFunded]))
	if err != nil || r.Registry != d.Identity || r.Controller != d.Robots[devchain.RobotActive].Controller {
		t.Fatalf("registry from escrow: %v registry %s controller %s", err, r.Registry.Hex(), r.Controller.Hex())
	}

	// A job that does not exist reads as zeros, not an error.
	r, err = vrwx.ReadJob(ctx, c, d.Escrow, d.Identity, big.NewInt(999))
	if err != nil || r.Job.Exists() {
		t.Fatalf("job 999: %v exists=%v", err, r != nil && r.Job.Exists())
	}

	// An address without code answers with no data.
	_, err = vrwx.ReadJob(ctx, c, common.HexToAddress("0x00000000000000000000000000000000000000aa"), d.Identity, big.NewInt(1))
	if err == nil || !strings.Contains(err.Error(), "no data") {
		t.Fatalf("no-code escrow: %v", err)
	}
}

func TestProgramFallsBackWhenNodeRefusesDeploylessCalls(t *testing.T) {
	t.Parallel()
	_, d := devchain.StartT(t)
	p := &countingProxy{rejectCreate: true}
	c := chain.New(chain.Options{URLs: []string{p.start(t, d.RPCURL)}, ChainID: d.ChainID})
	defer c.Close()
	id := new(big.Int).SetUint64(d.Jobs[devchain.JobFundedDeactivated])
	r, err := vrwx.ReadJob(context.Background(), c, d.Escrow, common.Address{}, id)
	if err != nil {
		t.Fatal(err)
	}
	if r.Controller != d.Robots[devchain.RobotDeactivated].Controller || r.Active || r.Decimals != 6 || r.Registry != d.Identity {
		t.Fatalf("fallback reading: controller %s active %v decimals %d registry %s", r.Controller.Hex(), r.Active, r.Decimals, r.Registry.Hex())
	}
	// One refused batch, then the levels: jobs/token/identity, then decimals/controller.
	if n := p.trips.Load(); n != 3 {
		t.Errorf("%d HTTP round trips, want 3 (refused program + 2 dependency levels)", n)
	}
}

func TestProgramStepwiseMatchesOneRoundTrip(t *testing.T) {
	t.Parallel()
	_, d := devchain.StartT(t)
	c := chain.New(chain.Options{URLs: []string{d.RPCURL}, ChainID: d.ChainID})
	defer c.Close()
	var p vrwx.Program
	e := vrwx.ConstAddress(d.Escrow)
	job := p.Call(e, vrwx.PackJobs(big.NewInt(int64(d.Jobs[devchain.JobSettled]))), 11)
	p.Call(e, vrwx.Pack(vrwx.EscrowABI(), "eip712Domain"), 3)
	p.Call(vrwx.ConstAddress(d.Identity), vrwx.Selector(vrwx.RegistryABI(), "getRobot"), 10, job.Word(1))
	p.Call(e, vrwx.Pack(vrwx.PausableABI(), "paused"), 1) // reverts: no pause switch
	one, err := vrwx.RunProgram(context.Background(), c, &p, "latest")
	if err != nil {
		t.Fatal(err)
	}
	step, err := vrwx.RunStepwise(&p, context.Background(), c, "latest")
	if err != nil {
		t.Fatal(err)
	}
	for i := range one {
		if one[i].OK != step[i].OK || one[i].Size != step[i].Size || !bytes.Equal(one[i].Data, step[i].Data) {
			t.Errorf("step %d: one round trip %+v, call by call %+v", i, one[i], step[i])
		}
	}
	if one[3].OK {
		t.Error("paused() on the plain escrow should revert")
	}
	if one[1].Size <= 3*32 || len(one[1].Data) != 3*32 {
		t.Errorf("eip712Domain: size %d kept %d, want the full size and 3 kept words", one[1].Size, len(one[1].Data))
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
