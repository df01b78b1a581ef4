package doctor

import (
	"testing"

	"github.com/vrwx/vrwxctl/pkg/apidb"
)

func TestRobotRowChecks(t *testing.T) {
	const ctl, other = "0x90F79bf6EB2c4f870365E785982E1f101E93b906", "0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65"
	active := RobotOnChain{ID: "0x01", Registered: true, Active: true, Controller: ctl}
	deactivated := RobotOnChain{ID: "0x01", Registered: true, Controller: ctl}
	unregistered := RobotOnChain{ID: "0x01", Controller: "0x0000000000000000000000000000000000000000"}
	row := func(controller, status string) apidb.Robot {
		return apidb.Robot{TenantID: "t", Controller: controller, Status: status}
	}
	for _, c := range []struct {
		name   string
		row    apidb.Robot
		found  bool
		chain  RobotOnChain
		want   Level
		failed string
	}{
		{"agrees (case of the address aside)", row("0x90f79bf6eb2c4f870365e785982e1f101e93b906", "active"), true, active, OK, ""},
		{"other controller", row(other, "active"), true, active, Crit, "controller"},
		{"active in the API, deactivated on chain", row(ctl, "active"), true, deactivated, Crit, "status"},
		{"suspended in the API, deactivated on chain", row(ctl, "suspended"), true, deactivated, OK, ""},
		{"pending in the API, not registered", row("0x0000000000000000000000000000000000000000", "pending"), true, unregistered, OK, ""},
		{"no row", apidb.Robot{}, false, active, Crit, "row"},
	} {
		checks := RobotRowChecks(c.row, c.found, c.chain)
		if Worst(checks) != c.want {
			t.Errorf("%s: %s, want %s: %+v", c.name, Worst(checks), c.want, checks)
		}
		for _, ch := range checks {
			if ch.Level == Crit && (ch.Name != c.failed || ch.Fix == "") {
				t.Errorf("%s: failed check %+v, want %q with a fix", c.name, ch, c.failed)
			}
		}
	}
}
