package job

import (
	"context"
	"strings"
	"testing"

	"github.com/vrwx/vrwxctl/pkg/cli/cmdutil/cmdtest"
	"github.com/vrwx/vrwxctl/pkg/vrwx"
)

func TestGetFlags(t *testing.T) {
	var got *GetOptions
	cmd := NewCmdGet(cmdtest.Factory(), func(_ context.Context, o *GetOptions) error { got = o; return nil })
	if err := cmdtest.Parse(cmd, "42"); err != nil || got.ID != "42" || got.Now() != cmdtest.Now {
		t.Fatalf("job get 42: %v %+v", err, got)
	}
	got.Config, got.Chain = cmdtest.NoConfig(t), cmdtest.NoChain(t)
	got.ID = "forty-two"
	cmdtest.Usage(t, getRun(context.Background(), got), `job id "forty-two" is not a number`)
	if err := cmdtest.Parse(NewCmdGet(cmdtest.Factory(), nil)); err == nil {
		t.Error("job get without an id was accepted")
	}
}

func TestListFlags(t *testing.T) {
	var got *ListOptions
	cmd := NewCmdList(cmdtest.Factory(), func(_ context.Context, o *ListOptions) error { got = o; return nil })
	robot := "0x5c8d1e4f0d4f6ce5bd5a0dfd4e39f6e9b5f3a4a1c2b3d4e5f60718293a4b5c6d"
	err := cmdtest.Parse(cmd, "--status", "FUNDED,completed", "--status", "SETTLED", "--robot", robot,
		"--buyer", "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC", "--from", "3", "--to", "9", "--overdue", "--settleable")
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Statuses) != 3 || got.Robot != robot || got.From != "3" || got.To != "9" || !got.Overdue || !got.Settleable {
		t.Fatalf("parsed %+v", got)
	}
	filter, from, to, err := got.validate()
	if err != nil {
		t.Fatal(err)
	}
	if !filter.Statuses[vrwx.StatusFunded] || !filter.Statuses[vrwx.StatusCompleted] || !filter.Statuses[vrwx.StatusSettled] || len(filter.Statuses) != 3 ||
		filter.Robot.Hex() != robot || filter.Buyer == nil || from.Int64() != 3 || to.Int64() != 9 || !filter.Overdue || !filter.Settleable {
		t.Fatalf("validated %+v %s..%s", filter, from, to)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--from", "9", "--to", "3"}, "--from 9 is after --to 3"},
		{[]string{"--status", "PAID"}, `--status "PAID"`},
		{[]string{"--robot", "0x12"}, `--robot "0x12" is 1 bytes`},
		{[]string{"--buyer", "0x12"}, "--buyer"},
		{[]string{"--to", "-1"}, `--to "-1"`},
	} {
		cmd := NewCmdList(cmdtest.Factory(), func(_ context.Context, o *ListOptions) error { got = o; return nil })
		if err := cmdtest.Parse(cmd, c.args...); err != nil {
			t.Fatal(err)
		}
		got.Config, got.Chain = cmdtest.NoConfig(t), cmdtest.NoChain(t)
		cmdtest.Usage(t, listRun(context.Background(), got), c.want)
	}
}

