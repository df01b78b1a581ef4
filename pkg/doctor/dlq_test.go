package doctor

import (
	"testing"
	"time"

	"github.com/vrwx/vrwxctl/pkg/dlq"
)

func TestDLQChecksJudgeDepthAboveThresholds(t *testing.T) {
	for _, c := range []struct {
		depth int64
		want  Level
	}{{10, OK}, {11, Warn}, {50, Warn}, {51, Crit}} {
		sum := dlq.Summary{Depth: c.depth, UnresolvedByType: map[string]int64{"TX_FAIL": c.depth - 1, "SOMETHING_NEW": 1},
			OldestUnresolvedAge: 50 * time.Hour, OldestUnresolvedID: 7}
		checks := DLQChecks(sum, 10, 50)
		if checks[0].Name != "depth" || checks[0].Level != c.want || (c.want != OK) != (checks[0].Fix != "") {
			t.Errorf("depth %d: %+v, want %s (a fix only when not ok)", c.depth, checks[0], c.want)
		}
		if Worst(checks) != c.want {
			t.Errorf("depth %d: worst %s, want %s", c.depth, Worst(checks), c.want)
		}
		byName := map[string]Check{}
		for _, ch := range checks {
			byName[ch.Name] = ch
		}
		if byName["SOMETHING_NEW"].Detail != "unresolved, type unknown to vrwxctl" || byName["oldest unresolved"].Value != "2d2h" {
			t.Errorf("depth %d: unknown type %+v, oldest %+v", c.depth, byName["SOMETHING_NEW"], byName["oldest unresolved"])
		}
	}
	if got := DLQChecks(dlq.Summary{}, 10, 50); got[len(got)-1].Value != "-" {
		t.Errorf("an empty DLQ has no oldest event: %+v", got[len(got)-1])
	}
}
