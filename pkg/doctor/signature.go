package doctor

import (
	"fmt"
	"strings"

	"github.com/ethereum/go-ethereum/common"
	"github.com/vrwx/vrwxctl/pkg/completion"
	"github.com/vrwx/vrwxctl/pkg/vrwx"
)

// The runbook's "Signature Verification Failures" causes.
const (
	causeNotRegistered = "Robot not registered"
	causeDeactivated   = "Robot deactivated"
	causeWrongSigner   = "Wrong controller signing"
	causeWrongChain    = "Signature for wrong chain"
	causeMalformed     = "Malformed signature"
	causeClaim         = "The claim itself cannot be submitted"
	causeOtherRobot    = "The job belongs to another robot"
	// Not one of the runbook's causes: the registry could not be asked, so none of
	// them can be judged (an RPC failure or a wrong registry address must not read
	// as "not registered").
	causeUnreadable = "The registry could not be read"

	fixRegistry = "check IDENTITY_REGISTRY_ADDRESS (vrwxctl contracts check)"
)

// SignatureReport is the signature investigation of one robot, and of one claim
// when given.
type SignatureReport struct {
	RobotID    common.Hash
	Registry   common.Address
	Controller common.Address
	Registered bool
	Active     bool
	// Verdict is the completion workflow's diagnosis of the claim (nil without one).
	Verdict  *completion.Verdict
	Checks   []Check
	Causes   []Cause
	RuledOut []Cause
}

// JudgeSignature judges a robot's registry entry and, with a claim's verdict (from
// completion.Checker, the one robot verify-sig uses), the claim's signature, then
// ranks the runbook's causes. It reads nothing.
func JudgeSignature(id common.Hash, r *vrwx.RobotReading, v *completion.Verdict) *SignatureReport {
	rep := &SignatureReport{RobotID: id, Registry: r.Registry, Controller: r.Controller, Verdict: v}
	add := func(c Check) { c.Section = "registry"; rep.Checks = append(rep.Checks, c) }
	add(Check{Name: "robot", Level: Info, Value: id.Hex(), Detail: "IdentityRegistry " + r.Registry.Hex()})
	switch {
	case r.ControllerErr != nil:
		add(Check{Name: "registered", Level: Crit, Value: "unreadable", Detail: "getController: " + r.ControllerErr.Error(),
			Fix: fixRegistry})
	case r.Controller == (common.Address{}):
		add(Check{Name: "registered", Level: Crit, Value: "no", Detail: "getController returns the zero address",
			Fix: "runbook: robot not registered — register it (registerRobot) with its controller, or check the robot id (tenantId:robotName)"})
	default:
		rep.Registered = true
		add(Check{Name: "registered", Level: OK, Value: "yes"})
		add(Check{Name: "controller", Level: Info, Value: r.Controller.Hex(), Detail: "the only key whose signatures the escrow accepts for this robot"})
	}
	switch {
	case r.ActiveErr != nil:
		add(Check{Name: "active", Level: Crit, Value: "unreadable", Detail: "isActive: " + r.ActiveErr.Error(),
			Fix: fixRegistry})
	case rep.Registered && !r.Active:
		add(Check{Name: "active", Level: Crit, Value: "no: deactivated",
			Detail: "the API refuses completions of inactive robots (the escrow itself does not check)",
			Fix:    "runbook: robot deactivated — the controller reactivates it, or the tenant registers a new robot"})
	case rep.Registered:
		rep.Active = true
		add(Check{Name: "active", Level: OK, Value: "yes"})
	}
	if v != nil {
		if v.Claim.RobotID != "" && !strings.EqualFold(v.Claim.RobotID, id.Hex()) {
			rep.Checks = append(rep.Checks, Check{Section: "claim", Name: "job's robot", Level: Crit, Value: v.Claim.RobotID,
				Detail: fmt.Sprintf("job %s was created for another robot than %s", v.Claim.JobID, id.Hex()),
				Fix:    "check the job id: the claim is judged against the job's own robot"})
		}
		for _, c := range v.Checks {
			c.Section = "claim"
			rep.Checks = append(rep.Checks, c)
		}
	}
	rep.Causes, rep.RuledOut = rankSignatureCauses(rep)
	return rep
}

func rankSignatureCauses(rep *SignatureReport) (causes, ruledOut []Cause) {
	found := map[string]*Cause{}
	var order []string
	add := func(name string, score int, evidence, fix string) {
		c := found[name]
		if c == nil {
			c = &Cause{Name: name, Level: Crit}
			found[name] = c
			order = append(order, name)
		}
		c.Score += score
		c.Evidence = append(c.Evidence, evidence)
		if c.Fix == "" {
			c.Fix = fix
		}
	}
	for _, c := range rep.Checks {
		if c.Level != Crit {
			continue
		}
		ev := c.Name + ": " + c.Value
		if c.Detail != "" {
			ev += " — " + c.Detail
		}
		switch {
		case c.Value == "unreadable" && c.Section == "registry":
			add(causeUnreadable, 100, ev, c.Fix)
		case c.Name == "registered" || c.Name == "robot registered":
			add(causeNotRegistered, 100, ev, c.Fix)
		case c.Name == "active" || c.Name == "robot active":
			add(causeDeactivated, 90, ev, c.Fix)
		case c.Name == "signature":
			add(causeMalformed, 80, ev, c.Fix)
		case c.Name == "signer" && rep.Verdict != nil && rep.Verdict.Signer == "":
			// A signature that recovers to no one is malformed, not another key's:
			// the signature's own line weighs it.
			add(causeMalformed, 0, ev, c.Fix)
		case c.Name == "signer" && rep.Verdict != nil && rep.Verdict.SignedFor != nil:
			add(causeWrongChain, 95, ev, c.Fix)
		case c.Name == "signer":
			add(causeWrongSigner, 85, ev, c.Fix)
		case c.Name == "job's robot":
			add(causeOtherRobot, 70, ev, c.Fix)
		default:
			add(causeClaim, 40, ev, c.Fix)
		}
	}
	for _, n := range order {
		causes = append(causes, *found[n])
	}
	// Highest score first; equal scores keep the order the checks came in.
	for i := 1; i < len(causes); i++ {
		for j := i; j > 0 && causes[j].Score > causes[j-1].Score; j-- {
			causes[j], causes[j-1] = causes[j-1], causes[j]
		}
	}
	why := map[string]string{
		causeNotRegistered: "the registry has a controller for it",
		causeDeactivated:   "isActive is true",
		causeWrongSigner:   "no claim given to check its signer (pass --job … --sig …)",
		causeWrongChain:    "no claim given to check its domain",
	}
	if rep.Verdict != nil {
		why[causeWrongSigner] = "the signature recovers to the controller"
		why[causeWrongChain] = "the signature is for this chain and escrow"
	}
	unrecovered := rep.Verdict != nil && rep.Verdict.Signer == ""
	for _, n := range []string{causeNotRegistered, causeDeactivated, causeWrongSigner, causeWrongChain} {
		// An unregistered robot rules nothing else out: nothing else can be judged;
		// nor does a signature that recovers to no one rule out who signed it.
		if found[n] != nil || !rep.Registered || (unrecovered && (n == causeWrongSigner || n == causeWrongChain)) {
			continue
		}
		ruledOut = append(ruledOut, Cause{Name: n, Level: OK, Evidence: []string{why[n]}})
	}
	return causes, ruledOut
}
