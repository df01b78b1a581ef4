package apidb

import (
	"context"
	"database/sql"
	"errors"
)

// Robot is the API's robots row: who it believes controls a robot, and in what state.
type Robot struct {
	RobotID      string
	TenantID     string
	Controller   string
	Status       string
	RegisteredTx string
}

// ReadRobot reads the robots row of robotID (0x hex, matched in any case); found is
// false when there is none.
func ReadRobot(ctx context.Context, db *sql.DB, robotID string) (r Robot, found bool, err error) {
	var regTx sql.NullString
	err = db.QueryRowContext(ctx, `SELECT robot_id, tenant_id, controller_address, status, registered_tx FROM robots WHERE lower(robot_id) = lower(?)`, robotID).
		Scan(&r.RobotID, &r.TenantID, &r.Controller, &r.Status, &regTx)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return Robot{}, false, nil
	case err != nil:
		return Robot{}, false, err
	}
	r.RegisteredTx = regTx.String
	return r, true, nil
}
