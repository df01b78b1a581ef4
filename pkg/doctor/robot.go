package doctor

import (
	"strings"

	"github.com/vrwx/vrwxctl/pkg/apidb"
)

// RobotOnChain is what the IdentityRegistry says about a robot.
type RobotOnChain struct {
	ID         string
	Registered bool
	Active     bool
	Controller string
}

// dbStatusMeaning maps the API's robots.status to what the registry should say:
// "active" means registered and active, "pending" not yet registered, anything else
// (deactivated, suspended, revoked, …) registered but inactive.
func dbStatusMeaning(status string) (registered, active bool) {
	switch strings.ToLower(status) {
	case "active":
		return true, true
	case "pending":
		return false, false
	}
	return true, false
}

// RobotRowChecks compares the API database's robots row with the registry: the API
// verifies signatures against its row, so a different controller, or a status the
// registry contradicts, is critical.
func RobotRowChecks(row apidb.Robot, found bool, chain RobotOnChain) []Check {
	out := []Check{}
	add := func(c Check) { c.Section = "database"; out = append(out, c) }
	if !found {
		add(Check{Name: "row", Level: Crit, Value: "missing",
			Detail: "the API database has no robots row for " + chain.ID,
			Fix:    "check the robot id (or its tenantId:robotName) and the database path; the API only relays for robots it knows"})
		return out
	}
	add(Check{Name: "row", Level: OK, Value: "tenant " + row.TenantID})
	if strings.EqualFold(row.Controller, chain.Controller) {
		add(Check{Name: "controller", Level: OK, Value: row.Controller, Detail: "same as the registry"})
	} else {
		add(Check{Name: "controller", Level: Crit, Value: row.Controller,
			Detail: "the registry's controller is " + chain.Controller,
			Fix:    "the API verifies signatures against its row: update the row to the registry's controller, or rotate the registry to the robot's key"})
	}
	wantReg, wantActive := dbStatusMeaning(row.Status)
	chainState := "not registered"
	switch {
	case chain.Registered && chain.Active:
		chainState = "registered, active"
	case chain.Registered:
		chainState = "registered, deactivated"
	}
	if wantReg == chain.Registered && (!wantReg || wantActive == chain.Active) {
		add(Check{Name: "status", Level: OK, Value: row.Status, Detail: "registry: " + chainState})
	} else {
		add(Check{Name: "status", Level: Crit, Value: row.Status,
			Detail: "the registry says " + chainState,
			Fix:    "bring the API's robots.status in line with the IdentityRegistry (vrwxctl robot get shows the chain's view)"})
	}
	return out
}
