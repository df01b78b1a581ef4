package job_test

import (
	"context"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/vrwx/vrwxctl/pkg/cli/clitest"
	"github.com/vrwx/vrwxctl/pkg/cli/job"
	"github.com/vrwx/vrwxctl/pkg/devchain"
)

func TestMain(m *testing.M) { clitest.Main(m) }

// seededRobot is the robot each seeded job belongs to.
func seededRobot(name string) string {
	switch name {
	case devchain.JobFundedDeactivated:
		return devchain.RobotDeactivated
	case devchain.JobFundedUnregistered:
		return devchain.RobotUnregistered
	}
	return devchain.RobotActive
}

var statusNames = []string{"CREATED", "FUNDED", "COMPLETED", "SETTLED", "DISPUTED", "REFUNDED"}

func TestGetEveryStatusAndRobot(t *testing.T) {
	t.Parallel()
	e := clitest.NewChain(t)
	d := e.D
	if len(d.Jobs) < 12 {
		t.Fatalf("deployment seeded %d jobs, want the 12 named ones", len(d.Jobs))
	}
	for name, id := range d.Jobs {
		t.Run(name, func(t *testing.T) {
			r := e.MustRun(0, "job", "get", fmt.Sprint(id), "-o", "json")
			var got job.GetJSON
			r.JSON(t, &got)
			status, _ := devchain.SeededStatus(name)
			j := got.Job
			if j.ID != fmt.Sprint(id) || j.Status != statusNames[status] || j.StatusCode != status {
				t.Errorf("job %s: id %s status %s (%d), want %d %s", name, j.ID, j.Status, j.StatusCode, id, statusNames[status])
			}
			if j.Buyer != d.Buyer.Hex() || j.Price != devchain.JobPrice.String() || j.PriceFormatted != "25" {
				t.Errorf("buyer %s price %s (%s), want %s 25000000 (25)", j.Buyer, j.Price, j.PriceFormatted, d.Buyer.Hex())
			}
			if got.Token == nil || got.Token.Decimals != 6 || got.Token.Symbol != "USDC" || got.Token.Address != d.Token.Hex() {
				t.Errorf("token %+v, want USDC with 6 decimals at %s", got.Token, d.Token.Hex())
			}
			robot := d.Robots[seededRobot(name)]
			if j.RobotID != robot.ID.Hex() {
				t.Errorf("robotId %s, want %s", j.RobotID, robot.ID.Hex())
			}
			wantActive := seededRobot(name) == devchain.RobotActive
			wantRegistered := seededRobot(name) != devchain.RobotUnregistered
			if got.Robot.Controller != robot.Controller.Hex() || got.Robot.Active != wantActive || got.Robot.Registered != wantRegistered || got.Robot.Error != "" {
				t.Errorf("robot %+v, want controller %s active %v registered %v", got.Robot, robot.Controller.Hex(), wantActive, wantRegistered)
			}
			// Every seeded job is a V2 job of service type keccak256("inspection").
			if st := got.ServiceType; st == nil || st.Hash != devchain.ServiceType.Hex() || st.Name != "inspection" || !st.Set {
				t.Errorf("serviceType %+v, want %s (inspection)", st, devchain.ServiceType.Hex())
			}
			if got.Robot.Registry != d.Identity.Hex() || got.Escrow != d.Escrow.Hex() || got.ChainID != d.ChainID {
				t.Errorf("registry %s escrow %s chain %d", got.Robot.Registry, got.Escrow, got.ChainID)
			}
			if c, ok := d.Claims[name]; ok && status == devchain.StatusCompleted {
				if j.CompletionHash != c.CompletionHash.Hex() || j.QualityScore != c.QualityScore || j.WorkUnits != c.WorkUnits {
					t.Errorf("completion %s q%d w%d, want %s q%d w%d", j.CompletionHash, j.QualityScore, j.WorkUnits, c.CompletionHash.Hex(), c.QualityScore, c.WorkUnits)
				}
				if j.SettleAfterUTC == "" {
					t.Error("a completed job has a settleAfter time")
				}
			}
			if j.Overdue != (name == devchain.JobFundedOverdue) || j.Settleable != (name == devchain.JobCompletedSettleable) {
				t.Errorf("overdue %v settleable %v", j.Overdue, j.Settleable)
			}
			if _, err := time.Parse(time.RFC3339, j.DeadlineUTC); err != nil {
				t.Errorf("deadlineUtc %q: %v", j.DeadlineUTC, err)
			}
		})
	}
}

