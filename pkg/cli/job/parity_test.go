package job_test

import (
	"fmt"
	"os/exec"
	"strings"
	"testing"

	"github.com/vrwx/vrwxctl/pkg/cli/clitest"
	"github.com/vrwx/vrwxctl/pkg/cli/job"
	"github.com/vrwx/vrwxctl/pkg/devchain"
)

// jobsSig is the runbook's own cast signature for the job getter.
const jobsSig = "jobs(uint256)(address,bytes32,bytes32,uint256,uint256,uint8,bytes32,uint256,uint256,uint8,uint32)"

// castCall runs the real cast and returns one value per output line, without cast's
// "[2.5e7]" scientific annotations.
func castCall(t *testing.T, cast, rpc string, args ...string) []string {
	t.Helper()
	out, err := exec.Command(cast, append([]string{"call"}, append(args, "--rpc-url", rpc)...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("cast call %v: %v\n%s", args, err, out)
	}
	var vals []string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if f := strings.Fields(line); len(f) > 0 {
			vals = append(vals, f[0])
		}
	}
	return vals
}

// The runbook's cast calls and vrwxctl's JSON say the same thing about every job,
// in every status, for robots active, deactivated and unregistered.
func TestJobGetMatchesCast(t *testing.T) {
	t.Parallel()
	cast := devchain.RequireCast(t)
	e := clitest.NewChain(t)
	d := e.D
	decimals := castCall(t, cast, d.RPCURL, d.Token.Hex(), "decimals()(uint8)")
	var list job.ListJSON
	e.MustRun(0, "job", "list", "-o", "json").JSON(t, &list)
	listed := map[string]job.JobJSON{}
	for _, j := range list.Jobs {
		listed[j.ID] = j
	}
	for name, id := range d.Jobs {
		var got job.GetJSON
		e.MustRun(0, "job", "get", fmt.Sprint(id), "-o", "json").JSON(t, &got)
		// job list prints the same job as job get (so it matches cast too).
		if l, ok := listed[got.Job.ID]; !ok || l != got.Job {
			t.Errorf("%s: job list has %+v, job get %+v", name, l, got.Job)
		}
		c := castCall(t, cast, d.RPCURL, d.Escrow.Hex(), jobsSig, fmt.Sprint(id))
		if len(c) != 11 {
			t.Fatalf("%s: cast printed %d values: %v", name, len(c), c)
		}
		j := got.Job
		ours := []string{j.Buyer, j.RobotID, j.JobSpecHash, j.Price, j.Deadline, fmt.Sprint(j.StatusCode), j.CompletionHash,
			j.TokenID, j.SettleAfter, fmt.Sprint(j.QualityScore), fmt.Sprint(j.WorkUnits)}
		fields := []string{"buyer", "robotId", "jobSpecHash", "price", "deadline", "status", "completionHash", "tokenId", "settleAfter", "qualityScore", "workUnits"}
		for i := range ours {
			if ours[i] != c[i] {
				t.Errorf("%s %s: vrwxctl %s, cast %s", name, fields[i], ours[i], c[i])
			}
		}
		ctl := castCall(t, cast, d.RPCURL, d.Identity.Hex(), "getController(bytes32)(address)", j.RobotID)
		act := castCall(t, cast, d.RPCURL, d.Identity.Hex(), "isActive(bytes32)(bool)", j.RobotID)
		if got.Robot.Controller != ctl[0] || fmt.Sprint(got.Robot.Active) != act[0] {
			t.Errorf("%s robot: vrwxctl %s/%v, cast %s/%s", name, got.Robot.Controller, got.Robot.Active, ctl[0], act[0])
		}
		if got.Token == nil || fmt.Sprint(got.Token.Decimals) != decimals[0] {
			t.Errorf("%s decimals: vrwxctl %+v, cast %s", name, got.Token, decimals[0])
		}
	}
}
