package vrwx_test

import (
	"context"
	"errors"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/vrwx/vrwxctl/pkg/chain"
	"github.com/vrwx/vrwxctl/pkg/devchain"
	"github.com/vrwx/vrwxctl/pkg/vrwx"
)

// ReadRobot reads what the registry says about active, deactivated and unregistered
// robots, through the configured registry or the escrow's identity().
func TestReadRobot(t *testing.T) {
	_, d := devchain.StartT(t)
	c := chain.New(chain.Options{URLs: []string{d.RPCURL}, ChainID: d.ChainID})
	defer c.Close()
	ctx := context.Background()
	for _, registry := range []common.Address{d.Identity, {}} {
		for name, want := range map[string]struct{ registered, active bool }{
			devchain.RobotActive:       {true, true},
			devchain.RobotDeactivated:  {true, false},
			devchain.RobotUnregistered: {false, false},
		} {
			rb := d.Robots[name]
			r, err := vrwx.ReadRobot(ctx, c, d.Escrow, registry, rb.ID)
			if err != nil {
				t.Fatal(err)
			}
			if r.Registry != d.Identity || r.ControllerErr != nil || r.ActiveErr != nil || r.RobotErr != nil {
				t.Fatalf("%s via %s: %+v", name, registry.Hex(), r)
			}
			if (r.Controller != common.Address{}) != want.registered || r.Active != want.active || r.Robot.Active != want.active || r.Robot.Controller != r.Controller {
				t.Errorf("%s: controller %s active %v, tuple %+v; want registered %v active %v", name, r.Controller.Hex(), r.Active, r.Robot, want.registered, want.active)
			}
			if want.registered && (r.Controller != rb.Controller || len(r.Robot.Pubkey) != 33) {
				t.Errorf("%s: controller %s (want %s), pubkey %d bytes", name, r.Controller.Hex(), rb.Controller.Hex(), len(r.Robot.Pubkey))
			}
		}
	}
	// An escrow address with no contract cannot name its registry.
	if _, err := vrwx.ReadRobot(ctx, c, d.Buyer, common.Address{}, d.Robots[devchain.RobotActive].ID); !errors.Is(err, vrwx.ErrNoRegistry) {
		t.Fatalf("no registry: %v", err)
	}
	// A registry address that is not a registry: the reads fail, each with its error.
	r, err := vrwx.ReadRobot(ctx, c, d.Escrow, d.Token, d.Robots[devchain.RobotActive].ID)
	if err != nil {
		t.Fatal(err)
	}
	if r.ControllerErr == nil || r.ActiveErr == nil || r.RobotErr == nil {
		t.Fatalf("the token read as a registry: %+v", r)
	}
}
