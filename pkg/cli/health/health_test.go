package health_test

import (
	"context"
	"strings"
	"testing"

	"github.com/vrwx/vrwxctl/pkg/cli/clitest"
	"github.com/vrwx/vrwxctl/pkg/cli/cmdutil"
	healthcmd "github.com/vrwx/vrwxctl/pkg/cli/health"
	"github.com/vrwx/vrwxctl/pkg/devchain"
	"github.com/vrwx/vrwxctl/pkg/health/healthtest"
	"github.com/vrwx/vrwxctl/pkg/ui"
)

func TestMain(m *testing.M) { clitest.Main(m) }

// The local profile's relayer (anvil dev account 2) and the new key of a rotation.
var (
	oldRelayer = devchain.DevAddress(2)
	newRelayer = devchain.DevAddress(6)
)

func TestHealthyAPI(t *testing.T) {
	e := clitest.New(t)
	api := healthtest.New(t, healthtest.Options{Relayer: healthtest.Static(oldRelayer)})
	r := e.MustRun(0, "health", "--api-url", api.URL, "--expect-relayer", oldRelayer.Hex())
	for _, want := range []string{api.URL + "/health", "✓ status", "✓ chainId", "31337", "✓ relayerAddress", oldRelayer.Hex(),
		"expected " + oldRelayer.Hex() + " (--expect-relayer)", "relayMode", "relay", "schemaVersion", "OK"} {
		if !strings.Contains(r.Stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, r)
		}
	}
	if r.Stderr != "" {
		t.Errorf("stderr not empty:\n%s", r)
	}

	var j healthcmd.JSON
	e.MustRun(0, "health", "--api-url", api.URL, "-o", "json").JSON(t, &j)
	if !j.OK || j.Health.RelayerAddress == nil || *j.Health.RelayerAddress != oldRelayer.Hex() || j.Health.ChainID != 31337 ||
		j.Expected.ChainID != 31337 || j.Expected.Relayer != "" || len(j.Mismatches) != 0 || j.LatencyMs <= 0 {
		t.Fatalf("json %+v", j)
	}
}

// After a rotation the API still runs the old key: exit 1, saying which address was
// expected, which was seen, and what to do.
func TestRelayerMismatch(t *testing.T) {
	e := clitest.New(t)
	api := healthtest.New(t, healthtest.Options{Relayer: healthtest.Static(oldRelayer)})
	r := e.MustRun(1, "health", "--api-url", api.URL, "--expect-relayer", newRelayer.Hex())
	if !strings.Contains(r.Stdout, "✗ relayerAddress") || !strings.Contains(r.Stdout, "MISMATCH") {
		t.Errorf("stdout:\n%s", r)
	}
	want := "the API relays from " + oldRelayer.Hex() + ", but " + newRelayer.Hex() + " was expected (--expect-relayer)"
	if !strings.Contains(r.Stderr, want) || !strings.Contains(r.Stderr, "fix:") || !strings.Contains(r.Stderr, "kubectl rollout restart deployment/vrwx-api") {
		t.Errorf("stderr lacks the mismatch and its fix:\n%s", r)
	}

	var j healthcmd.JSON
	r = e.MustRun(1, "health", "--api-url", api.URL, "--expect-relayer", newRelayer.Hex(), "-o", "json")
	r.JSON(t, &j) // one JSON document: the report, with the mismatch in it
	if j.OK || len(j.Mismatches) != 1 || j.Mismatches[0].Field != "relayerAddress" ||
		j.Mismatches[0].Expected != newRelayer.Hex() || j.Mismatches[0].Actual != oldRelayer.Hex() {
		t.Fatalf("json %+v", j)
	}

	// The restarted API serves the new key: the same check passes.
	api.SetRelayer(healthtest.Static(newRelayer))
	e.MustRun(0, "health", "--api-url", api.URL, "--expect-relayer", newRelayer.Hex())
}

// --expect-signer reads only the address of the reference's key; the key is never
// printed (clitest.Main scans every output).
func TestExpectSigner(t *testing.T) {
	e := clitest.New(t)
	e.Vars["NEW_RELAYER_KEY"] = devchain.DevKeyHex(6)
	api := healthtest.New(t, healthtest.Options{Relayer: healthtest.Static(newRelayer)})
	r := e.MustRun(0, "health", "--api-url", api.URL, "--expect-signer", "env://NEW_RELAYER_KEY")
	if !strings.Contains(r.Stdout, "(--expect-signer env://NEW_RELAYER_KEY)") {
		t.Errorf("stdout:\n%s", r)
	}
	api.SetRelayer(healthtest.Static(oldRelayer))
	r = e.MustRun(1, "health", "--api-url", api.URL, "--expect-signer", "env://NEW_RELAYER_KEY")
	if !strings.Contains(r.Stderr, newRelayer.Hex()+" was expected (--expect-signer env://NEW_RELAYER_KEY)") {
		t.Errorf("stderr:\n%s", r)
	}
	// A reference to nothing is bad input.
	r = e.MustRun(2, "health", "--api-url", api.URL, "--expect-signer", "env://NO_SUCH_VARIABLE")
	if !strings.Contains(r.Stderr, "NO_SUCH_VARIABLE") {
		t.Errorf("stderr:\n%s", r)
	}
}