func TestEventsFlags(t *testing.T) {
	var got *EventsOptions
	cmd := NewCmdEvents(cmdtest.Factory(), func(_ context.Context, o *EventsOptions) error { got = o; return nil })
	if err := cmdtest.Parse(cmd); err != nil {
		t.Fatal(err)
	}
	q, err := got.validate()
	if err != nil || !q.From.Relative || q.From.Back != 100 || !q.To.Latest || q.Chunk != 10_000 || len(q.Types) != 0 || q.JobID != nil {
		t.Fatalf("defaults: %v %+v", err, q)
	}
	cmd = NewCmdEvents(cmdtest.Factory(), func(_ context.Context, o *EventsOptions) error { got = o; return nil })
	if err := cmdtest.Parse(cmd, "--from-block", "0x10", "--to-block", "200", "--job", "7", "--chunk", "50"); err != nil {
		t.Fatal(err)
	}
	q, err = got.validate()
	if err != nil || q.From.Number != 16 || q.To.Number != 200 || q.JobID.Int64() != 7 || q.Chunk != 50 {
		t.Fatalf("parsed: %v %+v", err, q)
	}
	// No --type asks for every log (unknown ones included), also with --job.
	if len(q.Types) != 0 {
		t.Errorf("--job without --type selected %d event types, want none (every log)", len(q.Types))
	}
	// --job with --type keeps only the named events that carry a job id.
	cmd = NewCmdEvents(cmdtest.Factory(), func(_ context.Context, o *EventsOptions) error { got = o; return nil })
	if err := cmdtest.Parse(cmd, "--job", "7", "--type", "JobFunded,RobotRegistered,JobRefunded"); err != nil {
		t.Fatal(err)
	}
	if q, err = got.validate(); err != nil || len(q.Types) != 2 {
		t.Fatalf("--job with --type: %v %+v", err, q.Types)
	}
	for _, et := range q.Types {
		if !et.ByJob {
			t.Errorf("--job kept %s", et.Name)
		}
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--from-block", "200", "--to-block", "100"}, "--from-block 200 is after --to-block 100"},
		{[]string{"--from-block", "yesterday"}, `--from-block "yesterday" is not a block`},
		{[]string{"--to-block", "-x"}, `--to-block "-x"`},
		{[]string{"--chunk", "0"}, "--chunk 0"},
		{[]string{"--type", "JobPaid"}, `--type "JobPaid"`},
		{[]string{"--job", "1", "--type", "RobotRegistered"}, "IdentityRegistry events"},
	} {
		cmd := NewCmdEvents(cmdtest.Factory(), func(_ context.Context, o *EventsOptions) error { got = o; return nil })
		if err := cmdtest.Parse(cmd, c.args...); err != nil {
			t.Fatal(err)
		}
		got.Config, got.Chain = cmdtest.NoConfig(t), cmdtest.NoChain(t)
		cmdtest.Usage(t, eventsRun(context.Background(), got), c.want)
	}
}

func TestCompleteFlags(t *testing.T) {
	f := cmdtest.Factory()
	f.Globals.DryRun, f.Globals.Yes = true, true
	var got *CompleteOptions
	cmd := NewCmdComplete(f, func(_ context.Context, o *CompleteOptions) error { got = o; return nil })
	hash := "0x9c1f0e7a3b5d4c2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0c9d8e"
	sig := "0x" + strings.Repeat("ab", 65)
	args := []string{"42", "--completion-hash", hash, "--quality", "100", "--work-units", "12", "--sig", sig, "--signer", "env://K", "--reason", "INC-7"}
	if err := cmdtest.Parse(cmd, args...); err != nil {
		t.Fatal(err)
	}
	if got.Claim.Job != "42" || got.Claim.CompletionHash != hash || got.Claim.Quality != "100" || got.Claim.WorkUnits != "12" || got.Claim.Sig != sig ||
		got.Send.Signer != "env://K" || got.Send.Reason != "INC-7" || !got.DryRun || !got.Yes {
		t.Fatalf("parsed %+v", got)
	}
	c, err := got.validate()
	if err != nil || c.JobID.Int64() != 42 || c.QualityScore != 100 || c.WorkUnits != 12 || len(c.Signature) != 65 || c.CompletionHash.Hex() != hash {
		t.Fatalf("validated %v %+v", err, c)
	}
	for _, c := range []struct {
		i    int
		v    string
		want string
	}{
		{10, "", "--signer is required"},
		{4, "256", `--quality "256"`},
		{6, "4294967296", `--work-units "4294967296"`},
		{8, "0x" + strings.Repeat("ab", 64), "--sig is 64 bytes"},
		{2, "0x12", `--completion-hash "0x12"`},
		{0, "x", `--job "x"`},
	} {
		bad := append([]string(nil), args...)
		bad[c.i] = c.v
		cmd := NewCmdComplete(cmdtest.Factory(), func(_ context.Context, o *CompleteOptions) error { got = o; return nil })
		if err := cmdtest.Parse(cmd, bad...); err != nil {
			t.Fatal(err)
		}
		got.Flow = cmdtest.NoFlow(t)
		cmdtest.Usage(t, completeRun(context.Background(), got), c.want)
	}
}
