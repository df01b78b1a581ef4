package status_test

import (
	"context"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/vrwx/vrwxctl/pkg/apidb"
	"github.com/vrwx/vrwxctl/pkg/apidb/apidbtest"
	"github.com/vrwx/vrwxctl/pkg/cli/clitest"
	"github.com/vrwx/vrwxctl/pkg/cli/status"
	"github.com/vrwx/vrwxctl/pkg/devchain"
	"github.com/vrwx/vrwxctl/pkg/dlq"
	"github.com/vrwx/vrwxctl/pkg/doctor"
	"github.com/vrwx/vrwxctl/pkg/health/healthtest"
	"github.com/vrwx/vrwxctl/pkg/monitor/monitortest"
	"github.com/vrwx/vrwxctl/pkg/sqlitebackup"
	"github.com/vrwx/vrwxctl/pkg/sqlitebackup/replicatest"
	"github.com/vrwx/vrwxctl/pkg/units"
)

func TestMain(m *testing.M) { clitest.Main(m) }

func check(t *testing.T, s status.JSON, section, name string) doctor.Check {
	t.Helper()
	for _, c := range s.Checks {
		if c.Section == section && c.Name == name {
			return c
		}
	}
	t.Fatalf("no %s/%s check in %+v", section, name, s.Checks)
	return doctor.Check{}
}

func hasCheck(s status.JSON, section, name string) bool {
	for _, c := range s.Checks {
		if c.Section == section && c.Name == name {
			return true
		}
	}
	return false
}

func setBalance(t *testing.T, e *clitest.Env, addr string, wei *big.Int) {
	t.Helper()
	if err := e.Anvil.RPC(context.Background(), nil, "anvil_setBalance", addr, hexutil.EncodeBig(wei)); err != nil {
		t.Fatal(err)
	}
}

// healthy is a chain with an API that relays from the profile's relayer, a database
// with a few unresolved DLQ events and a fresh backup of it.
func healthy(t *testing.T) (*clitest.Env, *healthtest.Server) {
	t.Helper()
	return healthyWith(t, devchain.AnvilOptions{})
}

// healthyWith is healthy on a chain started with opts.
func healthyWith(t *testing.T, opts devchain.AnvilOptions) (*clitest.Env, *healthtest.Server) {
	t.Helper()
	e := clitest.NewChainWith(t, opts)
	api := healthtest.New(t, healthtest.Options{Relayer: healthtest.Static(e.D.Relayer)})
	e.Vars["VRWX_API_URL"] = api.URL
	db := fixture(t, 14)
	e.Vars["DATABASE_PATH"] = db
	backups := t.TempDir()
	e.MustRun(0, "db", "backup", "--db", db, "--out", backups, "--quick")
	e.Vars["VRWX_BACKUP_LOCATION"] = backups
	return e, api
}

func fixture(t *testing.T, events int) string {
	t.Helper()
	f, err := apidbtest.BuildFixture(context.Background(), filepath.Join(t.TempDir(), "vrwx.db"), apidbtest.FixtureOptions{DLQEvents: events, JobCompletions: 10, Payments: 5})
	if err != nil {
		t.Fatal(err)
	}
	return f.Path
}

