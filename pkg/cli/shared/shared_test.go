package shared

import (
	"math/big"
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

func TestNowIsTheLaterOfWallAndHead(t *testing.T) {
	t.Parallel()
	wall := time.Unix(1_800_000_000, 0)
	if got := Now(wall, 1_700_000_000); !got.Equal(wall) {
		t.Errorf("head behind the wall clock: %s", got)
	}
	if got := Now(wall, 1_800_086_400); got.Unix() != 1_800_086_400 {
		t.Errorf("head ahead of the wall clock (moved forward): %s", got)
	}
}

func TestUnixTime(t *testing.T) {
	t.Parallel()
	if _, ok := UnixTime(new(big.Int).Lsh(big.NewInt(1), 200)); ok {
		t.Error("a huge uint256 is not a time")
	}
	if tm, ok := UnixTime(big.NewInt(1_795_616_148)); !ok || FormatUTC(tm) != "2026-11-25 14:15:48 UTC" {
		t.Errorf("UnixTime: %s %v", FormatUTC(tm), ok)
	}
}
