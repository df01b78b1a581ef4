// Package shared holds what the job, robot and contracts commands share: the
// profile's contract addresses (with the usage error that says where to set them),
// the time deadlines are judged against, and how times are shown.
package shared

import (
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/vrwx/vrwxctl/pkg/config"
	"github.com/vrwx/vrwxctl/pkg/errs"
	"github.com/vrwx/vrwxctl/pkg/units"
)

// Escrow returns the profile's JobEscrow address, or a usage error saying where to
// set one.
func Escrow(cfg *config.Config) (common.Address, error) {
	s, ok := cfg.Address("escrow")
	if !ok {
		return common.Address{}, errs.Usagef("profile %q has no JobEscrow address", cfg.Profile).
			WithFix("set JOB_ESCROW_ADDRESS, or `escrow` in the profile of the config file (vrwxctl config view shows the settings)")
	}
	a, err := units.ParseAddress(s)
	if err != nil {
		return common.Address{}, errs.Usagef("%s: %v", cfg.Origin("escrow"), err)
	}
	return a, nil
}

// Contracts are the profile's contract addresses: the escrow is required, the
// registry and the settlement token are optional.
type Contracts struct {
	Escrow                common.Address
	Identity, Token       common.Address
	HasIdentity, HasToken bool
}

// ContractsOf reads the profile's addresses, with the usage errors of Escrow and Optional.
func ContractsOf(cfg *config.Config) (Contracts, error) {
	var c Contracts
	var err error
	if c.Escrow, err = Escrow(cfg); err != nil {
		return c, err
	}
	if c.Identity, c.HasIdentity, err = Optional(cfg, "identity"); err != nil {
		return c, err
	}
	c.Token, c.HasToken, err = Optional(cfg, "token")
	return c, err
}

// Optional returns the address setting key, or the zero address and false when the
// profile has none.
func Optional(cfg *config.Config, key string) (common.Address, bool, error) {
	s, ok := cfg.Address(key)
	if !ok {
		return common.Address{}, false, nil
	}
	a, err := units.ParseAddress(s)
	if err != nil {
		return common.Address{}, false, errs.Usagef("%s: %v", cfg.Origin(key), err)
	}
	return a, true, nil
}

// Now is the time deadlines and challenge windows are judged against: the later of
// the wall clock and the chain head's timestamp. The next block can be no earlier
// than either on a live chain, and a local chain whose clock was moved forward is
// judged by its own clock.
func Now(wall time.Time, headTime uint64) time.Time {
	head := time.Unix(int64(headTime), 0)
	if head.After(wall) {
		return head
	}
	return wall
}

// UnixTime converts an on-chain uint256 timestamp; ok is false when it does not fit.
func UnixTime(v *big.Int) (time.Time, bool) {
	if v == nil || !v.IsInt64() || v.Int64() > 1<<40 {
		return time.Time{}, false
	}
	return time.Unix(v.Int64(), 0).UTC(), true
}

// FormatUTC prints a time as "2006-01-02 15:04:05 UTC".
func FormatUTC(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") }

// Relative says how far t is from now: "in 3h12m" or "passed 2d4h ago".
func Relative(t, now time.Time) string {
	d := t.Sub(now)
	if d >= 0 {
		return "in " + Duration(d)
	}
	return "passed " + Duration(-d) + " ago"
}

// Duration prints a duration with its two largest units: 2d4h, 3h12m, 5m3s, 42s.
func Duration(d time.Duration) string {
	d = d.Round(time.Second)
	days := d / (24 * time.Hour)
	d -= days * 24 * time.Hour
	h := d / time.Hour
	d -= h * time.Hour
	m := d / time.Minute
	d -= m * time.Minute
	s := d / time.Second
	parts := []struct {
		n    time.Duration
		unit string
	}{{days, "d"}, {h, "h"}, {m, "m"}, {s, "s"}}
	var b strings.Builder
	shown := 0
	for _, p := range parts {
		if shown == 0 && p.n == 0 {
			continue
		}
		if shown == 2 {
			break
		}
		if p.n > 0 {
			fmt.Fprintf(&b, "%d%s", p.n, p.unit)
		}
		shown++
	}
	if b.Len() == 0 {
		return "0s"
	}
	return b.String()
}

// Short abbreviates a long hex value for tables: 0x1234abcd…9f0a.
func Short(hex string) string {
	if len(hex) <= 16 {
		return hex
	}
	return hex[:10] + "…" + hex[len(hex)-4:]
}