func depth(t *testing.T, path string) int64 {
	t.Helper()
	db, err := apidb.OpenReadOnly(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	s, err := dlq.Stats(context.Background(), db, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return s.Depth
}

func statusJSON(t *testing.T, e *clitest.Env, want int, args ...string) status.JSON {
	t.Helper()
	var s status.JSON
	r := e.Run(append([]string{"status", "-o", "json"}, args...)...)
	if r.Code != want {
		t.Fatalf("want exit %d:\n%s", want, r)
	}
	r.JSON(t, &s)
	// Every fix is runnable as printed in the situation that produced it.
	var fixes []string
	for _, c := range s.Checks {
		fixes = append(fixes, c.Fix)
	}
	e.CheckAdvice(fixes...)
	return s
}

// Every section of a healthy system is judged ok, and exit is 0.
func TestHealthySystemExitsZero(t *testing.T) {
	t.Parallel()
	e, _ := healthy(t)
	r := e.MustRun(0, "status")
	for _, want := range []string{"STATUS " + e.D.Relayer.Hex(), "RELAYER", "balance", "runway", "GAS", "base fee", "fee cap", "CHAIN", "RPC",
		"CONTRACTS", "no pause switch", "API", "relayerAddress", "DATABASE", "DLQ depth", "BACKUP", "newest backup", "OK"} {
		if !strings.Contains(r.Stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, r)
		}
	}
	s := statusJSON(t, e, 0)
	if s.Level != doctor.OK || s.Relayer != e.D.Relayer.Hex() || s.ChainID != 31337 || s.Profile != "local" || s.RPCRoundTrips != 2 {
		t.Fatalf("json %+v", s)
	}
	if c := check(t, s, "database", "DLQ depth"); c.Level != doctor.OK || !strings.HasSuffix(c.Value, " unresolved") {
		t.Errorf("dlq %+v", c)
	}
	if c := check(t, s, "api", "relayerAddress"); c.Level != doctor.OK || c.Value != e.D.Relayer.Hex() {
		t.Errorf("api relayer %+v", c)
	}
	if c := check(t, s, "backup", "newest backup"); c.Level != doctor.OK {
		t.Errorf("backup %+v", c)
	}
}

// The runbook's balance lines, and the runway at the recent spend rate.
func TestBalanceAndRunway(t *testing.T) {
	t.Parallel()
	// The runway compares the balance now with the balance at a past block.
	e, api := healthyWith(t, devchain.AnvilOptions{History: true})
	addr := devchain.DevAddress(7).Hex()
	api.SetRelayer(healthtest.Static(devchain.DevAddress(7)))

	setBalance(t, e, addr, mustWei("0.1")) // below 0.2 warning, above 0.05 critical
	s := statusJSON(t, e, 5, "--address", addr)
	if c := check(t, s, "relayer", "balance"); c.Level != doctor.Warn || !strings.Contains(c.Fix, "wallet fund --to "+addr) {
		t.Fatalf("balance check %+v", c)
	}
	// It sent nothing: an account pays only for what it sends.
	if c := check(t, s, "relayer", "runway"); c.Level != doctor.OK || c.Value != "no spend" {
		t.Fatalf("runway %+v", c)
	}

	// The operator named the treasury's signer: the fix is a command that runs as
	// printed (CheckAdvice runs it with --dry-run).
	e.Vars["TREASURY_KEY"] = devchain.DevKeyHex(devchain.AccountTreasury)
	e.Vars["VRWX_TREASURY_SIGNER"] = "env://TREASURY_KEY"
	s = statusJSON(t, e, 5, "--address", addr)
	fix := check(t, s, "relayer", "balance").Fix
	if !strings.Contains(fix, "--signer env://TREASURY_KEY") || e.CheckAdvice(fix) != 1 {
		t.Fatalf("the top-up does not name the treasury's signer, or did not run: %q", fix)
	}
	delete(e.Vars, "VRWX_TREASURY_SIGNER")

	setBalance(t, e, addr, mustWei("0.01"))
	r := e.Run("status", "--address", addr)
	if r.Code != 1 || !strings.Contains(r.Stdout, "top up immediately") || !strings.Contains(r.Stdout, "CRITICAL") {
		t.Fatalf("0.01 ETH: want exit 1 with the runbook's fix:\n%s", r)
	}

	// The relayer spends: 9 of its 10 ETH went out within the window, 1 ETH left.
	api.SetRelayer(healthtest.Static(e.D.Relayer))
	relayer := e.D.Relayer.Hex()
	setBalance(t, e, relayer, mustWei("10"))
	if err := e.Anvil.Mine(context.Background()); err != nil {
		t.Fatal(err)
	}
	h, err := devchain.SendRawTx(context.Background(), e.Anvil.URL, devchain.DevKey(devchain.AccountRelayer), devchain.RawTx{To: e.D.Treasury, Value: mustWei("9")})
	if err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := devchain.WaitMined(wctx, e.Anvil.URL, h); err != nil { // mined before status reads the spend
		t.Fatal(err)
	}
	s = statusJSON(t, e, 1)
	c := check(t, s, "relayer", "runway")
	if c.Level != doctor.Crit || !strings.Contains(c.Value, "days") || !strings.Contains(c.Fix, "wallet fund --to "+relayer) {
		t.Fatalf("runway %+v", c)
	}

	// The alert rule's 0.1 ETH critical line, configured per profile.
	api.SetRelayer(healthtest.Static(devchain.DevAddress(7)))
	e.WriteConfig("profiles:\n  local:\n    balance_crit_eth: 0.1\n    balance_warn_eth: 0.5\n")
	setBalance(t, e, addr, mustWei("0.09"))
	if c := check(t, statusJSON(t, e, 1, "--address", addr), "relayer", "balance"); c.Level != doctor.Crit {
		t.Fatalf("0.09 ETH with critical at 0.1: %+v", c)
	}
}

// A transaction waiting (mining off) warns; one queued behind a missing nonce is a
// nonce gap, critical, with the missing nonce named.
func TestPendingAndNonceGap(t *testing.T) {
	t.Parallel()
	e, api := healthy(t)
	ctx := context.Background()
	from := devchain.DevAddress(8)
	api.SetRelayer(healthtest.Static(from))
	if err := e.Anvil.SetAutomine(ctx, false); err != nil {
		t.Fatal(err)
	}
	if _, err := devchain.SendRawTx(ctx, e.Anvil.URL, devchain.DevKey(8), devchain.RawTx{To: e.D.Treasury, Value: big.NewInt(1)}); err != nil {
		t.Fatal(err)
	}
	s := statusJSON(t, e, 5, "--address", from.Hex())
	c := check(t, s, "relayer", "nonce")
	if c.Level != doctor.Warn || c.Value != "latest 0, pending 1" || !strings.Contains(c.Fix, "tx speedup --nonce 0") {
		t.Fatalf("nonce check %+v", c)
	}
	if hasCheck(s, "relayer", "nonce gap") {
		t.Fatalf("no gap yet: %+v", s.Checks)
	}

	three := uint64(3)
	if _, err := devchain.SendRawTx(ctx, e.Anvil.URL, devchain.DevKey(8), devchain.RawTx{To: e.D.Treasury, Value: big.NewInt(1), Nonce: &three}); err != nil {
		t.Fatal(err)
	}
	s = statusJSON(t, e, 1, "--address", from.Hex())
	g := check(t, s, "relayer", "nonce gap")
	if g.Level != doctor.Crit || g.Value != "1 queued" || !strings.Contains(g.Detail, "nonces 1..2") || !strings.Contains(g.Fix, "wallet fund --to "+from.Hex()) {
		t.Fatalf("gap %+v", g)
	}
}

// MAX_FEE_PER_GAS_GWEI below the base fee: relays cannot be mined. (The gas lines'
// thresholds are pkg/doctor's TestSystemChecksJudgeEachSection.)
func TestFeeCapBelowBaseFee(t *testing.T) {
	t.Parallel()
	e, _ := healthy(t)
	e.Vars["MAX_FEE_PER_GAS_GWEI"] = "0.000001"
	s := statusJSON(t, e, 1)
	if c := check(t, s, "gas", "fee cap"); c.Level != doctor.Crit || !strings.Contains(c.Detail, "cannot be mined") || !strings.Contains(c.Fix, "MAX_FEE_PER_GAS_GWEI") {
		t.Fatalf("fee cap %+v", c)
	}
	if c := check(t, s, "gas", "gas price"); c.Level != doctor.OK {
		t.Fatalf("gas price %+v", c)
	}
}

// A paused escrow is critical; the same escrow unpaused is ok; the deployed escrow
// has no pause switch and says so.
func TestPausedEscrow(t *testing.T) {
	t.Parallel()
	e, _ := healthy(t)
	e.Vars["JOB_ESCROW_ADDRESS"] = e.D.PausableEscrow.Hex()
	if c := check(t, statusJSON(t, e, 0), "contracts", "paused"); c.Level != doctor.OK || c.Value != "false" {
		t.Fatalf("unpaused %+v", c)
	}
	if _, err := devchain.Transact(context.Background(), e.Anvil.URL, devchain.DevKey(devchain.AccountAdmin), e.D.PausableEscrow, devchain.ContractPausableEscrow, "pause"); err != nil {
		t.Fatal(err)
	}
	c := check(t, statusJSON(t, e, 1), "contracts", "paused")
	if c.Level != doctor.Crit || c.Value != "true" || !strings.Contains(c.Fix, "unpause") {
		t.Fatalf("paused %+v", c)
	}
	e.Vars["JOB_ESCROW_ADDRESS"] = common.HexToAddress("0x00000000000000000000000000000000000000aa").Hex()
	if c := check(t, statusJSON(t, e, 1), "contracts", "escrow code"); c.Level != doctor.Crit || c.Value != "no bytecode" {
		t.Fatalf("no escrow %+v", c)
	}
}

// The API relaying from the old key after a rotation, and down; the API's other
// lines (another chain, self-submit, latency) are pkg/doctor's section table.
func TestAPIFaults(t *testing.T) {
	t.Parallel()
	e, api := healthy(t)
	e.Vars["RELAYER_KEY"] = devchain.DevKeyHex(devchain.AccountRelayer)

	// The store's current key is the relayer the API reports: both lines ok.
	s := statusJSON(t, e, 0, "--signer", "env://RELAYER_KEY")
	if s.Relayer != e.D.Relayer.Hex() || !strings.Contains(s.RelayerFrom, "env://RELAYER_KEY") {
		t.Fatalf("relayer from the signer: %+v", s)
	}
	if c := check(t, s, "keys", "current key"); c.Level != doctor.OK || c.Value != e.D.Relayer.Hex() {
		t.Fatalf("store %+v", c)
	}

	// A rotation half done: the store's current key moved on, the API still relays
	// from the old one.
	old := devchain.DevAddress(6)
	api.SetRelayer(healthtest.Static(old))
	s = statusJSON(t, e, 1, "--signer", "env://RELAYER_KEY")
	if c := check(t, s, "keys", "current key"); c.Level != doctor.Crit || !strings.Contains(c.Detail, "rotation half done") || !strings.Contains(c.Fix, "key rollback") ||
		strings.Contains(c.Fix, "--store env://") {
		// env:// is a read-only copy: `key rollback --store env://…` is refused.
		t.Fatalf("store %+v", c)
	}
	// A writable store: the rollback is named with it, and runs as printed.
	store := e.KeyFile("relayer.hex", devchain.DevKeyHex(devchain.AccountRelayer), 0o600)
	s = statusJSON(t, e, 1, "--signer", store)
	if c := check(t, s, "keys", "current key"); !strings.Contains(c.Fix, "vrwxctl key rollback --store "+store) || e.CheckAdvice(c.Fix) != 1 {
		t.Fatalf("store %+v", c)
	}
	if c := check(t, s, "api", "relayerAddress"); c.Level != doctor.Crit || c.Value != old.Hex() {
		t.Fatalf("api relayer %+v", c)
	}

	api.Stop()
	r := e.Run("status")
	if r.Code != 1 || !strings.Contains(r.Stdout, "/health") || !strings.Contains(r.Stdout, "down") || !strings.Contains(r.Stdout, "kubectl logs") {
		t.Fatalf("API down:\n%s", r)
	}
}

// The first RPC URL dead (vrwxctl fails over: a warning) or lagging far behind the
// backup (critical, with the runbook's "switch to backup RPC"); the lag lines are
// pkg/doctor's TestRPCChecks.
func TestFirstRPCDeadOrLagging(t *testing.T) {
	t.Parallel()
	e, _ := healthy(t)
	e.Vars["RPC_URL"] = monitortest.DeadURL(t) + "," + e.Anvil.URL
	s := statusJSON(t, e, 5)
	if c := check(t, s, "rpc", "#0 (first)"); c.Level != doctor.Warn || c.Value != "down" || !strings.Contains(c.Fix, "switch to the backup RPC") {
		t.Fatalf("dead first %+v", c)
	}
	if c := check(t, s, "rpc", "#1"); c.Level != doctor.OK {
		t.Fatalf("backup %+v", c)
	}

	ctx := context.Background()
	if err := e.Anvil.RPC(ctx, nil, "anvil_mine", "0x64"); err != nil { // 100 blocks
		t.Fatal(err)
	}
	var head hexutil.Uint64
	if err := e.Anvil.RPC(ctx, &head, "eth_blockNumber"); err != nil {
		t.Fatal(err)
	}
	lagging := devchain.StartNodeProxy(t, e.Anvil.URL)
	lagging.LagAt(uint64(head) - 60)
	e.Vars["RPC_URL"] = lagging.URL + "," + e.Anvil.URL
	s = statusJSON(t, e, 1)
	c := check(t, s, "rpc", "#0 (first)")
	if c.Level != doctor.Crit || c.Value != "head #"+itoa(uint64(head)-60)+", 60 behind" || !strings.Contains(c.Fix, "switch to the backup RPC") {
		t.Fatalf("lagging first %+v", c)
	}
}

// DLQ depth above 50 is critical; a missing database is critical too; the newest
// backup too old, or none, is a warning or critical.
func TestDatabaseAndBackups(t *testing.T) {
	t.Parallel()
	e, _ := healthy(t)
	deep := fixture(t, 140)
	e.Vars["DATABASE_PATH"] = deep
	n := depth(t, deep)
	if n <= 50 {
		t.Fatalf("fixture depth %d, want > 50", n)
	}
	c := check(t, statusJSON(t, e, 1), "database", "DLQ depth")
	if c.Level != doctor.Crit || c.Value != itoa(uint64(n))+" unresolved" || !strings.Contains(c.Fix, "dlq replay") {
		t.Fatalf("dlq %+v", c)
	}
	e.Vars["DATABASE_PATH"] = filepath.Join(t.TempDir(), "absent.db")
	if c := check(t, statusJSON(t, e, 1), "database", "DLQ depth"); c.Level != doctor.Crit || c.Value != "unreadable" {
		t.Fatalf("no database %+v", c)
	}
	delete(e.Vars, "DATABASE_PATH")
	if hasCheck(statusJSON(t, e, 0), "database", "DLQ depth") {
		t.Fatal("the built-in database path is not judged")
	}

	old := t.TempDir()
	if err := os.WriteFile(filepath.Join(old, "vrwx-20260101T000000Z.db"), []byte("SQLite format 3\x00"), 0o600); err != nil {
		t.Fatal(err)
	}
	e.Vars["VRWX_BACKUP_LOCATION"] = old
	if c := check(t, statusJSON(t, e, 1), "backup", "newest backup"); c.Level != doctor.Crit || !strings.Contains(c.Fix, "db backup --db DB --out "+old) {
		t.Fatalf("old backup %+v", c)
	}
	// With the database named, the fix names it too and runs as printed.
	e.Vars["DATABASE_PATH"] = fixture(t, 1)
	if c := check(t, statusJSON(t, e, 1), "backup", "newest backup"); !strings.Contains(c.Fix, "db backup --db "+e.Vars["DATABASE_PATH"]+" --out "+old) || e.CheckAdvice(c.Fix) != 1 {
		t.Fatalf("old backup with the database named %+v", c)
	}
	delete(e.Vars, "DATABASE_PATH")
	if c := check(t, statusJSON(t, e, 1, "--backups", t.TempDir()), "backup", "newest backup"); c.Level != doctor.Crit || c.Value != "none" {
		t.Fatalf("no backup %+v", c)
	}
}

// status reads the chain in two round trips (the second needs the head), chain-id
// guard included, however many sections it judges.
func TestStatusIsTwoRoundTrips(t *testing.T) {
	t.Parallel()
	e, _ := healthy(t)
	p := monitortest.NewProxy(t, e.Anvil.URL)
	e.Vars["RPC_URL"] = p.URL
	e.MustRun(0, "status")
	if p.Requests() != 2 {
		t.Fatalf("status made %d HTTP requests to the RPC, want 2", p.Requests())
	}
}

func TestBadInput(t *testing.T) {
	t.Parallel()
	e := clitest.New(t)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--address", "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293Bc"}, "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293Bc"},
		{[]string{"--api-url", "ftp://x"}, "--api-url"},
		{[]string{"--backups", "gs://bucket"}, "--backups"},
	} {
		r := e.Run(append([]string{"status"}, c.args...)...)
		if r.Code != 2 || !strings.Contains(r.Stderr, c.want) {
			t.Errorf("%v: want exit 2 naming %q:\n%s", c.args, c.want, r)
		}
	}
}

