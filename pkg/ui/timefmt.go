package ui

import (
	"fmt"
	"strings"
	"time"
)

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
