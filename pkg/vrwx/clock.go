package vrwx

import (
	"math/big"
	"time"
)

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

// Overdue reports whether the job is FUNDED and past its deadline at now: the buyer
// can take a refund.
func (j *Job) Overdue(now time.Time) bool {
	dl, ok := UnixTime(j.Deadline)
	return ok && j.Status == StatusFunded && now.After(dl)
}

// Settleable reports whether the job is COMPLETED and its challenge window is over at
// now: anyone can settle it.
func (j *Job) Settleable(now time.Time) bool {
	sa, ok := UnixTime(j.SettleAfter)
	return ok && j.Status == StatusCompleted && j.SettleAfter.Sign() > 0 && !now.Before(sa)
}