func itoa(n uint64) string { return new(big.Int).SetUint64(n).String() }

// mustWei reads an amount of ether.
func mustWei(eth string) *big.Int {
	v, err := units.ParseAmount(eth + "ether")
	if err != nil {
		panic(err)
	}
	return v
}

// An outage is said once: with the only RPC refusing connections, one line says so
// with its fix, every check that needs the chain says "not read: RPC down" without
// repeating the error, and the refusal is named at most twice on the whole screen.
func TestRPCDownIsSaidOnce(t *testing.T) {
	t.Parallel()
	e, _ := healthy(t)
	e.Vars["RPC_URL"] = monitortest.DeadURL(t)
	r := e.Run("status")
	if r.Code != 1 {
		t.Fatalf("want exit 1:\n%s", r)
	}
	screen := r.Stdout + r.Stderr
	if n := strings.Count(screen, "refused"); n == 0 || n > 2 {
		t.Errorf("the refusal is named %d times (want 1 or 2):\n%s", n, r)
	}
	if n := strings.Count(screen, "fix:"); n != 1 {
		t.Errorf("%d fixes for one outage:\n%s", n, r)
	}
	if !strings.Contains(r.Stdout, "make devchain") {
		t.Errorf("the local chain's own fix is not the one given:\n%s", r)
	}
	s := statusJSON(t, e, 1)
	if s.Checks[0].Section != "rpc" || s.Checks[0].Level != doctor.Crit || s.Checks[0].Fix == "" {
		t.Errorf("the outage is not the first line: %+v", s.Checks[0])
	}
	for _, want := range [][2]string{{"relayer", "balance"}, {"gas", "gas price"}, {"chain", "head"}, {"contracts", "escrow code"}} {
		c := check(t, s, want[0], want[1])
		if c.Value != "not read" || c.Detail != "RPC down" || c.Fix != "" {
			t.Errorf("%s/%s with the RPC down: %+v", want[0], want[1], c)
		}
	}
	// The API does not need the chain: it is still judged.
	if c := check(t, s, "api", "/health"); c.Level != doctor.OK {
		t.Errorf("the API with the RPC down: %+v", c)
	}
}

