package root_test

import (
	"encoding/json"
	"net"
	"strings"
	"testing"

	"github.com/vrwx/vrwxctl/pkg/buildinfo"
	"github.com/vrwx/vrwxctl/pkg/cli/clitest"
	"github.com/vrwx/vrwxctl/pkg/devchain"
	"github.com/vrwx/vrwxctl/pkg/ui"
)

func TestMain(m *testing.M) { clitest.Main(m) }

func deadURL(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return "http://" + l.Addr().String()
}

func TestGlobalBadInput(t *testing.T) {
	t.Parallel()
	e := clitest.New(t)
	cases := []struct {
		name string
		args []string
		want []string
	}{
		{"unknown profile", []string{"status", "--profile", "prdo"}, []string{`unknown profile "prdo"`, "base-mainnet", "config profiles"}},
		{"config does not parse", []string{"config", "view"}, []string{"does not parse", "line"}},
		{"output yaml", []string{"version", "--output", "yaml"}, []string{`--output "yaml"`, "text or json"}},
		{"rpc not a url", []string{"wallet", "balance", devchain.DevAddress(0).Hex(), "--rpc-url", "localhost:8545"}, []string{"--rpc-url", "localhost:8545"}},
		{"unknown command", []string{"wallt"}, []string{"unknown command"}},
		{"unknown flag", []string{"status", "--adress", "0x0"}, []string{"unknown flag"}},
		{"negative timeout", []string{"version", "--timeout", "-1s"}, []string{"--timeout"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name != "config does not parse" {
				e.WriteConfig("")
			} else {
				e.WriteConfig("profiles:\n  prod:\n    rpc_urls: [https://a.example\n")
			}
			r := e.Run(tc.args...)
			if r.Code != 2 {
				t.Fatalf("want exit 2:\n%s", r)
			}
			for _, w := range tc.want {
				if !strings.Contains(r.Stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, r)
				}
			}
		})
	}
}

func TestUnreachableRPCsListEachURL(t *testing.T) {
	t.Parallel()
	e := clitest.New(t)
	a, b := deadURL(t), deadURL(t)
	r := e.Run("wallet", "balance", devchain.DevAddress(0).Hex(), "--rpc-url", a, "--rpc-url", b)
	if r.Code != 1 || !strings.Contains(r.Stderr, a) || !strings.Contains(r.Stderr, b) || !strings.Contains(r.Stderr, "fix:") {
		t.Fatalf("want exit 1 listing both URLs with a fix:\n%s", r)
	}
	// -v tells the operator about the failover as it happens.
	r = e.Run("wallet", "balance", devchain.DevAddress(0).Hex(), "--rpc-url", a, "--rpc-url", b, "-v")
	if !strings.Contains(r.Stderr, "trying "+b) {
		t.Fatalf("-v shows no failover notice:\n%s", r)
	}
}

func TestWrongChainIsRefused(t *testing.T) {
	t.Parallel()
	e := clitest.New(t)
	a := devchain.StartAnvilT(t, devchain.AnvilOptions{ChainID: 8453})
	e.Vars["RPC_URL"] = a.URL
	r := e.Run("status")
	if r.Code != 3 || !strings.Contains(r.Stderr, "chain 8453") || r.Stdout != "" {
		t.Fatalf("want exit 3 and no data:\n%s", r)
	}
	// The same RPC under the profile of its chain is fine.
	r = e.Run("wallet", "balance", devchain.DevAddress(0).Hex(), "--profile", "base-mainnet", "--rpc-url", a.URL)
	if r.Code != 0 {
		t.Fatalf("base-mainnet profile against a chain-8453 RPC:\n%s", r)
	}
}

func TestJSONErrorsOnStdout(t *testing.T) {
	t.Parallel()
	e := clitest.New(t)
	r := e.Run("wallet", "balance", "0x12", "-o", "json")
	var body ui.ErrorJSON
	r.JSON(t, &body)
	if r.Code != 2 || body.Error.Code != 2 || body.Error.Kind != "usage" || !strings.Contains(body.Error.Message, "0x12") {
		t.Fatalf("error JSON %+v:\n%s", body, r)
	}
	r = e.Run("wallet", "balance", devchain.DevAddress(0).Hex(), "-o", "json", "--rpc-url", deadURL(t))
	r.JSON(t, &body)
	if r.Code != 1 || body.Error.Kind != "failed" || body.Error.Fix == "" {
		t.Fatalf("error JSON %+v:\n%s", body, r)
	}
}

