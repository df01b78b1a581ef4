package status_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/vrwx/vrwxctl/pkg/cli/clitest"
	"github.com/vrwx/vrwxctl/pkg/cli/status"
	"github.com/vrwx/vrwxctl/pkg/devchain"
	"github.com/vrwx/vrwxctl/pkg/doctor"
	"github.com/vrwx/vrwxctl/pkg/health/healthtest"
)

// After a rotation, status follows the store's current key when the profile
// names a signer reference — even with the old relayer address still in the
// profile — and an address the rotation retired is reported as retired: not
// critical when drained, never suggested for funding, and pointed at its drain
// while it still holds something.
func TestStatusFollowsTheCurrentKeyAndRetiresTheOld(t *testing.T) {
	t.Parallel()
	e := clitest.NewChain(t)
	k, err := crypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	oldHex := hexutil.Encode(crypto.FromECDSA(k))
	clitest.Secret(oldHex)
	old := crypto.PubkeyToAddress(k.PublicKey)
	ref := e.KeyFile("relayer.hex", oldHex+"\n", 0o600)
	e.WriteConfig("profiles:\n  local:\n    signer: " + ref + "\n    relayer: \"" + old.Hex() + "\"\n")
	setBalance(t, e, old.Hex(), mustWei("1")) // 1 ETH
	// The API relays from the key it was started with.
	api := healthtest.New(t, healthtest.Options{Relayer: healthtest.Static(old)})
	e.Vars["VRWX_API_URL"] = api.URL

	var s status.JSON
	e.MustRun(0, "status", "-o", "json").JSON(t, &s)
	if s.Relayer != old.Hex() {
		t.Fatalf("before the rotation status checks %s, want %s", s.Relayer, old.Hex())
	}

	// Rotate by hand: a new key, funded, promoted; the old one keeps 1 ETH.
	newAddr := strings.TrimSpace(e.MustRun(0, "key", "generate", "--store", ref).Stdout)
	e.MustRun(0, "key", "promote", "--store", ref, "--yes")
	registerFiles(t, e)
	setBalance(t, e, newAddr, mustWei("1"))
	api.SetRelayer(healthtest.Static(common.HexToAddress(newAddr))) // restarted on the new key

	e.MustRun(0, "status", "-o", "json").JSON(t, &s)
	if s.Relayer != newAddr {
		t.Fatalf("after the promote status checks %s, want the store's current key %s", s.Relayer, newAddr)
	}

	for _, args := range [][]string{{"--address", old.Hex()}, {"--signer", ref + "?stage=previous"}} {
		r := e.Run(append([]string{"status", "-o", "json"}, args...)...)
		var rs status.JSON
		r.JSON(t, &rs)
		bal := check(t, rs, "relayer", "balance")
		if rs.Relayer != old.Hex() || bal.Level != doctor.Info || !strings.Contains(bal.Detail, "retired relayer") || !strings.Contains(bal.Detail, newAddr) ||
			!strings.Contains(bal.Fix, "wallet drain --signer "+ref+"?version="+strings.ToLower(old.Hex())) || strings.Contains(bal.Fix, "wallet fund") {
			t.Fatalf("status %v: balance check %+v", args, bal)
		}
	}

	// Drained: the retired wallet at 0 is no alarm, and no funding is suggested.
	e.MustRun(0, "wallet", "drain", "--signer", ref+"?stage=previous", "--yes")
	r := e.Run("status", "--address", old.Hex())
	if r.Code != 0 || strings.Contains(r.Stdout, "wallet fund") || !strings.Contains(r.Stdout, "retired relayer") {
		t.Fatalf("status of the drained retired relayer:\n%s", r)
	}
	// An address that is not the store's at all is judged as before.
	setBalance(t, e, "0x000000000000000000000000000000000000bEEF", mustWei("0"))
	r = e.Run("status", "--address", "0x000000000000000000000000000000000000bEEF")
	if r.Code != 1 || !strings.Contains(r.Stdout, "wallet fund --to 0x000000000000000000000000000000000000bEEF") {
		t.Fatalf("an unrelated empty address should be critical with a top-up:\n%s", r)
	}
}

// registerFiles adds every key file the env's secret directory holds to the leak
// scan (key generate wrote new ones).
func registerFiles(t *testing.T, e *clitest.Env) {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(e.SecretDir, "*"))
	for _, f := range files {
		if b, err := os.ReadFile(f); err == nil {
			clitest.Secret(strings.TrimSpace(string(b)))
		}
	}
}

// A profile that names its relayer by address (the local profile's deployment file)
// does not follow a rotation: after one this host recorded, status checks the
// store's current key — the relayer in service — and says the setting is out of
// date, with the setting to change, instead of calling the API wrong.
func TestStatusFollowsARotationOfTheProfilesRelayer(t *testing.T) {
	t.Parallel()
	e := clitest.NewChain(t)
	relayer := e.D.Relayer
	ref := e.KeyFile("relayer.hex", devchain.DevKeyHex(devchain.AccountRelayer)+"\n", 0o600)
	api := healthtest.New(t, healthtest.Options{Relayer: healthtest.Static(relayer)})
	e.Vars["VRWX_API_URL"] = api.URL

	var s status.JSON
	e.MustRun(0, "status", "-o", "json").JSON(t, &s)
	if s.Relayer != relayer.Hex() || !strings.HasPrefix(s.RelayerFrom, "profile") {
		t.Fatalf("before the rotation: %s from %q", s.Relayer, s.RelayerFrom)
	}

	newAddr := strings.TrimSpace(e.MustRun(0, "key", "generate", "--store", ref).Stdout)
	e.MustRun(0, "key", "promote", "--store", ref, "--yes")
	registerFiles(t, e)
	setBalance(t, e, newAddr, mustWei("1"))
	api.SetRelayer(healthtest.Static(common.HexToAddress(newAddr)))

	r := e.Run("status", "-o", "json")
	if r.Code != 5 {
		t.Fatalf("after the rotation, want exit 5 (a stale setting):\n%s", r)
	}
	r.JSON(t, &s)
	if s.Relayer != newAddr || !strings.Contains(s.RelayerFrom, ref) {
		t.Fatalf("after the rotation status checks %s from %q, want the store's current key %s", s.Relayer, s.RelayerFrom, newAddr)
	}
	c := check(t, s, "relayer", "profile relayer")
	if c.Level != doctor.Warn || c.Value != relayer.Hex() || !strings.Contains(c.Fix, "signer: "+ref) || !strings.Contains(c.Fix, "VRWX_SIGNER="+ref) {
		t.Fatalf("the stale setting: %+v", c)
	}
	if c := check(t, s, "api", "relayerAddress"); c.Level != doctor.OK {
		t.Fatalf("the API relays from the new key, rightly: %+v", c)
	}
	for _, c := range s.Checks {
		if c.Level == doctor.Crit || strings.Contains(c.Fix, "rollout restart") {
			t.Errorf("after a rotation the API is not to blame: %+v", c)
		}
	}
	// With the setting the fix names, status is green.
	e.Vars["VRWX_SIGNER"] = ref
	e.MustRun(0, "status")
}
