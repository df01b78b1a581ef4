package job_test

import (
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"github.com/vrwx/vrwxctl/pkg/cli/clitest"
	"github.com/vrwx/vrwxctl/pkg/cli/job"
	"github.com/vrwx/vrwxctl/pkg/devchain"
)

// jobsSig is the runbook's own cast signature for the job getter.
const jobsSig = "jobs(uint256)(address,bytes32,bytes32,uint256,uint256,uint8,bytes32,uint256,uint256,uint8,uint32)"

// castQuery is one question for the real cast, answered by castAll.
type castQuery struct {
	args []string
	vals []string // one value per output line, without cast's "[2.5e7]" annotations
	err  error
	out  []byte
}

// castAll runs cast call for every query, a few at a time (each is a process
// start), and fails the test on the first that cast could not answer.
func castAll(t *testing.T, cast, rpc string, qs []*castQuery) {
	t.Helper()
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4)
	for _, q := range qs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			q.out, q.err = exec.Command(cast, append([]string{"call"}, append(q.args, "--rpc-url", rpc)...)...).CombinedOutput()
			for _, line := range strings.Split(strings.TrimSpace(string(q.out)), "\n") {
				if f := strings.Fields(line); len(f) > 0 {
					q.vals = append(q.vals, f[0])
				}
			}
		}()
	}
	wg.Wait()
	for _, q := range qs {
		if q.err != nil {
			t.Fatalf("cast call %v: %v\n%s", q.args, q.err, q.out)
		}
	}
}

// The runbook's cast calls and vrwxctl's JSON say the same thing about every job,
// in every status, for robots active, deactivated and unregistered.
func TestJobGetMatchesCast(t *testing.T) {
	t.Parallel()
	cast := devchain.RequireCast(t)
	e := clitest.NewChain(t)
	d := e.D
	var list job.ListJSON
	e.MustRun(0, "job", "list", "-o", "json").JSON(t, &list)
	listed := map[string]job.JobJSON{}
	for _, j := range list.Jobs {
		listed[j.ID] = j
	}
	gets := map[string]job.GetJSON{}
	for name, id := range d.Jobs {
		var got job.GetJSON
		e.MustRun(0, "job", "get", fmt.Sprint(id), "-o", "json").JSON(t, &got)
		// job list prints the same job as job get (so it matches cast too).
		if l, ok := listed[got.Job.ID]; !ok || l != got.Job {
			t.Errorf("%s: job list has %+v, job get %+v", name, l, got.Job)
		}
		gets[name] = got
	}

	// Ask cast each question once: every job, and the controller and state of every
	// robot vrwxctl named.
	decimals := &castQuery{args: []string{d.Token.Hex(), "decimals()(uint8)"}}
	qs := []*castQuery{decimals}
	jobQ := map[string]*castQuery{}
	ctlQ, actQ := map[string]*castQuery{}, map[string]*castQuery{}
	for name, id := range d.Jobs {
		jobQ[name] = &castQuery{args: []string{d.Escrow.Hex(), jobsSig, fmt.Sprint(id)}}
		qs = append(qs, jobQ[name])
		r := gets[name].Job.RobotID
		if _, ok := ctlQ[r]; !ok {
			ctlQ[r] = &castQuery{args: []string{d.Identity.Hex(), "getController(bytes32)(address)", r}}
			actQ[r] = &castQuery{args: []string{d.Identity.Hex(), "isActive(bytes32)(bool)", r}}
			qs = append(qs, ctlQ[r], actQ[r])
		}
	}
	castAll(t, cast, d.RPCURL, qs)

	for name, got := range gets {
		c := jobQ[name].vals
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
		ctl, act := ctlQ[j.RobotID].vals, actQ[j.RobotID].vals
		if got.Robot.Controller != ctl[0] || fmt.Sprint(got.Robot.Active) != act[0] {
			t.Errorf("%s robot: vrwxctl %s/%v, cast %s/%s", name, got.Robot.Controller, got.Robot.Active, ctl[0], act[0])
		}
		if got.Token == nil || fmt.Sprint(got.Token.Decimals) != decimals.vals[0] {
			t.Errorf("%s decimals: vrwxctl %+v, cast %s", name, got.Token, decimals.vals[0])
		}
	}
}
