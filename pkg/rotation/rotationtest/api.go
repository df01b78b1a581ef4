// Package rotationtest is test support for key rotation: a stand-in for the VRWX
// API as a rotation sees it. Its /health (a real HTTP server, pkg/health/healthtest)
// reports the address of the key the API loaded when it last started, read from the
// secret store's current version; it "restarts" — loads the store's current key
// again — when a marker file changes, which is what the deployment command a test
// passes (`touch MARKER`, run by the real hook runner) does. So /health flips only
// after the new key is current AND the deploy step ran, as with the real API.
package rotationtest

import (
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/vrwx/vrwxctl/pkg/health/healthtest"
)

// API is the stand-in.
type API struct {
	*healthtest.Server
	// Marker is the file whose change restarts the API: the deploy command is
	// `touch Marker`.
	Marker string

	current func() (common.Address, error)

	mu       sync.Mutex
	loaded   common.Address
	stamp    time.Time
	restarts int
}

// NewAPI starts the API on chainID, loading current() now, as a running API has.
func NewAPI(t testing.TB, chainID uint64, current func() (common.Address, error)) *API {
	t.Helper()
	a := &API{Marker: filepath.Join(t.TempDir(), "restarted"), current: current}
	addr, err := current()
	if err != nil {
		t.Fatalf("rotationtest: the API cannot load its key: %v", err)
	}
	a.loaded = addr
	a.Server = healthtest.New(t, healthtest.Options{ChainID: chainID, Relayer: a.relayer})
	return a
}

// relayer is /health's relayerAddress: the loaded key, reloaded after a restart.
func (a *API) relayer() (common.Address, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if fi, err := os.Stat(a.Marker); err == nil && !fi.ModTime().Equal(a.stamp) {
		addr, err := a.current()
		if err != nil {
			return common.Address{}, err
		}
		a.loaded, a.stamp = addr, fi.ModTime()
		a.restarts++
	}
	return a.loaded, nil
}

// Restart restarts the API by hand (what an operator does when no deploy command
// is given).
func (a *API) Restart(t testing.TB) {
	t.Helper()
	now := time.Now()
	if err := os.WriteFile(a.Marker, []byte(now.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	// A marker rewritten within the file system's timestamp resolution must still
	// count as a restart.
	_ = os.Chtimes(a.Marker, now, now.Add(time.Duration(a.Restarts()+1)*time.Millisecond))
}

// DeployCmd is the deploy command that restarts this API.
func (a *API) DeployCmd() string { return "touch " + a.Marker }

// Loaded is the address the API relays from now.
func (a *API) Loaded() common.Address {
	addr, _ := a.relayer()
	return addr
}

// Restarts counts the restarts the API saw.
func (a *API) Restarts() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.restarts
}