func TestVersion(t *testing.T) {
	t.Parallel()
	e := clitest.New(t)
	r := e.MustRun(0, "version")
	if !strings.Contains(r.Stdout, "vrwxctl "+buildinfo.Version) || !strings.Contains(r.Stdout, "go1.") {
		t.Fatalf("version output:\n%s", r)
	}
	var i buildinfo.Info
	e.MustRun(0, "version", "-o", "json").JSON(t, &i)
	if i.GoVersion == "" || i.Commit == "" || i.Date == "" {
		t.Fatalf("version json %+v", i)
	}
}

// The release build injects version, commit and date with -ldflags.
func TestBinaryVersionAndHelp(t *testing.T) {
	t.Parallel()
	e := clitest.New(t)
	r := e.Exec("--help")
	for _, want := range []string{"status", "wallet", "config", "version", "completion", "--profile", "--rpc-url", "--output", "--yes", "--dry-run", "--timeout", "--no-color", "--verbose"} {
		if !strings.Contains(r.Stdout, want) {
			t.Errorf("--help lacks %q", want)
		}
	}
	r = e.Exec("version", "-o", "json")
	var i buildinfo.Info
	if err := json.Unmarshal([]byte(r.Stdout), &i); err != nil || r.Code != 0 {
		t.Fatalf("%v\n%s", err, r)
	}
}

func TestCompletion(t *testing.T) {
	t.Parallel()
	e := clitest.New(t)
	e.WriteConfig("profiles:\n  prod-eu:\n    extends: base-mainnet\n")
	r := e.MustRun(0, "__complete", "status", "--profile", "")
	for _, want := range []string{"base-mainnet", "base-sepolia", "local", "prod-eu"} {
		if !strings.Contains(r.Stdout, want) {
			t.Errorf("profile completion lacks %q:\n%s", want, r)
		}
	}
	r = e.MustRun(0, "__complete", "version", "-o", "")
	if !strings.Contains(r.Stdout, "text") || !strings.Contains(r.Stdout, "json") {
		t.Errorf("output completion:\n%s", r)
	}
	// A completion script is only the script: nothing else printed into it.
	r = e.MustRun(0, "completion", "bash")
	if !strings.HasPrefix(r.Stdout, "# bash completion V2 for vrwxctl") || r.Stderr != "" {
		t.Fatalf("completion script:\n%s", r.Stderr)
	}
}

func TestConfigView(t *testing.T) {
	t.Parallel()
	e := clitest.New(t)
	e.WriteConfig("profiles:\n  prod:\n    extends: base-mainnet\n    rpc_urls: [https://base-mainnet.g.alchemy.com/v2/SECRETAPIKEY123, https://mainnet.base.org]\n")
	e.Vars["MAX_FEE_PER_GAS_GWEI"] = "75"
	r := e.MustRun(0, "config", "view", "--profile", "prod")
	for _, want := range []string{"profile: prod (flag)", "max_fee_gwei", "75", "env MAX_FEE_PER_GAS_GWEI", "8453", "built-in", "config file"} {
		if !strings.Contains(r.Stdout, want) {
			t.Errorf("config view lacks %q:\n%s", want, r)
		}
	}
	if strings.Contains(r.Stdout, "SECRETAPIKEY123") {
		t.Errorf("RPC API key shown without --reveal:\n%s", r)
	}
	if r := e.MustRun(0, "config", "view", "--profile", "prod", "--reveal"); !strings.Contains(r.Stdout, "SECRETAPIKEY123") {
		t.Errorf("--reveal hides the URL:\n%s", r)
	}
	var pr []struct {
		Name    string `json:"name"`
		Current bool   `json:"current"`
	}
	e.MustRun(0, "config", "profiles", "-o", "json").JSON(t, &pr)
	if len(pr) != 4 {
		t.Fatalf("profiles %+v", pr)
	}
}
