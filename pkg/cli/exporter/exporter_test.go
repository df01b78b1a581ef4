package exporter_test

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vrwx/vrwxctl/pkg/apidb/apidbtest"
	"github.com/vrwx/vrwxctl/pkg/cli/clitest"
	"github.com/vrwx/vrwxctl/pkg/cli/cmdutil"
	exportercmd "github.com/vrwx/vrwxctl/pkg/cli/exporter"
	"github.com/vrwx/vrwxctl/pkg/devchain"
	"github.com/vrwx/vrwxctl/pkg/exporter/exportertest"
	"github.com/vrwx/vrwxctl/pkg/health/healthtest"
	"github.com/vrwx/vrwxctl/pkg/monitor/monitortest"
	"github.com/vrwx/vrwxctl/pkg/ui"
)

func TestMain(m *testing.M) { clitest.Main(m) }

// The real binary, as a deployment runs it: scraped over HTTP, compared with the
// chain, the API and the database; through an RPC, API and database outage it stays
// up and says down; SIGTERM stops it cleanly with exit 0.
func TestBinaryServesSurvivesAndStopsOnSIGTERM(t *testing.T) {
	e := clitest.NewChain(t)
	proxy := monitortest.NewProxy(t, e.Anvil.URL)
	api := healthtest.New(t, healthtest.Options{Relayer: healthtest.Static(e.D.Relayer)})
	f, err := apidbtest.BuildFixture(context.Background(), filepath.Join(t.TempDir(), "vrwx.db"), apidbtest.FixtureOptions{DLQEvents: 12})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Anvil.RPC(context.Background(), nil, "anvil_setBalance", e.D.Relayer.Hex(), "0x3782dace9d900000"); err != nil { // 4 ETH
		t.Fatal(err)
	}
	env := map[string]string{}
	for k, v := range e.Vars {
		env[k] = v
	}
	env["RPC_URL"] = proxy.URL
	env["VRWX_API_URL"] = api.URL
	env["DATABASE_PATH"] = f.Path
	p := exportertest.Start(t, clitest.Binary(t), env, "exporter", "--listen", "127.0.0.1:0", "--interval", "1ms", "--read-timeout", "3s")

	got := exportertest.Scrape(t, p.URL)
	if v, ok := got.Get("vrwx_relayer_balance_eth", "address", e.D.Relayer.Hex()); !ok || v != 4 {
		t.Fatalf("balance %v %v; stderr:\n%s", v, ok, p.Stderr())
	}
	if v, ok := got.Get("vrwx_escrow_job_count", "escrow", e.D.Escrow.Hex()); !ok || v != float64(len(e.D.Jobs)) {
		t.Errorf("job count %v %v", v, ok)
	}
	for _, up := range []string{"vrwx_chain_up", "vrwx_api_up", "vrwx_db_up"} {
		if v, _ := got.Get(up); v != 1 {
			t.Errorf("%s = %v", up, v)
		}
	}
	if _, ok := got.Get("vrwx_dlq_unresolved"); !ok {
		t.Errorf("no vrwx_dlq_unresolved")
	}
	for _, want := range []string{"relayers: " + e.D.Relayer.Hex(), "escrow: " + e.D.Escrow.Hex(), "API: " + api.URL, "database: " + f.Path} {
		if !p.WaitStderr(want, 5*time.Second) {
			t.Errorf("start-up lines lack %q:\n%s", want, p.Stderr())
		}
	}

	proxy.SetDown(true)
	api.Stop()
	if err := os.Rename(f.Path, f.Path+".away"); err != nil {
		t.Fatal(err)
	}
	got = exportertest.Scrape(t, p.URL)
	for _, down := range []string{"vrwx_chain_up", "vrwx_api_up", "vrwx_db_up"} {
		if v, ok := got.Get(down); !ok || v != 0 {
			t.Errorf("%s = %v during the outage", down, v)
		}
	}
	if len(got["vrwx_relayer_balance_eth"]) != 0 {
		t.Errorf("a balance served while the RPC is down")
	}
	for _, want := range []string{"chain read is down", "API " + api.URL + "/health is down", "database " + f.Path + " does not exist"} {
		if !p.WaitStderr(want, 5*time.Second) {
			t.Errorf("stderr lacks %q:\n%s", want, p.Stderr())
		}
	}

	proxy.SetDown(false)
	api.Start()
	if err := os.Rename(f.Path+".away", f.Path); err != nil {
		t.Fatal(err)
	}
	got = exportertest.Scrape(t, p.URL)
	if v, ok := got.Get("vrwx_relayer_balance_eth", "address", e.D.Relayer.Hex()); !ok || v != 4 {
		t.Errorf("after recovery: balance %v %v", v, ok)
	}
	if !p.WaitStderr("is back up", 5*time.Second) {
		t.Errorf("no recovery line:\n%s", p.Stderr())
	}

	p.Signal(syscall.SIGTERM)
	if code := p.Wait(10 * time.Second); code != 0 {
		t.Fatalf("exit %d after SIGTERM:\n%s", code, p.Stderr())
	}
	if !strings.Contains(p.Stderr(), "exporter stopped") {
		t.Errorf("stderr:\n%s", p.Stderr())
	}
	if _, err := net.DialTimeout("tcp", strings.TrimPrefix(p.Base, "http://"), time.Second); err == nil {
		t.Errorf("still listening after exit")
	}
	clitest.Record("vrwxctl exporter (binary)", p.Stderr(), 0)
}

