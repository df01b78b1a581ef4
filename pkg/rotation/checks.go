package rotation

import (
	"context"
	"fmt"
	"math/big"
	"os/exec"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/vrwx/vrwxctl/pkg/chain"
	"github.com/vrwx/vrwxctl/pkg/errs"
	"github.com/vrwx/vrwxctl/pkg/health"
	"github.com/vrwx/vrwxctl/pkg/report"
	"github.com/vrwx/vrwxctl/pkg/txflow"
	"github.com/vrwx/vrwxctl/pkg/units"
)

// preflight checks, before anything changes, what the rotation will need on its
// way: the API's /health (it must answer, and report the current key), the deploy
// command's program, the treasury's balance for the funding and its fees, the
// store's permissions, and the old key's pending transactions. Each is a line with
// its fix. An emergency goes on past what only slows it (the API, the deploy
// command, a poor treasury, pending transactions its drain replaces): securing the
// old wallet comes first.
func (r *rotator) preflight(ctx context.Context, j *Journal, treasury common.Address) []report.Check {
	severe := report.Crit
	if j.Mode == Emergency {
		severe = report.Warn
	}
	check := func(name string, level report.Level, value, fix string) report.Check {
		return report.Check{Section: "rotation", Name: name, Level: level, Value: value, Fix: fix}
	}
	old := common.HexToAddress(j.Old.Address)
	var out []report.Check

	// The API answers and runs the current key.
	hctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	res, err := r.Health.Get(hctx, r.APIURL)
	cancel()
	apiFix := "start the API, or check --api-url (the profile's api_url); the rotation must see /health report the new key"
	switch {
	case err != nil:
		out = append(out, check("api", severe, fmt.Sprintf("%s does not answer: %v", health.URL(displayURL(r.APIURL)), err), apiFix))
	case res.Health.ChainID != j.ChainID:
		out = append(out, check("api", report.Crit, fmt.Sprintf("%s reports chain %d, not %d: it is not this profile's API", res.URL, res.Health.ChainID, j.ChainID), "check --api-url and --profile"))
	case res.Health.RelayerAddress == nil:
		out = append(out, check("api", severe, fmt.Sprintf("%s reports no relayer (relayMode %q)", res.URL, res.Health.RelayMode), "check that the API relays (RELAY_MODE) before rotating its key"))
	case *res.Health.RelayerAddress != old:
		out = append(out, check("api", severe, fmt.Sprintf("%s reports relayerAddress %s, not the store's current key %s", res.URL, res.Health.RelayerAddress.Hex(), old.Hex()),
			"check that --store is the key this API runs on (and --api-url the API that runs it)"))
	default:
		out = append(out, check("api", report.OK, fmt.Sprintf("%s answers and reports the current key %s", res.URL, old.Hex()), ""))
	}

	// The deploy command's program is on this machine.
	if len(r.DeployCmd) > 0 {
		find := r.FindProgram
		if find == nil {
			find = exec.LookPath
		}
		if p, err := find(r.DeployCmd[0]); err != nil {
			out = append(out, check("deploy", severe, fmt.Sprintf("`%s`: %q is not a program on this machine's PATH (%v)", QuoteCommand(r.DeployCmd), r.DeployCmd[0], err),
				"install it, or give its full path in --deploy-cmd"))
		} else {
			out = append(out, check("deploy", report.OK, fmt.Sprintf("`%s` (%s)", QuoteCommand(r.DeployCmd), p), ""))
		}
	} else {
		out = append(out, check("deploy", report.Info, "no --deploy-cmd: the rotation will say when to restart the API, and wait for /health", ""))
	}

	// The treasury can pay the funding and its fees: the funding prepared and
	// simulated (to the current key's address, standing in for the one step 1
	// writes), its worst case against the balance.
	amount, _ := new(big.Int).SetString(j.FundWei, 10)
	p, perr := r.Chain.Prepare(ctx, chain.TxRequest{From: treasury, To: old, Value: amount, Fees: r.Fees})
	switch {
	case perr == nil && p.WorstCase().Cmp(p.Balance) > 0:
		out = append(out, check("treasury", severe, fmt.Sprintf("%s has %s ETH, but funding the new relayer may cost up to %s ETH (%s ETH + gas)",
			treasury.Hex(), units.FormatEther(p.Balance), units.FormatEther(p.WorstCase()), units.FormatEther(amount)),
			fmt.Sprintf("top up the treasury %s, or fund less (--fund)", treasury.Hex())))
	case perr != nil && errs.KindOf(perr) == errs.Refused:
		out = append(out, check("treasury", severe, fmt.Sprintf("%s cannot fund the new relayer: %v", treasury.Hex(), perr), fmt.Sprintf("top up the treasury %s, or fund less (--fund)", treasury.Hex())))
	case perr != nil:
		out = append(out, check("treasury", report.Crit, fmt.Sprintf("the funding from %s could not be prepared: %v", treasury.Hex(), perr), errs.FixOf(perr)))
	default:
		out = append(out, check("treasury", report.OK, fmt.Sprintf("%s has %s ETH; the funding costs at most %s ETH", treasury.Hex(), units.FormatEther(p.Balance), units.FormatEther(p.WorstCase())), ""))
	}

	// The store can be written with these credentials.
	if err := r.claims.CheckWritable(ctx); err != nil {
		out = append(out, check("store", report.Crit, fmt.Sprintf("%s: %v", r.base.String(), err), errs.FixOf(err)))
	} else {
		out = append(out, check("store", report.OK, r.base.String()+" can be written with the credentials in use", ""))
	}

	// The old key's pending transactions: the settle step waits for them; one
	// whose fee cap is below the base fee never clears.
	if a, err := r.Chain.Account(ctx, old); err != nil {
		out = append(out, check("old key", report.Crit, fmt.Sprintf("%s could not be read: %v", old.Hex(), err), "check the RPC"))
	} else if a.Waiting() == 0 {
		out = append(out, check("old key", report.OK, fmt.Sprintf("%s has no pending transactions", old.Hex()), ""))
	} else {
		stuck := 0
		if a.BaseFee != nil {
			if pending, err := r.Chain.PendingFrom(ctx, old); err == nil {
				for _, t := range pending {
					if t.Tx.GasFeeCap().Cmp(a.BaseFee) < 0 {
						stuck++
					}
				}
			}
		}
		stuckFix := ""
		if r.Advice.Stuck != nil {
			stuckFix = r.Advice.Stuck(j.Old.Ref)
		}
		if stuck > 0 {
			out = append(out, check("old key", severe, fmt.Sprintf("%s has %d pending transaction(s), %d with a fee cap below the base fee: they never clear, and the settle step would wait for them",
				old.Hex(), a.Waiting(), stuck), stuckFix))
		} else {
			out = append(out, check("old key", report.Warn, fmt.Sprintf("%s has %d pending transaction(s) (relays in flight): the settle step waits for them before the drain", old.Hex(), a.Waiting()), stuckFix))
		}
	}
	return out
}

// printChecks writes the checks under the plan (stderr) and returns how many failed.
func (r *rotator) printChecks(j *Journal) int {
	s := r.IO.ErrStyles()
	w := r.IO.ErrOut
	fmt.Fprintln(w, s.Bold.Render("Checks"))
	failed := 0
	for _, c := range j.Checks {
		mark := s.OK.Render("✓")
		switch c.Level {
		case report.Crit:
			mark = s.Crit.Render("✗")
			failed++
		case report.Warn:
			mark = s.Warn.Render("!")
		case report.Info:
			mark = s.Faint.Render("·")
		}
		fmt.Fprintf(w, "  %s %-9s %s\n", mark, c.Name, c.Value)
		if c.Fix != "" && c.Level != report.OK {
			fmt.Fprintf(w, "      fix: %s\n", c.Fix)
		}
	}
	return failed
}

// window is the payment window the rotation's sends and chain reads use.
func (r *rotator) window() time.Duration {
	if r.Window > 0 {
		return r.Window
	}
	return txflow.DefaultWindow
}