func TestGetText(t *testing.T) {
	t.Parallel()
	e := clitest.NewChain(t)
	d := e.D
	cases := []struct {
		name string
		want []string
	}{
		{devchain.JobFunded, []string{"JOB", "FUNDED", "25 USDC", "(25000000 raw, 6 decimals)", "serviceType      inspection  " + devchain.ServiceType.Hex(), d.Robots[devchain.RobotActive].Controller.Hex() + "  active", "UTC  (in ", "settleAfter", "not set"}},
		{devchain.JobFundedDeactivated, []string{"deactivated", d.Robots[devchain.RobotDeactivated].Controller.Hex()}},
		{devchain.JobFundedUnregistered, []string{"not registered", "0x0000000000000000000000000000000000000000"}},
		{devchain.JobFundedOverdue, []string{"(passed ", " ago)", "overdue"}},
		{devchain.JobCompletedSettleable, []string{"COMPLETED (2)", "settleable"}},
		{devchain.JobCompleted, []string{"qualityScore     100", "workUnits        10", d.Claims[devchain.JobCompleted].CompletionHash.Hex()}},
	}
	for _, c := range cases {
		r := e.MustRun(0, "job", "get", fmt.Sprint(d.Jobs[c.name]))
		for _, w := range c.want {
			if !strings.Contains(r.Stdout, w) {
				t.Errorf("%s: output lacks %q:\n%s", c.name, w, r.Stdout)
			}
		}
		// All eleven fields, by name.
		for _, field := range []string{"buyer", "robotId", "jobSpecHash", "price", "deadline", "status", "completionHash", "tokenId", "settleAfter", "qualityScore", "workUnits"} {
			if !strings.Contains(r.Stdout, "\n  "+field+" ") {
				t.Errorf("%s: no %s line:\n%s", c.name, field, r.Stdout)
			}
		}
	}

	// A job created without a service type (createJob, the V1 form) says so.
	rcpt, err := devchain.Transact(context.Background(), e.Anvil.URL, devchain.DevKey(devchain.AccountBuyer), d.Escrow, devchain.ContractEscrow, "createJob",
		d.Robots[devchain.RobotActive].ID, crypto.Keccak256Hash([]byte("jobspec:v1")), devchain.JobPrice, big.NewInt(time.Now().Add(24*time.Hour).Unix()))
	if err != nil {
		t.Fatal(err)
	}
	v1 := new(big.Int).SetBytes(rcpt.Logs[0].Topics[1].Bytes()).String()
	r := e.MustRun(0, "job", "get", v1)
	if !strings.Contains(r.Stdout, "serviceType      none  (created without a service type)") {
		t.Errorf("V1 job:\n%s", r.Stdout)
	}
	var got job.GetJSON
	e.MustRun(0, "job", "get", v1, "-o", "json").JSON(t, &got)
	if st := got.ServiceType; st == nil || st.Set || st.Name != "" || st.Hash != (common.Hash{}).Hex() {
		t.Errorf("V1 job serviceType %+v", st)
	}
}

func TestGetMissingJobAndMissingEscrow(t *testing.T) {
	t.Parallel()
	e := clitest.NewChain(t)
	r := e.MustRun(1, "job", "get", "999")
	if !strings.Contains(r.Stderr, "job 999 does not exist") || !strings.Contains(r.Stderr, fmt.Sprintf("jobCount is %d", len(e.D.Jobs))) {
		t.Errorf("missing job message:\n%s", r)
	}
	r = e.MustRun(1, "job", "get", "999", "-o", "json")
	if !strings.Contains(r.Stdout, `"kind": "failed"`) {
		t.Errorf("JSON error object missing:\n%s", r)
	}
	// An escrow address with no contract behind it.
	e.Vars["JOB_ESCROW_ADDRESS"] = "0x00000000000000000000000000000000000000aa"
	r = e.MustRun(1, "job", "get", "1")
	if !strings.Contains(r.Stderr, "no JobEscrow at that address") {
		t.Errorf("no-code escrow:\n%s", r)
	}
}

// deadRPC is a loopback URL nothing listens on: a command that got past input
// checking would fail there with exit 1, so exit 2 proves nothing was sent.
func deadRPC(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := "http://" + l.Addr().String()
	l.Close()
	return u
}

