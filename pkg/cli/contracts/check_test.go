package contracts_test

import (
	"context"
	"strings"
	"testing"

	"github.com/vrwx/vrwxctl/pkg/cli/clitest"
	"github.com/vrwx/vrwxctl/pkg/cli/contracts"
	"github.com/vrwx/vrwxctl/pkg/devchain"
	"github.com/vrwx/vrwxctl/pkg/doctor"
)

func TestMain(m *testing.M) { clitest.Main(m) }

func run(t *testing.T, e *clitest.Env, code int) contracts.CheckJSON {
	t.Helper()
	var out contracts.CheckJSON
	r := e.MustRun(code, "contracts", "check", "-o", "json")
	r.JSON(t, &out)
	if len(out.Checks) == 0 {
		t.Fatalf("no checks in the report:\n%s", r)
	}
	return out
}

func byName(out contracts.CheckJSON) map[string]doctor.Check {
	m := map[string]doctor.Check{}
	for _, c := range out.Checks {
		m[c.Name] = c
	}
	return m
}

func TestCheckLocalDeployment(t *testing.T) {
	t.Parallel()
	e := clitest.NewChain(t)
	d := e.D
	out := run(t, e, 0)
	c := byName(out)
	if out.Level != doctor.OK || out.Escrow != d.Escrow.Hex() || out.Identity != d.Identity.Hex() || out.Token != d.Token.Hex() {
		t.Fatalf("report %+v", out)
	}
	for name, want := range map[string]string{
		"escrow.identity()": d.Identity.Hex(),
		"escrow.token()":    d.Token.Hex(),
		"eip712Domain":      "VRWX / 1 / chain 31337",
		"EIP-712 digest":    "matches",
		"jobCount":          "12",
		"paused":            "no pause switch",
		"token decimals":    "6",
	} {
		if c[name].Value != want {
			t.Errorf("%s = %q (%s), want %q", name, c[name].Value, c[name].Level, want)
		}
	}
	for _, name := range []string{"escrow code", "identity code", "token code", "identity answers"} {
		if c[name].Level != doctor.OK {
			t.Errorf("%s: %+v", name, c[name])
		}
	}
	if c["paused"].Level != doctor.Info || !strings.Contains(c["paused"].Detail, "cannot be paused") {
		t.Errorf("paused on the plain escrow: %+v", c["paused"])
	}
	r := e.MustRun(0, "contracts", "check")
	if !strings.Contains(r.Stdout, "no pause switch") || !strings.HasSuffix(strings.TrimSpace(r.Stdout), "OK") {
		t.Errorf("text:\n%s", r)
	}
}

func TestCheckPausableEscrow(t *testing.T) {
	t.Parallel()
	e := clitest.NewChain(t)
	d := e.D
	e.Vars["JOB_ESCROW_ADDRESS"] = d.PausableEscrow.Hex()
	out := run(t, e, 0)
	c := byName(out)
	if c["paused"].Value != "false" || c["paused"].Level != doctor.OK || c["eip712Domain"].Level != doctor.OK || c["EIP-712 digest"].Level != doctor.OK {
		t.Fatalf("unpaused pausable escrow: %+v", out.Checks)
	}
	if _, err := devchain.Transact(context.Background(), d.RPCURL, devchain.DevKey(devchain.AccountAdmin), d.PausableEscrow, devchain.ContractPausableEscrow, "pause"); err != nil {
		t.Fatal(err)
	}
	out = run(t, e, 1)
	c = byName(out)
	if c["paused"].Value != "true" || c["paused"].Level != doctor.Crit || !strings.Contains(c["paused"].Fix, "unpause") || out.Level != doctor.Crit {
		t.Fatalf("paused escrow: %+v", c["paused"])
	}
	r := e.MustRun(1, "contracts", "check")
	if !strings.Contains(r.Stdout, "✗ paused") || !strings.Contains(r.Stdout, "WRONG") {
		t.Errorf("text:\n%s", r)
	}
}

func TestCheckFindsWrongAddresses(t *testing.T) {
	t.Parallel()
	e := clitest.NewChain(t)
	d := e.D

	// The registry variable points at the token: wiring and the registry probe fail.
	e.Vars["IDENTITY_REGISTRY_ADDRESS"] = d.Token.Hex()
	c := byName(run(t, e, 1))
	if c["escrow.identity()"].Level != doctor.Crit || c["escrow.identity()"].Value != d.Identity.Hex() ||
		!strings.Contains(c["escrow.identity()"].Fix, "IDENTITY_REGISTRY_ADDRESS") {
		t.Errorf("wrong registry: %+v", c["escrow.identity()"])
	}
	if c["identity answers"].Level != doctor.Crit {
		t.Errorf("token probed as a registry: %+v", c["identity answers"])
	}
	delete(e.Vars, "IDENTITY_REGISTRY_ADDRESS")

	// The escrow variable points at an address with no code.
	e.Vars["JOB_ESCROW_ADDRESS"] = "0x00000000000000000000000000000000000000aa"
	out := run(t, e, 1)
	c = byName(out)
	for _, name := range []string{"escrow code", "escrow.identity()", "eip712Domain", "jobCount"} {
		if c[name].Level != doctor.Crit {
			t.Errorf("%s on an empty address: %+v", name, c[name])
		}
	}
	if !strings.Contains(c["escrow code"].Fix, "JOB_ESCROW_ADDRESS") || c["paused"].Value != "no pause switch" {
		t.Errorf("no-code escrow: %+v / %+v", c["escrow code"], c["paused"])
	}

	// A profile without an escrow is bad usage.
	delete(e.Vars, "JOB_ESCROW_ADDRESS")
	r := e.MustRun(2, "contracts", "check", "--profile", "base-sepolia")
	if !strings.Contains(r.Stderr, "JOB_ESCROW_ADDRESS") {
		t.Errorf("no escrow:\n%s", r)
	}
}
