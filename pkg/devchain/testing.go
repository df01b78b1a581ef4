package devchain

import (
	"context"
	"errors"
	"maps"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common/hexutil"
)

// setupTimeout bounds starting anvil and deploying in the test helpers; both normally
// take well under a second.
const setupTimeout = 60 * time.Second

// StartT starts an anvil, deploys and seeds the VRWX test doubles, and stops anvil when
// the test ends. Without anvil it skips the test, or fails it when $CI is set so CI
// never passes by skipping.
//
// Every test gets an anvil of its own, so tests may run in parallel. Only the first
// StartT of a test process (per chain id) deploys; it then dumps the chain
// (anvil_dumpState: accounts, storage, blocks, receipts) and later calls load that
// dump into their fresh anvil, which takes a few milliseconds instead of a deploy's
// few hundred. The chain they get is the deployed one: same blocks, logs, addresses
// and seeded jobs.
func StartT(t testing.TB) (*Anvil, *Deployment) {
	t.Helper()
	return StartTWith(t, AnvilOptions{})
}

// StartTWith is StartT with anvil options. Deploy always runs with automine; a
// NoMining or BlockTime option (rounded to whole seconds, at least 1) takes effect
// once the deployment is done. A StartTime, a Port or extra Args make it deploy
// afresh instead of loading the process's snapshot.
func StartTWith(t testing.TB, opts AnvilOptions) (*Anvil, *Deployment) {
	t.Helper()
	noMining, blockTime := opts.NoMining, opts.BlockTime
	opts.NoMining, opts.BlockTime = false, 0
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	var (
		a *Anvil
		d *Deployment
	)
	if snap := snapshotFor(opts); snap != nil {
		a, d = snap.start(ctx, t, opts)
	} else {
		a, d = deployT(ctx, t, opts)
	}
	switch {
	case noMining:
		if err := a.SetAutomine(ctx, false); err != nil {
			t.Fatal(err)
		}
	case blockTime > 0:
		// anvil takes whole seconds here, unlike --block-time.
		if err := a.RPC(ctx, nil, "evm_setIntervalMining", max(1, int64(blockTime.Seconds()))); err != nil {
			t.Fatal(err)
		}
	}
	return a, d
}

// deployT starts an anvil DeployHistory in the past (unless opts say when) and
// deploys on it.
func deployT(ctx context.Context, t testing.TB, opts AnvilOptions) (*Anvil, *Deployment) {
	t.Helper()
	if opts.StartTime.IsZero() {
		opts.StartTime = time.Now().Add(-DeployHistory)
	}
	a := StartAnvilT(t, opts)
	d, err := Deploy(ctx, a.URL)
	if err != nil {
		t.Fatalf("deploy VRWX test contracts: %v", err)
	}
	return a, d
}

// snapshot is a deployed chain's dump, taken by the first StartT of the process.
type snapshot struct {
	mu    sync.Mutex
	state hexutil.Bytes
	d     *Deployment
}

var (
	snapshotsMu sync.Mutex
	snapshots   = map[uint64]*snapshot{}
)

// snapshotFor returns the snapshot slot for opts, or nil when opts change what a
// deployment looks like (start time, extra anvil flags) or pin a port.
func snapshotFor(opts AnvilOptions) *snapshot {
	if !opts.StartTime.IsZero() || len(opts.Args) > 0 || opts.Port != 0 || opts.Detach || opts.History {
		return nil
	}
	id := opts.ChainID
	if id == 0 {
		id = DefaultChainID
	}
	snapshotsMu.Lock()
	defer snapshotsMu.Unlock()
	s, ok := snapshots[id]
	if !ok {
		s = &snapshot{}
		snapshots[id] = s
	}
	return s
}

// start returns a deployed chain: the first caller deploys and dumps it, the others
// wait for that and load the dump into an anvil of their own. A failed deploy or
// dump is not remembered, so the next test tries again and reports its own error.
func (s *snapshot) start(ctx context.Context, t testing.TB, opts AnvilOptions) (*Anvil, *Deployment) {
	t.Helper()
	s.mu.Lock()
	if s.d == nil {
		defer s.mu.Unlock()
		a, d := deployT(ctx, t, opts)
		var state hexutil.Bytes
		if err := a.RPC(ctx, &state, "anvil_dumpState"); err != nil {
			t.Fatalf("dump the deployed chain: %v", err)
		}
		s.state, s.d = state, d.clone()
		return a, d
	}
	state, d := s.state, s.d.clone()
	s.mu.Unlock()
	a := StartAnvilT(t, opts)
	var loaded bool
	if err := a.RPC(ctx, &loaded, "anvil_loadState", state); err != nil {
		t.Fatalf("load the deployed chain into anvil: %v", err)
	}
	if !loaded {
		t.Fatalf("anvil_loadState on %s returned false", a.URL)
	}
	d.RPCURL = a.URL
	return a, d
}

// StartAnvilT starts an anvil with no contracts and stops it when the test ends; it
// skips or fails like StartT when anvil is not installed.
func StartAnvilT(t testing.TB, opts AnvilOptions) *Anvil {
	t.Helper()
	RequireAnvil(t)
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	a, err := StartAnvil(ctx, opts)
	if err != nil {
		t.Fatalf("start anvil: %v", err)
	}
	t.Cleanup(func() {
		if err := a.Stop(); err != nil {
			t.Errorf("stop anvil (pid %d): %v", a.PID(), err)
		}
	})
	return a
}

// RequireAnvil returns anvil's path, or skips the test (fails it under $CI) when anvil
// is not installed.
func RequireAnvil(t testing.TB) string {
	t.Helper()
	return requireTool(t, "anvil", AnvilPath)
}

// RequireCast returns cast's path, or skips the test (fails it under $CI) when cast is
// not installed.
func RequireCast(t testing.TB) string {
	t.Helper()
	return requireTool(t, "cast", CastPath)
}

func requireTool(t testing.TB, tool string, find func() (string, error)) string {
	t.Helper()
	p, err := find()
	if err == nil {
		return p
	}
	if errors.Is(err, ErrToolNotFound) && os.Getenv("CI") == "" {
		t.Skip(tool + " not installed: run scripts/tools.sh")
	}
	t.Fatal(err)
	return ""
}

// clone copies d deeply enough that a test changing its copy changes no other test's.
func (d *Deployment) clone() *Deployment {
	c := *d
	c.Robots = maps.Clone(d.Robots)
	c.Jobs = maps.Clone(d.Jobs)
	c.Claims = make(map[string]Claim, len(d.Claims))
	for k, cl := range d.Claims {
		cl.Signature = append(hexutil.Bytes(nil), cl.Signature...)
		c.Claims[k] = cl
	}
	return &c
}