func TestBadInputExitsTwoBeforeAnyRead(t *testing.T) {
	t.Parallel()
	e := clitest.New(t)
	e.Vars["RPC_URL"] = deadRPC(t)
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"job", "get", "abc"}, `job id "abc" is not a number`},
		{[]string{"job", "get", "--", "-1"}, `job id "-1"`},
		{[]string{"job", "get", "115792089237316195423570985008687907853269984665640564039457584007913129639936"}, "larger than 2^256-1"},
		{[]string{"job", "get", "1", "2"}, "takes 1 argument"},
		{[]string{"job", "list", "--status", "PAID"}, `--status "PAID" is not a job status`},
		{[]string{"job", "list", "--status", "FUNDED,nope"}, `"nope"`},
		{[]string{"job", "list", "--robot", "0x1234"}, "--robot \"0x1234\" is 2 bytes"},
		{[]string{"job", "list", "--robot", "robot-7"}, "not hex"},
		{[]string{"job", "list", "--buyer", "0x123"}, "not an address"},
		{[]string{"job", "list", "--from", "9", "--to", "3"}, "--from 9 is after --to 3"},
		{[]string{"job", "list", "--from", "-4"}, `--from "-4"`},
		{[]string{"job", "events", "--from-block", "200", "--to-block", "100"}, "--from-block 200 is after --to-block 100"},
		{[]string{"job", "events", "--from-block", "yesterday"}, `--from-block "yesterday" is not a block`},
		{[]string{"job", "events", "--type", "JobPaid"}, `--type "JobPaid" is not an event`},
		{[]string{"job", "events", "--job", "x1"}, `--job "x1" is not a number`},
		{[]string{"job", "events", "--job", "1", "--type", "RobotRegistered"}, "IdentityRegistry events"},
	}
	for _, c := range cases {
		r := e.Run(c.args...)
		if r.Code != 2 || !strings.Contains(r.Stderr, c.want) || r.Stdout != "" {
			t.Errorf("want exit 2 mentioning %q and no stdout:\n%s", c.want, r)
		}
	}
	// A profile without an escrow says where to set one.
	r := e.Run("job", "get", "1", "--profile", "base-sepolia")
	if r.Code != 2 || !strings.Contains(r.Stderr, "JOB_ESCROW_ADDRESS") || !strings.Contains(r.Stderr, "`escrow`") {
		t.Errorf("no escrow configured:\n%s", r)
	}
}

func listIDs(t *testing.T, e *clitest.Env, args ...string) []string {
	t.Helper()
	r := e.MustRun(0, append([]string{"job", "list", "-o", "json"}, args...)...)
	var got job.ListJSON
	r.JSON(t, &got)
	if got.Jobs == nil {
		t.Fatalf("jobs is null, want a list:\n%s", r)
	}
	ids := []string{}
	for _, j := range got.Jobs {
		ids = append(ids, j.ID)
	}
	return ids
}

