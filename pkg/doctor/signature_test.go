package doctor

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/vrwx/vrwxctl/pkg/completion"
	"github.com/vrwx/vrwxctl/pkg/report"
	"github.com/vrwx/vrwxctl/pkg/vrwx"
)

// The runbook's "Signature Verification Failures" causes, judged from a robot's
// registry entry and a claim's verdict (as completion.Checker words its checks);
// pkg/cli/doctor proves on anvil that the registry's answers and the real verdict
// reach the judge.
func TestJudgeSignatureCauses(t *testing.T) {
	id := common.HexToHash(robotID)
	controller := common.HexToAddress("0x90F79bf6EB2c4f870365E785982E1f101E93b906")
	active := vrwx.RobotReading{Registry: registry, Controller: controller, Active: true}
	verdict := func(checks ...report.Check) *completion.Verdict {
		v := &completion.Verdict{Claim: completion.ClaimJSON{JobID: "7", RobotID: id.Hex()}, Valid: true, Signer: controller.Hex(),
			Checks: []report.Check{{Name: "signature", Level: OK, Value: "well-formed"}, {Name: "signer", Level: OK, Value: controller.Hex()}}}
		for _, c := range checks {
			v.Valid = false
			i := slices.IndexFunc(v.Checks, func(x report.Check) bool { return x.Name == c.Name })
			if i < 0 {
				v.Checks = append(v.Checks, c)
			} else {
				v.Checks[i] = c
			}
		}
		return v
	}
	const dead = "0x000000000000000000000000000000000000dEaD"
	wrongSigner := report.Check{Name: "signer", Level: Crit, Value: dead, Detail: "not the controller", Fix: "sign with the controller's key"}
	signedBy := func(v *completion.Verdict, who string) *completion.Verdict { v.Signer = who; return v }
	for _, c := range []struct {
		name     string
		robot    vrwx.RobotReading
		verdict  func() *completion.Verdict
		causes   []string
		ruledOut []string
		fix      string // of the first cause
	}{
		{"not registered", vrwx.RobotReading{Registry: registry}, nil,
			[]string{causeNotRegistered}, nil, "runbook: robot not registered — register it (registerRobot)"},
		// An RPC failure or a wrong registry address is not "not registered".
		{"registry unreadable", vrwx.RobotReading{Registry: registry, ControllerErr: errors.New("execution reverted"), ActiveErr: errors.New("execution reverted")}, nil,
			[]string{causeUnreadable}, nil, "check IDENTITY_REGISTRY_ADDRESS"},
		{"deactivated", vrwx.RobotReading{Registry: registry, Controller: controller}, nil,
			[]string{causeDeactivated}, []string{causeNotRegistered, causeWrongSigner, causeWrongChain}, "the controller reactivates it"},
		{"active, no claim", active, nil, nil, []string{causeNotRegistered, causeDeactivated, causeWrongSigner, causeWrongChain}, ""},
		{"a good claim", active, func() *completion.Verdict { return verdict() }, nil,
			[]string{causeNotRegistered, causeDeactivated, causeWrongSigner, causeWrongChain}, ""},
		{"signed by another key", active, func() *completion.Verdict { return signedBy(verdict(wrongSigner), dead) },
			[]string{causeWrongSigner}, []string{causeNotRegistered, causeDeactivated, causeWrongChain}, "sign with the controller's key"},
		{"signed for another chain", active, func() *completion.Verdict {
			v := signedBy(verdict(wrongSigner), dead)
			v.SignedFor = &completion.SignedForJSON{Label: "chain 8453 (base-mainnet)", ChainID: "8453", Escrow: escrowAddr.Hex()}
			return v
		}, []string{causeWrongChain}, []string{causeNotRegistered, causeDeactivated, causeWrongSigner}, "sign with the controller's key"},
		// A signature that recovers to no one says nothing of who signed it.
		{"a malformed signature", active, func() *completion.Verdict {
			return signedBy(verdict(report.Check{Name: "signature", Level: Crit, Value: "malformed", Detail: "64 bytes", Fix: "pass the full 65-byte signature"},
				report.Check{Name: "signer", Level: Crit, Value: "unknown", Detail: "the signature cannot be recovered"}), "")
		}, []string{causeMalformed}, []string{causeNotRegistered, causeDeactivated}, "pass the full 65-byte signature"},
		{"a claim the escrow refuses besides the signature", active, func() *completion.Verdict {
			return signedBy(verdict(wrongSigner, report.Check{Name: "deadline", Level: Crit, Value: "2026-01-01T00:00:00Z", Fix: "the buyer may refund"}), dead)
		}, []string{causeWrongSigner, causeClaim}, []string{causeNotRegistered, causeDeactivated, causeWrongChain}, "sign with the controller's key"},
		{"the job of another robot", active, func() *completion.Verdict {
			v := verdict()
			v.Claim.RobotID = common.HexToHash("0x22").Hex()
			return v
		}, []string{causeOtherRobot}, []string{causeNotRegistered, causeDeactivated, causeWrongSigner, causeWrongChain}, "check the job id"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var v *completion.Verdict
			if c.verdict != nil {
				v = c.verdict()
			}
			robot := c.robot
			rep := JudgeSignature(id, &robot, v)
			if got := causeNames(rep.Causes); !slices.Equal(got, c.causes) {
				t.Fatalf("causes %q, want %q:\n%s", got, c.causes, listChecks(rep.Checks))
			}
			if got := causeNames(rep.RuledOut); !slices.Equal(got, c.ruledOut) {
				t.Errorf("ruled out %q, want %q", got, c.ruledOut)
			}
			if len(c.causes) > 0 && !strings.Contains(rep.Causes[0].Fix, c.fix) {
				t.Errorf("fix %q lacks %q", rep.Causes[0].Fix, c.fix)
			}
			if want := Crit; len(c.causes) == 0 {
				if Worst(rep.Checks) == want {
					t.Errorf("critical without a cause:\n%s", listChecks(rep.Checks))
				}
			} else if Worst(rep.Checks) != want {
				t.Errorf("worst %s with causes %q", Worst(rep.Checks), c.causes)
			}
			if rep.Registered != (robot.Controller != common.Address{}) || rep.Active != (rep.Registered && robot.Active) {
				t.Errorf("registered %v active %v", rep.Registered, rep.Active)
			}
			for _, ch := range rep.Checks {
				if ch.Section != "registry" && ch.Section != "claim" {
					t.Errorf("check %s in section %q", ch.Name, ch.Section)
				}
			}
		})
	}
}

