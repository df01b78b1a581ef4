package cmdutil

import (
	"math"
	"time"

	"github.com/vrwx/vrwxctl/pkg/completion"
	"github.com/vrwx/vrwxctl/pkg/config"
	"github.com/vrwx/vrwxctl/pkg/errs"
	"github.com/vrwx/vrwxctl/pkg/ui"
	"github.com/vrwx/vrwxctl/pkg/units"
)

// CompletionFlags are a completion claim as typed (robot verify-sig, job complete)
// or taken from a DLQ row (dlq replay).
type CompletionFlags struct {
	Job            string
	CompletionHash string
	Quality        string
	WorkUnits      string
	Sig            string
}

// ParseCompletion validates the claim (exit 2 on bad input, naming the flag) and
// returns it.
func ParseCompletion(fl CompletionFlags) (completion.Claim, error) {
	var c completion.Claim
	for _, r := range []struct{ flag, v string }{{"--job", fl.Job}, {"--completion-hash", fl.CompletionHash}, {"--quality", fl.Quality}, {"--work-units", fl.WorkUnits}, {"--sig", fl.Sig}} {
		if r.v == "" {
			return c, errs.Usagef("%s is required", r.flag).WithFix("see `vrwxctl robot verify-sig --help`")
		}
	}
	var err error
	if c.JobID, err = ParseUint256("--job", fl.Job); err != nil {
		return c, err
	}
	if c.CompletionHash, err = ParseBytes32("--completion-hash", fl.CompletionHash); err != nil {
		return c, err
	}
	q, err := ParseUint("--quality", fl.Quality, math.MaxUint8)
	if err != nil {
		return c, errs.Usagef("%v (a quality score is 0..255; 80..120 in practice)", err)
	}
	c.QualityScore = uint8(q)
	w, err := ParseUint("--work-units", fl.WorkUnits, math.MaxUint32)
	if err != nil {
		return c, errs.Usagef("%v (work units are a uint32: 0..4294967295)", err)
	}
	c.WorkUnits = uint32(w)
	if c.Signature, err = ParseHexBytes("--sig", fl.Sig, -1); err != nil {
		return c, err
	}
	if n := len(c.Signature); n != 65 {
		hint := ": it looks truncated"
		if n > 65 {
			hint = ": extra bytes (a second signature or ABI padding?)"
		}
		return c, errs.Usagef("--sig is %d bytes (expected 65: r, s, v — 0x followed by 130 hex characters)%s", n, hint).
			WithFix("copy the full controllerSig (e.g. from the DLQ row's payload: vrwxctl dlq show ID)")
	}
	return c, nil
}

// CompletionChecker is the completion checker of the profile's deployment: its
// escrow and registry, and the escrows of the other profiles (built-in and from the
// config file) to recognise a signature made for another deployment. Its Chain is
// left for the caller to set.
func CompletionChecker(io *ui.IO, cfg *config.Config, profiles func() ([]config.ProfileInfo, error), now func() time.Time) (completion.Checker, error) {
	ct, err := ContractsOf(cfg)
	if err != nil {
		return completion.Checker{}, err
	}
	k := completion.Checker{Escrow: ct.Escrow, Registry: ct.Identity, Now: now}
	if profiles == nil {
		return k, nil
	}
	infos, err := profiles()
	if err != nil {
		io.Debugf("other profiles unreadable (%v): only this profile's escrow is tried", err)
	}
	for _, p := range infos {
		if p.Name == cfg.Profile || p.Escrow == "" {
			continue
		}
		if a, err := units.ParseAddress(p.Escrow); err == nil {
			k.OtherEscrows = append(k.OtherEscrows, completion.NamedEscrow{Label: "the escrow of profile " + p.Name, Address: a})
		}
	}
	return k, nil
}
