package vrwx

import (
	"math/big"
	"testing"
	"time"
)

func TestNowIsTheLaterOfWallAndHead(t *testing.T) {
	wall := time.Unix(1_800_000_000, 0)
	if got := Now(wall, 1_700_000_000); !got.Equal(wall) {
		t.Errorf("head behind the wall clock: %s", got)
	}
	if got := Now(wall, 1_800_086_400); got.Unix() != 1_800_086_400 {
		t.Errorf("head ahead of the wall clock (moved forward): %s", got)
	}
}

func TestUnixTime(t *testing.T) {
	if _, ok := UnixTime(new(big.Int).Lsh(big.NewInt(1), 200)); ok {
		t.Error("a huge uint256 is not a time")
	}
	if tm, ok := UnixTime(big.NewInt(1_795_616_148)); !ok || tm.Format("2006-01-02 15:04:05") != "2026-11-25 14:15:48" {
		t.Errorf("UnixTime: %s %v", tm, ok)
	}
}

func TestOverdueAndSettleable(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	past, future := big.NewInt(1_799_999_999), big.NewInt(1_800_000_001)
	for _, c := range []struct {
		status            Status
		deadline, settle  *big.Int
		overdue, settleOK bool
	}{
		{StatusFunded, past, new(big.Int), true, false},
		{StatusFunded, future, new(big.Int), false, false},
		{StatusCreated, past, new(big.Int), false, false},
		{StatusCompleted, past, past, false, true},
		{StatusCompleted, past, big.NewInt(now.Unix()), false, true},
		{StatusCompleted, past, future, false, false},
		{StatusCompleted, past, new(big.Int), false, false},
		{StatusSettled, past, past, false, false},
	} {
		j := &Job{Status: c.status, Deadline: c.deadline, SettleAfter: c.settle}
		if j.Overdue(now) != c.overdue || j.Settleable(now) != c.settleOK {
			t.Errorf("%s deadline %s settleAfter %s: overdue %v settleable %v, want %v %v",
				c.status, c.deadline, c.settle, j.Overdue(now), j.Settleable(now), c.overdue, c.settleOK)
		}
	}
}