// Causes are ranked by how surely they explain the failure: the registry's state
// first, then the signature's shape, then what else the claim fails.
func TestJudgeSignatureRanksAndReadsTheRegistry(t *testing.T) {
	id := common.HexToHash(robotID)
	// Unregistered and a claim that fails on its signature: the registry first.
	v := &completion.Verdict{Claim: completion.ClaimJSON{JobID: "7"}, Signer: "0x0000000000000000000000000000000000000001", Checks: []report.Check{
		{Name: "deadline", Level: Crit, Value: "passed"},
		{Name: "robot registered", Level: Crit, Value: "no", Fix: "register it"},
		{Name: "signer", Level: Crit, Value: "0x01"},
	}}
	rep := JudgeSignature(id, &vrwx.RobotReading{Registry: registry}, v)
	if got := causeNames(rep.Causes); !slices.Equal(got, []string{causeNotRegistered, causeWrongSigner, causeClaim}) {
		t.Errorf("causes %q", got)
	}
	if c := rep.Causes[0]; c.Score != 200 || len(c.Evidence) != 2 {
		t.Errorf("not registered, seen by the registry and by the claim: %+v", c)
	}
	if len(rep.RuledOut) != 0 {
		t.Errorf("an unregistered robot rules nothing out: %+v", rep.RuledOut)
	}

	// The registry could not be read: said, with where to look.
	rep = JudgeSignature(id, &vrwx.RobotReading{Registry: registry, ControllerErr: errors.New("execution reverted"), ActiveErr: errors.New("execution reverted")}, nil)
	want{section: "registry", name: "registered", level: Crit, value: "unreadable", detail: []string{"getController: execution reverted"},
		fix: []string{"check IDENTITY_REGISTRY_ADDRESS (vrwxctl contracts check)"}}.check(t, rep.Checks)
	want{section: "registry", name: "active", level: Crit, value: "unreadable", detail: []string{"isActive: execution reverted"}}.check(t, rep.Checks)
	want{section: "registry", name: "robot", level: Info, value: id.Hex(), detail: []string{"IdentityRegistry " + registry.Hex()}}.check(t, rep.Checks)
}