func TestWrongChain(t *testing.T) {
	e := clitest.New(t)
	api := healthtest.New(t, healthtest.Options{ChainID: 8453, Relayer: healthtest.Static(oldRelayer)})
	r := e.MustRun(1, "health", "--api-url", api.URL)
	if !strings.Contains(r.Stderr, "the API runs on chain 8453, but the profile is on chain 31337") {
		t.Errorf("stderr:\n%s", r)
	}
	e.MustRun(0, "health", "--api-url", api.URL, "--profile", "base-mainnet")
}

func TestAPIDownOrBroken(t *testing.T) {
	e := clitest.New(t)
	api := healthtest.New(t, healthtest.Options{Relayer: healthtest.Static(oldRelayer)})

	api.SetHTTPStatus(502)
	r := e.MustRun(1, "health", "--api-url", api.URL)
	if !strings.Contains(r.Stderr, "answered HTTP 502 (expected 200)") || !strings.Contains(r.Stderr, "fix:") {
		t.Errorf("stderr:\n%s", r)
	}
	api.SetHTTPStatus(0)

	api.SetBody("<html>maintenance</html>")
	r = e.MustRun(1, "health", "--api-url", api.URL)
	if !strings.Contains(r.Stderr, "not the /health JSON") {
		t.Errorf("stderr:\n%s", r)
	}
	api.ClearBody()

	api.Stop()
	r = e.MustRun(1, "health", "--api-url", api.URL, "-o", "json")
	var j struct {
		Error struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	r.JSON(t, &j)
	if j.Error.Code != 1 || !strings.Contains(j.Error.Message, "is down") {
		t.Fatalf("json error %+v", j)
	}
}

func TestAPIURLFromProfileAndEnv(t *testing.T) {
	e := clitest.New(t)
	fromFile := healthtest.New(t, healthtest.Options{Relayer: healthtest.Static(oldRelayer)})
	fromEnv := healthtest.New(t, healthtest.Options{Relayer: healthtest.Static(newRelayer)})
	e.WriteConfig("profiles:\n  local:\n    api_url: " + fromFile.URL + "\n")
	e.MustRun(0, "health", "--expect-relayer", oldRelayer.Hex())
	e.Vars["VRWX_API_URL"] = fromEnv.URL
	e.MustRun(0, "health", "--expect-relayer", newRelayer.Hex())
	// --api-url wins over both.
	e.MustRun(0, "health", "--api-url", fromFile.URL, "--expect-relayer", oldRelayer.Hex())
	if fromFile.Requests() != 2 || fromEnv.Requests() != 1 {
		t.Fatalf("requests: file %d, env %d", fromFile.Requests(), fromEnv.Requests())
	}
}

func TestBadInputExits2(t *testing.T) {
	e := clitest.New(t)
	api := healthtest.New(t, healthtest.Options{})
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--api-url", api.URL, "--expect-relayer", "0x1234"}, `"0x1234" is not an address`},
		{[]string{"--api-url", api.URL, "--expect-relayer", "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293Bc"}, "does not match its EIP-55 checksum"},
		{[]string{"--api-url", api.URL, "--expect-relayer", oldRelayer.Hex(), "--expect-signer", "env://X"}, "choose one"},
		{[]string{"--api-url", "ftp://api.example"}, `scheme "ftp"`},
		{[]string{"--api-url", api.URL, "extra"}, "takes 0 argument"},
	} {
		r := e.MustRun(2, append([]string{"health"}, c.args...)...)
		if !strings.Contains(r.Stderr, c.want) {
			t.Errorf("%v: stderr lacks %q:\n%s", c.args, c.want, r)
		}
	}
	if api.Requests() != 0 {
		t.Fatalf("bad input still asked the API %d times", api.Requests())
	}
}

func TestFlagsParse(t *testing.T) {
	f := &cmdutil.Factory{IO: ui.Test(strings.NewReader(""), &strings.Builder{}, &strings.Builder{}), Globals: &cmdutil.Globals{}}
	var got *healthcmd.Options
	cmd := healthcmd.NewCmdHealth(f, func(_ context.Context, o *healthcmd.Options) error { got = o; return nil })
	cmd.SetArgs([]string{"--api-url", "https://api.vrwx.io", "--expect-signer", "aws-sm://vrwx/prod/relayer-key"})
	f.Globals.Timeout = 0
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if got.APIURL != "https://api.vrwx.io" || got.ExpectSigner != "aws-sm://vrwx/prod/relayer-key" || got.ExpectRelayer != "" {
		t.Fatalf("options %+v", got)
	}
}

// The real binary: argv, exit code and streams as an operator sees them.
func TestBinary(t *testing.T) {
	e := clitest.New(t)
	api := healthtest.New(t, healthtest.Options{Relayer: healthtest.Static(oldRelayer)})
	r := e.Exec("health", "--api-url", api.URL, "--expect-relayer", newRelayer.Hex())
	if r.Code != 1 || !strings.Contains(r.Stderr, "was expected") {
		t.Fatalf("binary:\n%s", r)
	}
}
