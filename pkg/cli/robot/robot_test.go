package robot_test

import (
	"context"
	"database/sql"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/vrwx/vrwxctl/pkg/apidb"
	"github.com/vrwx/vrwxctl/pkg/cli/clitest"
	"github.com/vrwx/vrwxctl/pkg/cli/robot"
	"github.com/vrwx/vrwxctl/pkg/devchain"
	"github.com/vrwx/vrwxctl/pkg/doctor"
)

func TestMain(m *testing.M) { clitest.Main(m) }

func robotJSON(t *testing.T, e *clitest.Env, code int, args ...string) robot.GetJSON {
	t.Helper()
	var got robot.GetJSON
	e.MustRun(code, append([]string{"robot", "get", "-o", "json"}, args...)...).JSON(t, &got)
	return got
}

func TestGetRobots(t *testing.T) {
	t.Parallel()
	e := clitest.NewChain(t)
	d := e.D
	active := robotJSON(t, e, 0, d.Robots[devchain.RobotActive].ID.Hex())
	if !active.Registered || !active.Active || active.Controller != d.Robots[devchain.RobotActive].Controller.Hex() ||
		len(active.Pubkey) != 2+66 || active.Registry != d.Identity.Hex() || active.MetadataHash != (common.Hash{}).Hex() {
		t.Errorf("active robot %+v", active)
	}
	deact := robotJSON(t, e, 0, d.Robots[devchain.RobotDeactivated].ID.Hex())
	if !deact.Registered || deact.Active || deact.Controller != d.Robots[devchain.RobotDeactivated].Controller.Hex() {
		t.Errorf("deactivated robot %+v", deact)
	}
	unreg := robotJSON(t, e, 1, d.Robots[devchain.RobotUnregistered].ID.Hex())
	if unreg.Registered || unreg.Active || unreg.Controller != (common.Address{}).Hex() || unreg.Pubkey != "0x" {
		t.Errorf("unregistered robot %+v", unreg)
	}

	// --name derives the id as the API does.
	byName := robotJSON(t, e, 0, "--name", devchain.Tenant+":"+devchain.RobotActive)
	if byName.RobotID != d.Robots[devchain.RobotActive].ID.Hex() || byName.Name != devchain.Tenant+":active" || byName.Controller != active.Controller {
		t.Errorf("by name %+v", byName)
	}

	// Without a configured registry, the escrow's identity() is asked.
	e.WriteConfig("profiles:\n  noreg:\n    chain_id: 31337\n    escrow: \"" + d.Escrow.Hex() + "\"\n")
	r := e.MustRun(0, "robot", "get", d.Robots[devchain.RobotDeactivated].ID.Hex(), "--profile", "noreg")
	for _, w := range []string{"deactivated", d.Identity.Hex(), d.Robots[devchain.RobotDeactivated].Controller.Hex(), "pubkey", "metadataHash"} {
		if !strings.Contains(r.Stdout, w) {
			t.Errorf("text lacks %q:\n%s", w, r)
		}
	}
	r = e.MustRun(1, "robot", "get", d.Robots[devchain.RobotUnregistered].ID.Hex(), "--profile", "noreg")
	if !strings.Contains(r.Stdout, "not registered") || !strings.Contains(r.Stderr, "is not registered") {
		t.Errorf("unregistered text:\n%s", r)
	}
}

