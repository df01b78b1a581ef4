package audit

import (
	"context"
	"testing"
	"time"

	"github.com/vrwx/vrwxctl/pkg/cli/cmdutil/cmdtest"
)

func TestListFlags(t *testing.T) {
	var got *ListOptions
	cmd := NewCmdList(cmdtest.Factory(), func(_ context.Context, o *ListOptions) error { got = o; return nil })
	if err := cmdtest.Parse(cmd, "--command", "wallet fund", "--outcome", "mined", "--since", "7d", "--account", "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC", "--limit", "3"); err != nil {
		t.Fatal(err)
	}
	f, err := got.filter()
	if err != nil || f.Command != "wallet fund" || f.Outcome != "mined" || !f.Since.Equal(cmdtest.Now.Add(-7*24*time.Hour)) || f.Account != "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC" || got.Limit != 3 {
		t.Fatalf("parsed %v %+v", err, f)
	}
	for _, s := range []struct {
		in   string
		want time.Time
	}{
		{"90m", cmdtest.Now.Add(-90 * time.Minute)},
		{"2026-02-01", time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)},
		{"2026-02-01T10:00:00Z", time.Date(2026, 2, 1, 10, 0, 0, 0, time.UTC)},
	} {
		if got, err := parseSince(s.in, cmdtest.Now); err != nil || !got.Equal(s.want) {
			t.Errorf("--since %s: %v %v, want %v", s.in, got, err, s.want)
		}
	}
	got.Path = func() string { t.Fatal("the log was read before the input was checked"); return "" }
	got.Outcome = "fine"
	cmdtest.Usage(t, listRun(context.Background(), got), `--outcome "fine"`)
}
