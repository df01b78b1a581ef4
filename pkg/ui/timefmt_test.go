package ui

import (
	"testing"
	"time"
)

func TestDurationAndRelative(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for d, want := range map[time.Duration]string{
		0:                                  "0s",
		42 * time.Second:                   "42s",
		5*time.Minute + 3*time.Second:      "5m3s",
		3*time.Hour + 12*time.Minute:       "3h12m",
		3*time.Hour + 12*time.Second:       "3h",
		2*24*time.Hour + 4*time.Hour:       "2d4h",
		30 * 24 * time.Hour:                "30d",
		24*time.Hour + 59*time.Minute:      "1d",
		2*time.Hour + 400*time.Millisecond: "2h",
	} {
		if got := Duration(d); got != want {
			t.Errorf("Duration(%s) = %q, want %q", d, got, want)
		}
	}
	if got := Relative(now.Add(3*time.Hour+12*time.Minute), now); got != "in 3h12m" {
		t.Errorf("future: %q", got)
	}
	if got := Relative(now.Add(-50*time.Hour), now); got != "passed 2d2h ago" {
		t.Errorf("past: %q", got)
	}
}

func TestFormatUTCAndShort(t *testing.T) {
	t.Parallel()
	if got := FormatUTC(time.Unix(1_795_616_148, 0)); got != "2026-11-25 14:15:48 UTC" {
		t.Errorf("FormatUTC: %q", got)
	}
	if got := Short("0x5c8d1e4f0d4f6ce5bd5a0dfd4e39f6e9b5f3a4a1c2b3d4e5f60718293a4b5c6d"); got != "0x5c8d1e4f…5c6d" {
		t.Errorf("Short: %q", got)
	}
	if got := Short("0x1234"); got != "0x1234" {
		t.Errorf("Short of a short value: %q", got)
	}
}
