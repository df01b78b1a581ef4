package exporter_test

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/vrwx/vrwxctl/pkg/cli/clitest"
	"github.com/vrwx/vrwxctl/pkg/exporter/exportertest"
)

// An exporter watching a signer reference follows the store's current key: after
// a rotation promotes a new key it reports the new relayer's balance, and the old
// (drained) one is no longer served as the relayer.
func TestExporterFollowsTheSignersCurrentKey(t *testing.T) {
	e := clitest.NewChain(t)
	k, err := crypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	oldHex := hexutil.Encode(crypto.FromECDSA(k))
	clitest.Secret(oldHex)
	old := crypto.PubkeyToAddress(k.PublicKey).Hex()
	ref := e.KeyFile("relayer.hex", oldHex+"\n", 0o600)
	env := map[string]string{}
	for k, v := range e.Vars {
		env[k] = v
	}
	p := exportertest.Start(t, clitest.Binary(t), env, "exporter", "--listen", "127.0.0.1:0", "--interval", "1ms", "--signer", ref)
	if _, ok := exportertest.Scrape(t, p.URL).Get("vrwx_relayer_balance_eth", "address", old); !ok {
		t.Fatalf("no balance for the signer's address %s:\n%s", old, p.Stderr())
	}

	r := e.Exec("key", "generate", "--store", ref, "--promote", "--yes")
	if r.Code != 0 {
		t.Fatalf("key generate --promote:\n%s", r)
	}
	newAddr := strings.TrimSpace(r.Stdout)
	for _, f := range []string{strings.TrimPrefix(ref, "file://"), strings.TrimPrefix(ref, "file://") + ".previous"} {
		b, _ := os.ReadFile(filepath.Clean(f))
		clitest.Secret(strings.TrimSpace(string(b)))
	}
	// The next scrape refreshes the readings, and with them the signer's address.
	got := exportertest.Scrape(t, p.URL)
	if _, ok := got.Get("vrwx_relayer_balance_eth", "address", newAddr); !ok {
		t.Fatalf("no balance for the new relayer %s:\n%s", newAddr, p.Stderr())
	}
	if !p.WaitStderr("now holds the key of "+newAddr, 5*time.Second) {
		t.Fatalf("the exporter did not say it follows the new key:\n%s", p.Stderr())
	}
	if _, ok := got.Get("vrwx_relayer_balance_eth", "address", old); ok {
		t.Fatalf("the retired relayer %s is still watched", old)
	}
	p.Signal(syscall.SIGTERM)
	if code := p.Wait(10 * time.Second); code != 0 {
		t.Fatalf("exit %d:\n%s", code, p.Stderr())
	}
	clitest.Record("vrwxctl exporter (binary)", p.Stderr(), 0)
}