// With no database configured (the built-in default path is not a configuration),
// the database is never touched and no DB metric is published.
func TestNoDatabaseConfigured(t *testing.T) {
	e := clitest.NewChain(t)
	api := healthtest.New(t, healthtest.Options{})
	env := map[string]string{}
	for k, v := range e.Vars {
		env[k] = v
	}
	env["VRWX_API_URL"] = api.URL
	dir := t.TempDir()
	p := exportertest.Start(t, clitest.Binary(t), env, "exporter", "--listen", "127.0.0.1:0", "--relayer", devchain.DevAddress(7).Hex())
	got := exportertest.Scrape(t, p.URL)
	if _, ok := got["vrwx_db_up"]; ok {
		t.Errorf("vrwx_db_up published without a database")
	}
	if _, ok := got["vrwx_dlq_unresolved"]; ok {
		t.Errorf("vrwx_dlq_unresolved published without a database")
	}
	if !p.WaitStderr("database: none", 5*time.Second) || !strings.Contains(p.Stderr(), "relayers: "+devchain.DevAddress(7).Hex()) {
		t.Errorf("stderr:\n%s", p.Stderr())
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("files appeared: %v", entries)
	}
	p.Signal(syscall.SIGINT)
	if code := p.Wait(10 * time.Second); code != 0 {
		t.Fatalf("exit %d after SIGINT", code)
	}
	clitest.Record("vrwxctl exporter (binary)", p.Stderr(), 0)
}

func TestBadInputExits2(t *testing.T) {
	e := clitest.New(t)
	for _, c := range []struct {
		args []string
		want string
	}{
		{nil, "--listen is required"},
		{[]string{"--listen", "9469"}, `--listen "9469" is not an address`},
		{[]string{"--listen", ":9469", "--relayer", "0xabc"}, `"0xabc" is not an address`},
		{[]string{"--listen", ":9469", "--interval", "0s"}, "--interval 0s is not positive"},
		{[]string{"--listen", ":9469", "--read-timeout", "-1s"}, "--read-timeout -1s is not positive"},
		{[]string{"--listen", ":9469", "--relay-window", "30s"}, "--relay-window 30s is too short"},
		{[]string{"--listen", ":9469", "--api-url", "api.vrwx.io"}, "--api-url"},
		{[]string{"--listen", ":9469", "--interval", "often"}, `--interval "often" is not a valid duration`},
		{[]string{"--listen", ":-1"}, `--listen ":-1" is not an address`},
		{[]string{"--listen", ":65536"}, `--listen ":65536" is not an address`},
		{[]string{"--listen", "user:pw@host/x:9469"}, `--listen "***@host/***" is not an address`},
	} {
		r := e.MustRun(2, append([]string{"exporter"}, c.args...)...)
		if !strings.Contains(r.Stderr, c.want) {
			t.Errorf("%v: stderr lacks %q:\n%s", c.args, c.want, r)
		}
	}
}

func TestPortInUseExits1(t *testing.T) {
	e := clitest.New(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	r := e.MustRun(1, "exporter", "--listen", l.Addr().String(), "--relayer", devchain.DevAddress(7).Hex())
	if !strings.Contains(r.Stderr, "listen on "+l.Addr().String()) || !strings.Contains(r.Stderr, "fix:") {
		t.Fatalf("stderr:\n%s", r)
	}
}

func TestFlagsParse(t *testing.T) {
	f := &cmdutil.Factory{IO: ui.Test(strings.NewReader(""), &strings.Builder{}, &strings.Builder{}), Globals: &cmdutil.Globals{}}
	var got *exportercmd.Options
	cmd := exportercmd.NewCmdExporter(f, func(_ context.Context, o *exportercmd.Options) error { got = o; return nil })
	cmd.SetArgs([]string{"--listen", ":9469", "--relayer", "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC", "--relayer", "0x90F79bf6EB2c4f870365E785982E1f101E93b906",
		"--db", "/data/vrwx.db", "--interval", "30s", "--api-url", "https://api.vrwx.io"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if got.Addr != ":9469" || len(got.Relayers) != 2 || got.DB != "/data/vrwx.db" || got.Interval != 30*time.Second ||
		got.ReadTimeout != 10*time.Second || got.APIURL != "https://api.vrwx.io" {
		t.Fatalf("options %+v", got)
	}
}