func idsOf(d *devchain.Deployment, names ...string) []string {
	var ids []uint64
	for _, n := range names {
		ids = append(ids, d.Jobs[n])
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	out := []string{}
	for _, id := range ids {
		out = append(out, fmt.Sprint(id))
	}
	return out
}

func namesWhere(d *devchain.Deployment, keep func(name string, status uint8) bool) []string {
	var out []string
	for name := range d.Jobs {
		st, _ := devchain.SeededStatus(name)
		if keep(name, st) {
			out = append(out, name)
		}
	}
	return out
}

func TestListFilters(t *testing.T) {
	t.Parallel()
	e := clitest.NewChain(t)
	d := e.D
	all := namesWhere(d, func(string, uint8) bool { return true })
	funded := namesWhere(d, func(_ string, st uint8) bool { return st == devchain.StatusFunded })
	doneish := namesWhere(d, func(_ string, st uint8) bool { return st == devchain.StatusCompleted || st == devchain.StatusSettled })
	cases := []struct {
		args []string
		want []string
	}{
		{nil, idsOf(d, all...)},
		{[]string{"--status", "FUNDED"}, idsOf(d, funded...)},
		{[]string{"--status", "completed,SETTLED"}, idsOf(d, doneish...)},
		{[]string{"--status", "COMPLETED", "--status", "SETTLED"}, idsOf(d, doneish...)},
		{[]string{"--overdue"}, idsOf(d, devchain.JobFundedOverdue)},
		{[]string{"--settleable"}, idsOf(d, devchain.JobCompletedSettleable)},
		{[]string{"--overdue", "--settleable"}, idsOf(d, devchain.JobFundedOverdue, devchain.JobCompletedSettleable)},
		{[]string{"--robot", d.Robots[devchain.RobotDeactivated].ID.Hex()}, idsOf(d, devchain.JobFundedDeactivated)},
		{[]string{"--robot", d.Robots[devchain.RobotUnregistered].ID.Hex(), "--status", "FUNDED"}, idsOf(d, devchain.JobFundedUnregistered)},
		{[]string{"--buyer", d.Buyer.Hex()}, idsOf(d, all...)},
		{[]string{"--buyer", d.Relayer.Hex()}, []string{}},
		{[]string{"--status", "REFUNDED", "--overdue"}, []string{}},
		{[]string{"--from", "3", "--to", "5"}, []string{"3", "4", "5"}},
		{[]string{"--from", "11", "--to", "500"}, []string{"11", "12"}},
		{[]string{"--from", "50"}, []string{}},
		{[]string{"--limit", "2"}, []string{"1", "2"}},
		{[]string{"--from", "3", "--to", "5", "--limit", "10"}, []string{"3", "4", "5"}},
		{[]string{"--overdue", "--settleable", "--limit", "1"}, idsOf(d, devchain.JobFundedOverdue, devchain.JobCompletedSettleable)[:1]},
	}
	for _, c := range cases {
		got := listIDs(t, e, c.args...)
		if strings.Join(got, ",") != strings.Join(c.want, ",") {
			t.Errorf("job list %v: ids %v, want %v", c.args, got, c.want)
		}
	}

	var out job.ListJSON
	e.MustRun(0, "job", "list", "--from", "11", "--to", "500", "-o", "json").JSON(t, &out)
	if out.From != "11" || out.To != "12" || out.Scanned != 2 || out.JobCount != "12" {
		t.Errorf("range %s..%s scanned %d of %s, want 11..12, 2 of 12", out.From, out.To, out.Scanned, out.JobCount)
	}

	r := e.MustRun(0, "job", "list", "--overdue", "--settleable")
	lines := strings.Split(strings.TrimSpace(r.Stdout), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "ID") || !strings.Contains(r.Stdout, "25 USDC") ||
		!strings.Contains(r.Stdout, "overdue") || !strings.Contains(r.Stdout, "settleable") || !strings.Contains(r.Stderr, "2 of 12 jobs match") {
		t.Errorf("table:\n%s", r)
	}
	r = e.MustRun(0, "job", "list", "--limit", "3")
	if n := strings.Count(r.Stdout, "\n"); n != 4 || !strings.Contains(r.Stderr, "the first 3 matching jobs, ids 1..3 of 1..12: --limit stopped the scan (--from 4 goes on; --limit 0 lists all)") {
		t.Errorf("--limit 3 (%d lines):\n%s", n, r)
	}
	e.MustRun(2, "job", "list", "--limit", "-1")
	r = e.MustRun(0, "job", "list", "-v", "--status", "CREATED")
	if !strings.Contains(r.Stderr, "scanned 12/12 jobs") {
		t.Errorf("-v progress:\n%s", r)
	}
	r = e.MustRun(0, "job", "list", "--buyer", d.Relayer.Hex())
	if r.Stdout != "" || !strings.Contains(r.Stderr, "no jobs match") {
		t.Errorf("empty text result:\n%s", r)
	}
}

func TestStatusCompletion(t *testing.T) {
	t.Parallel()
	e := clitest.New(t)
	r := e.MustRun(0, "__complete", "job", "list", "--status", "")
	for _, s := range statusNames {
		if !strings.Contains(r.Stdout, s+"\n") {
			t.Errorf("completion lacks %s:\n%s", s, r.Stdout)
		}
	}
	r = e.MustRun(0, "__complete", "job", "events", "--type", "")
	if !strings.Contains(r.Stdout, "CompletionSubmitted") || !strings.Contains(r.Stdout, "RobotRegistered") {
		t.Errorf("event completion:\n%s", r.Stdout)
	}
}

func TestEvents(t *testing.T) {
	t.Parallel()
	e := clitest.NewChain(t)
	d := e.D
	from := fmt.Sprint(d.DeployBlock)
	var all job.EventsJSON
	e.MustRun(0, "job", "events", "--from-block", from, "-o", "json").JSON(t, &all)
	count := map[string]int{}
	for _, ev := range all.Events {
		count[ev.Event]++
		if ev.Event == "unknown" {
			t.Errorf("undecoded event %+v", ev)
		}
	}
	completed := 0
	for name := range d.Claims {
		_ = name
		completed++
	}
	// refund() emits JobRefunded, which the spec added after vrwxctl first asked the
	// node only for the topics it knew: every log is read now.
	want := map[string]int{"JobCreated": len(d.Jobs), "JobCreatedV2": len(d.Jobs), "RobotRegistered": 2,
		"CompletionSubmitted": completed, "JobSettled": 1, "JobSettledV2": 1, "JobRefunded": 1}
	for ev, n := range want {
		if count[ev] != n {
			t.Errorf("%d %s events, want %d (all: %v)", count[ev], ev, n, count)
		}
	}
	if all.Identity != d.Identity.Hex() || all.Escrow != d.Escrow.Hex() {
		t.Errorf("addresses %s %s", all.Escrow, all.Identity)
	}

	// One job's history, through the indexed topic.
	id := d.Jobs[devchain.JobSettled]
	var one job.EventsJSON
	e.MustRun(0, "job", "events", "--from-block", from, "--job", fmt.Sprint(id), "-o", "json").JSON(t, &one)
	var names []string
	for _, ev := range one.Events {
		if ev.JobID != fmt.Sprint(id) {
			t.Errorf("event of job %s in --job %d", ev.JobID, id)
		}
		names = append(names, ev.Event)
	}
	if strings.Join(names, ",") != "JobCreated,JobCreatedV2,JobFunded,CompletionSubmitted,JobSettled,JobSettledV2" {
		t.Errorf("settled job's events: %v", names)
	}
	settled := one.Events[len(one.Events)-2]
	if settled.Args["payout"] == "" || settled.Args["fee"] == "" || settled.Args["tokenId"] == "" {
		t.Errorf("JobSettled args %v", settled.Args)
	}

	// The refunded job's history ends with JobRefunded(jobId, buyer, amount).
	refunded := d.Jobs[devchain.JobRefunded]
	e.MustRun(0, "job", "events", "--from-block", from, "--job", fmt.Sprint(refunded), "-o", "json").JSON(t, &one)
	names = nil
	for _, ev := range one.Events {
		names = append(names, ev.Event)
	}
	if strings.Join(names, ",") != "JobCreated,JobCreatedV2,JobFunded,JobRefunded" {
		t.Errorf("refunded job's events: %v", names)
	} else if r := one.Events[3]; r.JobID != fmt.Sprint(refunded) || r.Args["buyer"] != d.Buyer.Hex() || r.Args["amount"] != devchain.JobPrice.String() {
		t.Errorf("JobRefunded: %+v", r)
	}

	// --type, small chunks, and the runbook's relative range give the same events.
	var typed job.EventsJSON
	e.MustRun(0, "job", "events", "--from-block", from, "--type", "CompletionSubmitted,RobotRegistered", "--chunk", "3", "-o", "json").JSON(t, &typed)
	if len(typed.Events) != completed+2 {
		t.Errorf("%d typed events, want %d", len(typed.Events), completed+2)
	}
	for _, ev := range typed.Events {
		if ev.Event == "RobotRegistered" && (ev.RobotID == "" || ev.Args["controller"] == "") {
			t.Errorf("RobotRegistered without robot or controller: %+v", ev)
		}
	}
	var recent job.EventsJSON
	e.MustRun(0, "job", "events", "-o", "json").JSON(t, &recent)
	if recent.ToBlock-recent.FromBlock != 100 && recent.FromBlock != 0 {
		t.Errorf("default range %d..%d, want the last 100 blocks", recent.FromBlock, recent.ToBlock)
	}

	r := e.MustRun(0, "job", "events", "--from-block", from, "--job", fmt.Sprint(id))
	if !strings.Contains(r.Stdout, "JobSettled ") || !strings.Contains(r.Stdout, "payout=") || !strings.HasPrefix(r.Stdout, "BLOCK") {
		t.Errorf("events table:\n%s", r)
	}
	r = e.MustRun(0, "job", "events", "--from-block", from, "--job", "999")
	if r.Stdout != "" || !strings.Contains(r.Stderr, "no events") {
		t.Errorf("no events:\n%s", r)
	}
	var none job.EventsJSON
	e.MustRun(0, "job", "events", "--from-block", from, "--job", "999", "-o", "json").JSON(t, &none)
	if none.Events == nil || len(none.Events) != 0 {
		t.Errorf("events = %v, want []", none.Events)
	}
	// A relative start beyond the head is the genesis block; a relative end before the
	// start is bad input.
	e.MustRun(0, "job", "events", "--from-block", "-100000")
	r = e.MustRun(2, "job", "events", "--from-block", "-1", "--to-block", "-5")
	if !strings.Contains(r.Stderr, "is after --to-block") {
		t.Errorf("relative range:\n%s", r)
	}
}

// A log of the escrow that is none of the spec's events is shown raw, not dropped:
// here the pausable escrow's OpenZeppelin Paused(address).
func TestEventsShowsUnknownLogsRaw(t *testing.T) {
	t.Parallel()
	e := clitest.NewChain(t)
	d := e.D
	e.Vars["JOB_ESCROW_ADDRESS"] = d.PausableEscrow.Hex()
	rcpt, err := devchain.Transact(context.Background(), e.Anvil.URL, devchain.DevKey(devchain.AccountAdmin), d.PausableEscrow, devchain.ContractPausableEscrow, "pause")
	if err != nil {
		t.Fatal(err)
	}
	block := rcpt.BlockNumber.String()
	topic0 := crypto.Keccak256Hash([]byte("Paused(address)")).Hex()
	data := "0x" + strings.Repeat("0", 24) + strings.ToLower(d.Admin.Hex()[2:])

	var out job.EventsJSON
	e.MustRun(0, "job", "events", "--from-block", block, "--to-block", block, "-o", "json").JSON(t, &out)
	if len(out.Events) != 1 {
		t.Fatalf("events of block %s: %+v", block, out.Events)
	}
	ev := out.Events[0]
	if ev.Event != "unknown" || ev.Contract != "escrow" || ev.Address != d.PausableEscrow.Hex() || ev.TxHash != rcpt.TxHash.Hex() ||
		len(ev.Topics) != 1 || ev.Topics[0] != topic0 || ev.Data != data || ev.DecodeError != "" {
		t.Errorf("unknown log: %+v", ev)
	}
	r := e.MustRun(0, "job", "events", "--from-block", block, "--to-block", block)
	if !strings.Contains(r.Stdout, "unknown") || !strings.Contains(r.Stdout, "topic0="+topic0) || !strings.Contains(r.Stdout, "data="+data) {
		t.Errorf("text:\n%s", r)
	}
	// --type asks for named events only: the unknown log is not among them.
	e.MustRun(0, "job", "events", "--from-block", block, "--to-block", block, "--type", "JobFunded", "-o", "json").JSON(t, &out)
	if len(out.Events) != 0 {
		t.Errorf("--type JobFunded returned %+v", out.Events)
	}
}

// job get is one HTTP round trip, chain-id guard included: the robot's controller
// and active flag, which depend on the job's robot id, are read on the node.
func TestGetIsOneRoundTrip(t *testing.T) {
	t.Parallel()
	e := clitest.NewChain(t)
	target, err := url.Parse(e.D.RPCURL)
	if err != nil {
		t.Fatal(err)
	}
	var trips atomic.Int64
	proxy := httputil.NewSingleHostReverseProxy(target)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		trips.Add(1)
		proxy.ServeHTTP(w, r)
	}))
	defer srv.Close()
	e.Vars["RPC_URL"] = srv.URL
	var got job.GetJSON
	e.MustRun(0, "job", "get", fmt.Sprint(e.D.Jobs[devchain.JobFundedDeactivated]), "-o", "json").JSON(t, &got)
	if n := trips.Load(); n != 1 {
		t.Errorf("job get made %d HTTP round trips, want 1", n)
	}
	if got.Robot.Controller != e.D.Robots[devchain.RobotDeactivated].Controller.Hex() || got.Robot.Active || got.Token == nil || got.ServiceType == nil || !got.ServiceType.Set {
		t.Errorf("reading through the proxy: %+v", got)
	}
}

// The built binary gives the same exit codes as the in-process runs.
func TestBinaryExitCodes(t *testing.T) {
	t.Parallel()
	e := clitest.NewChain(t)
	for _, c := range []struct {
		args []string
		code int
	}{
		{[]string{"job", "get", fmt.Sprint(e.D.Jobs[devchain.JobFunded])}, 0},
		{[]string{"job", "get", "999"}, 1},
		{[]string{"job", "get", "abc"}, 2},
		{[]string{"job", "list", "--status", "nope"}, 2},
	} {
		if r := e.Exec(c.args...); r.Code != c.code {
			t.Errorf("want exit %d:\n%s", c.code, r)
		}
	}
}