// With a litestream replica configured (VRWX_REPLICA), status judges the age of
// the newest replicated position against the RPO: ok while the real litestream
// replicates, a warning past replica_age_warn, critical past the runbook's hour
// (the clock moved on, nothing replicated since). Without the helper it is
// unreadable, which is critical too.
func TestStatusJudgesLitestreamReplicationAgainstTheRPO(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	e, _ := healthy(t)
	engine := replicatest.Engine(t)
	replica := filepath.Join(t.TempDir(), "replica")
	replicatest.Replicate(t, e.Vars["DATABASE_PATH"], "file://"+replica)
	replicatest.WaitFor(ctx, t, engine, sqlitebackup.Location{Path: replica, Replica: true}, sqlitebackup.S3Config{},
		func(i *sqlitebackup.ReplicaInfo) bool { return len(i.Snapshots) > 0 })
	e.Vars["VRWX_REPLICA"] = "file://" + replica
	e.Vars["VRWXCTL_LITESTREAM"] = engine.Path

	c := check(t, statusJSON(t, e, 0), "backup", "litestream replica")
	if c.Level != doctor.OK || !strings.HasSuffix(c.Value, " behind") || !strings.Contains(c.Detail, "critical above 1h0m0s (RPO)") {
		t.Fatalf("replicating: %+v", c)
	}
	at := time.Now()
	e.Now = func() time.Time { return at.Add(30 * time.Minute) }
	if c := check(t, statusJSON(t, e, 5), "backup", "litestream replica"); c.Level != doctor.Warn {
		t.Fatalf("30 minutes behind: %+v", c)
	}
	e.Now = func() time.Time { return at.Add(61 * time.Minute) }
	s := statusJSON(t, e, 1)
	if c := check(t, s, "backup", "litestream replica"); c.Level != doctor.Crit || !strings.Contains(c.Fix, "litestream sidecar") {
		t.Fatalf("past the RPO: %+v", c)
	}
	e.Now = nil
	e.Vars["VRWXCTL_LITESTREAM"] = filepath.Join(t.TempDir(), "absent")
	if c := check(t, statusJSON(t, e, 1), "backup", "litestream replica"); c.Level != doctor.Crit || c.Value != "unreadable" {
		t.Fatalf("without the helper: %+v", c)
	}
}
