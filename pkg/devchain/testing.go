package devchain

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"
)

// setupTimeout bounds starting anvil and deploying in the test helpers; both normally
// take well under a second.
const setupTimeout = 60 * time.Second

// StartT starts an anvil, deploys and seeds the VRWX test doubles, and stops anvil when
// the test ends. Without anvil it skips the test, or fails it when $CI is set so CI
// never passes by skipping.
func StartT(t testing.TB) (*Anvil, *Deployment) {
	t.Helper()
	return StartTWith(t, AnvilOptions{})
}

// StartTWith is StartT with anvil options. Deploy always runs with automine; a
// NoMining or BlockTime option (rounded to whole seconds, at least 1) takes effect
// once the deployment is done.
func StartTWith(t testing.TB, opts AnvilOptions) (*Anvil, *Deployment) {
	t.Helper()
	noMining, blockTime := opts.NoMining, opts.BlockTime
	opts.NoMining, opts.BlockTime = false, 0
	if opts.StartTime.IsZero() {
		opts.StartTime = time.Now().Add(-DeployHistory)
	}
	a := StartAnvilT(t, opts)
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	d, err := Deploy(ctx, a.URL)
	if err != nil {
		t.Fatalf("deploy VRWX test contracts: %v", err)
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