// The runbook's getController / isActive and the registry's getRobot, through cast,
// say what vrwxctl's JSON says.
func TestRobotGetMatchesCast(t *testing.T) {
	t.Parallel()
	cast := devchain.RequireCast(t)
	e := clitest.NewChain(t)
	d := e.D
	call := func(args ...string) string {
		out, err := exec.Command(cast, append([]string{"call"}, append(args, "--rpc-url", d.RPCURL)...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("cast %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	for name, rb := range d.Robots {
		code := 0
		if name == devchain.RobotUnregistered {
			code = 1
		}
		got := robotJSON(t, e, code, rb.ID.Hex())
		ctl := call(d.Identity.Hex(), "getController(bytes32)(address)", rb.ID.Hex())
		act := call(d.Identity.Hex(), "isActive(bytes32)(bool)", rb.ID.Hex())
		tuple := call(d.Identity.Hex(), "getRobot(bytes32)((address,bytes,bytes32,bool))", rb.ID.Hex())
		want := fmt.Sprintf("(%s, %s, %s, %v)", got.Controller, got.Pubkey, got.MetadataHash, got.Active)
		if got.Controller != ctl || fmt.Sprint(got.Active) != act || tuple != want {
			t.Errorf("%s: vrwxctl %s %v %s; cast %s %s %s", name, got.Controller, got.Active, want, ctl, act, tuple)
		}
	}
}

// apiDB writes an API database with the given robots rows (robot id -> controller,
// status).
func apiDB(t *testing.T, rows map[string][2]string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "vrwx.db")
	db, err := apidb.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	if err := apidb.CreateSchema(ctx, db); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UnixMilli()
	if _, err := db.ExecContext(ctx, `INSERT INTO tenants(id, name, created_at, updated_at, plan) VALUES ('tenant-demo', 'Demo', ?, ?, 'pro')`, now, now); err != nil {
		t.Fatal(err)
	}
	i := 0
	for id, v := range rows {
		i++
		if _, err := db.ExecContext(ctx, `INSERT INTO robots(id, tenant_id, robot_id, controller_address, registered_tx, registered_at, status, created_at, updated_at)
			VALUES (?, 'tenant-demo', ?, ?, ?, ?, ?, ?, ?)`, fmt.Sprintf("rbt_%d", i), id, v[0], sql.NullString{}, now, v[1], now, now); err != nil {
			t.Fatal(err)
		}
	}
	return path
}

func TestGetComparesWithAPIDatabase(t *testing.T) {
	t.Parallel()
	e := clitest.NewChain(t)
	d := e.D
	act, deact, unreg := d.Robots[devchain.RobotActive], d.Robots[devchain.RobotDeactivated], d.Robots[devchain.RobotUnregistered]
	other := devchain.DevAddress(devchain.FirstFreeAccount)
	db := apiDB(t, map[string][2]string{
		act.ID.Hex():   {strings.ToLower(act.Controller.Hex()), "active"}, // the API may store lower-case
		deact.ID.Hex(): {other.Hex(), "active"},                           // both wrong
		unreg.ID.Hex(): {other.Hex(), "pending"},
	})
	level := func(g robot.GetJSON, name string) doctor.Level {
		for _, c := range g.DB.Checks {
			if c.Name == name {
				return c.Level
			}
		}
		return ""
	}

	g := robotJSON(t, e, 0, act.ID.Hex(), "--db", db)
	if g.DB == nil || !g.DB.Found || !g.DB.Match || g.DB.TenantID != "tenant-demo" || g.DB.Status != "active" {
		t.Errorf("matching row: %+v", g.DB)
	}
	g = robotJSON(t, e, 1, deact.ID.Hex(), "--db", db)
	if g.DB.Match || level(g, "controller") != doctor.Crit || level(g, "status") != doctor.Crit {
		t.Errorf("mismatching row: %+v", g.DB)
	}
	g = robotJSON(t, e, 1, unreg.ID.Hex(), "--db", db)
	if level(g, "status") != doctor.OK || level(g, "controller") != doctor.Crit || g.DB.Match {
		t.Errorf("pending row of an unregistered robot agrees on status, not on the controller: %+v", g.DB)
	}
	missing := devchain.RobotID(devchain.Tenant, "ghost")
	r := e.MustRun(1, "robot", "get", missing.Hex(), "--db", db)
	if !strings.Contains(r.Stdout, "missing") {
		t.Errorf("missing row:\n%s", r)
	}
	r = e.MustRun(1, "robot", "get", deact.ID.Hex(), "--db", db)
	for _, w := range []string{"API DATABASE", "the registry's controller is " + deact.Controller.Hex(), "registry says registered, deactivated", "fix:"} {
		if !strings.Contains(r.Stdout, w) {
			t.Errorf("text lacks %q:\n%s", w, r)
		}
	}
	e.MustRun(2, "robot", "get", act.ID.Hex(), "--db", filepath.Join(t.TempDir(), "nope.db"))
}

func TestGetBadInput(t *testing.T) {
	t.Parallel()
	e := clitest.New(t)
	e.Vars["RPC_URL"] = "http://127.0.0.1:1"
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"robot", "get", "0x1234"}, `ROBOT "0x1234" is 2 bytes`},
		{[]string{"robot", "get", "unit-01"}, "not hex"},
		{[]string{"robot", "get", "0x" + strings.Repeat("zz", 32)}, "not hex"},
		{[]string{"robot", "get"}, "no robot given"},
		{[]string{"robot", "get", "--name", "unit-01"}, "not tenantId:robotName"},
		{[]string{"robot", "get", "0x" + strings.Repeat("11", 32), "--name", "a:b"}, "both ROBOT and --name"},
	} {
		r := e.Run(c.args...)
		if r.Code != 2 || !strings.Contains(r.Stderr, c.want) || r.Stdout != "" {
			t.Errorf("want exit 2 mentioning %q:\n%s", c.want, r)
		}
	}
}
