package dlq

import (
	"context"
	"testing"

	"github.com/vrwx/vrwxctl/pkg/cli/cmdutil/cmdtest"
	"github.com/vrwx/vrwxctl/pkg/dlq"
	"github.com/vrwx/vrwxctl/pkg/dlqreplay"
)

func TestListAndShowFlags(t *testing.T) {
	db := "/data/vrwx.db"
	var got *ListOptions
	parse := func(args ...string) {
		t.Helper()
		cmd := NewCmdList(cmdtest.Factory(), &db, func(_ context.Context, o *ListOptions) error { got = o; return nil })
		if err := cmdtest.Parse(cmd, args...); err != nil {
			t.Fatal(err)
		}
		got.Config = cmdtest.NoConfig(t)
	}
	parse("--type", "tx_fail", "--unresolved", "--job", "42", "--limit", "5")
	filter, err := got.validate()
	if err != nil || filter.Type != "TX_FAIL" || !filter.Unresolved || filter.JobID != "42" || filter.Limit != 5 || got.DB != db {
		t.Fatalf("parsed %v %+v %+v", err, got, filter)
	}
	parse()
	if got.Filter.Limit != 100 {
		t.Fatalf("default limit %d", got.Filter.Limit)
	}
	for _, c := range []struct {
		args []string
		want string
	}{{[]string{"--limit", "0"}, "--limit 0"}, {[]string{"--type", "NOPE"}, "NOPE"}, {[]string{"--job", "x"}, `--job "x"`}} {
		parse(c.args...)
		cmdtest.Usage(t, listRun(context.Background(), got), c.want)
	}

	var show *ShowOptions
	cmd := NewCmdShow(cmdtest.Factory(), &db, func(_ context.Context, o *ShowOptions) error { show = o; return nil })
	if err := cmdtest.Parse(cmd, "#17"); err != nil || show.ID != "#17" || show.DB != db {
		t.Fatalf("show: %v %+v", err, show)
	}
	show.Config, show.ID = cmdtest.NoConfig(t), "abc"
	cmdtest.Usage(t, showRun(context.Background(), show), `DLQ event id "abc"`)
}

func TestResolveFlags(t *testing.T) {
	db := ""
	f := cmdtest.Factory()
	f.Globals.DryRun, f.Globals.Yes = true, true
	var got *ResolveOptions
	parse := func(args ...string) {
		t.Helper()
		cmd := NewCmdResolve(f, &db, func(_ context.Context, o *ResolveOptions) error { got = o; return nil })
		if err := cmdtest.Parse(cmd, args...); err != nil {
			t.Fatal(err)
		}
		got.Config = cmdtest.NoConfig(t)
	}
	parse("17", "--as", " manual ", "--notes", "INC-77")
	req, err := got.validate()
	if err != nil || len(req.ids) != 1 || req.ids[0] != 17 || req.bulk() || req.rt != "MANUAL" || req.notes != "INC-77" || !got.DryRun || !got.Yes {
		t.Fatalf("parsed %v %+v %+v", err, got, req)
	}
	parse("17", "18", "17", "--as", "SKIPPED", "--reason", "INC-9")
	if req, err = got.validate(); err != nil || len(req.ids) != 2 || !req.bulk() || req.notes != "INC-9" {
		t.Fatalf("two ids with --reason: %v %+v", err, req)
	}
	parse("--all", "--type", "upload_fail", "--job", "0x10", "--as", "MANUAL", "--notes", "re-uploaded", "--reason", "INC-81")
	if req, err = got.validate(); err != nil || req.ids != nil || !req.bulk() || req.filter.Type != "UPLOAD_FAIL" || req.filter.JobID != "16" ||
		!req.filter.Unresolved || !req.filter.All || req.notes != "re-uploaded; reason: INC-81" {
		t.Fatalf("--all: %v %+v", err, req)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"17", "--as", "RETRIED", "--notes", "x"}, `--as "RETRIED"`},
		{[]string{"17", "--as", "MANUAL"}, "--notes is required"},
		{[]string{"17", "--as", "MANUAL", "--notes", "  "}, "--notes is required"},
		{[]string{"0", "--as", "MANUAL", "--notes", "x"}, `DLQ event id "0"`},
		{[]string{"--as", "MANUAL", "--notes", "x"}, "no event to resolve"},
		{[]string{"17", "--all", "--as", "MANUAL", "--notes", "x"}, "ids or --all, not both"},
		{[]string{"17", "--type", "TX_FAIL", "--as", "MANUAL", "--notes", "x"}, "--type and --job select rows for --all"},
		{[]string{"--all", "--type", "NOPE", "--as", "MANUAL", "--notes", "x"}, `--type "NOPE"`},
		{[]string{"--all", "--job", "01x", "--as", "MANUAL", "--notes", "x"}, `--job "01x"`},
	} {
		parse(c.args...)
		cmdtest.Usage(t, resolveRun(context.Background(), got), c.want)
	}
}

