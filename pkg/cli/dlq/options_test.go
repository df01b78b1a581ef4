package dlq

import (
	"context"
	"testing"

	"github.com/vrwx/vrwxctl/pkg/cli/cmdutil/cmdtest"
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
	id, rt, err := got.validate()
	if err != nil || id != 17 || rt != "MANUAL" || got.Notes != "INC-77" || !got.DryRun || !got.Yes {
		t.Fatalf("parsed %v %+v", err, got)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"17", "--as", "RETRIED", "--notes", "x"}, `--as "RETRIED"`},
		{[]string{"17", "--as", "MANUAL"}, "--notes is required"},
		{[]string{"17", "--as", "MANUAL", "--notes", "  "}, "--notes is required"},
		{[]string{"0", "--as", "MANUAL", "--notes", "x"}, `DLQ event id "0"`},
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
	if id, err := got.validate(); err != nil || id != 18 || got.Send.Signer != "env://R" || got.Send.Reason != "INC-8" || got.Quality != "100" || got.WorkUnits != "12" ||
		got.DB != db || !got.Yes || got.DryRun {
		t.Fatalf("parsed %v %+v", err, got)
	}
	parse("18")
	cmdtest.Usage(t, replayRun(context.Background(), got), "--signer is required")
	parse("x", "--signer", "env://R")
	cmdtest.Usage(t, replayRun(context.Background(), got), `DLQ event id "x"`)
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