func TestReplayFlags(t *testing.T) {
	db := "/data/vrwx.db"
	f := cmdtest.Factory()
	f.Globals.Yes = true
	var got *ReplayOptions
	parse := func(args ...string) {
		t.Helper()
		cmd := NewCmdReplay(f, &db, func(_ context.Context, o *ReplayOptions) error { got = o; return nil })
		if err := cmdtest.Parse(cmd, args...); err != nil {
			t.Fatal(err)
		}
		got.Config, got.Flow = cmdtest.NoConfig(t), cmdtest.NoFlow(t)
	}
	parse("18", "--signer", "env://R", "--quality", "100", "--work-units", "12", "--reason", "INC-8")
	if ids, err := got.validate(); err != nil || len(ids) != 1 || ids[0] != 18 || got.Send.Signer != "env://R" || got.Send.Reason != "INC-8" || got.Quality != "100" || got.WorkUnits != "12" ||
		got.DB != db || !got.Yes || got.DryRun || got.All {
		t.Fatalf("parsed %v %+v", err, got)
	}
	parse("--all", "--type", "tx_fail", "--signer", "env://R")
	if ids, err := got.validate(); err != nil || ids != nil || !got.All {
		t.Fatalf("--all: %v %v %+v", err, ids, got)
	}
	parse("18", "19", "#18", "--signer", "env://R")
	if ids, err := got.validate(); err != nil || len(ids) != 2 || ids[0] != 18 || ids[1] != 19 {
		t.Fatalf("ids: %v %v", err, ids)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"18"}, "--signer is required"},
		{[]string{"x", "--signer", "env://R"}, `DLQ event id "x"`},
		{[]string{"--signer", "env://R"}, "no event to replay"},
		{[]string{"18", "--all", "--signer", "env://R"}, "ids or --all, not both"},
		{[]string{"--all", "--type", "HASH_MISMATCH", "--signer", "env://R"}, "only TX_FAIL events can be replayed"},
		{[]string{"--all", "--type", "NOPE", "--signer", "env://R"}, `--type "NOPE"`},
		{[]string{"18", "--type", "TX_FAIL", "--signer", "env://R"}, "--type selects rows for --all"},
		{[]string{"--all", "--quality", "100", "--signer", "env://R"}, "--quality and --work-units apply to one event"},
		{[]string{"18", "19", "--work-units", "3", "--signer", "env://R"}, "--quality and --work-units apply to one event"},
		{[]string{"18", "--quality", "0o12", "--signer", "env://R"}, `--quality "0o12" is not a number (expected a non-negative integer: decimal digits, or 0x followed by hex digits)`},
		{[]string{"18", "--work-units", "1_0", "--signer", "env://R"}, `--work-units "1_0"`},
	} {
		parse(c.args...)
		cmdtest.Usage(t, replayRun(context.Background(), got), c.want)
	}
}

func TestStatsFlags(t *testing.T) {
	db := "/data/vrwx.db"
	var got *StatsOptions
	cmd := NewCmdStats(cmdtest.Factory(), &db, func(_ context.Context, o *StatsOptions) error { got = o; return nil })
	if err := cmdtest.Parse(cmd); err != nil || got.DB != db || got.Now() != cmdtest.Now {
		t.Fatalf("stats: %v %+v", err, got)
	}
	if err := cmdtest.Parse(NewCmdStats(cmdtest.Factory(), &db, nil), "extra"); err == nil {
		t.Fatal("dlq stats took an argument")
	}
}

// --quality and --work-units read like every other number: 010 is ten (strconv's
// base 0 would make it eight), 0x0a is ten.
func TestOverridesReadOneNumberForm(t *testing.T) {
	for _, s := range []string{"10", "010", "0x0a"} {
		o, err := (&ReplayOptions{Quality: s}).overrides()
		if err != nil {
			t.Fatalf("--quality %s: %v", s, err)
		}
		if v, err := dlqreplay.ChooseValues(18, dlq.Completion{WorkUnits: new(uint64)}, o); err != nil || v.QualityScore != 10 || v.QualityFrom != "--quality" {
			t.Errorf("--quality %s: %d from %s, %v", s, v.QualityScore, v.QualityFrom, err)
		}
	}
	if _, err := (&ReplayOptions{Quality: "+10"}).overrides(); err == nil {
		t.Errorf("--quality +10 accepted")
	}
}
