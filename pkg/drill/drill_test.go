package drill_test

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/vrwx/vrwxctl/pkg/apidb/apidbtest"
	"github.com/vrwx/vrwxctl/pkg/drill"
	"github.com/vrwx/vrwxctl/pkg/sqlitebackup"
)

// fakeEngine stands in for litestream: its replica was last written at latest, and
// restoring it yields a copy of db. The real engine is tested with the real
// litestream in pkg/sqlitebackup and pkg/cli/db; here the drill's decisions are.
type fakeEngine struct {
	db     string
	latest time.Time
}

func (f fakeEngine) Describe(context.Context, sqlitebackup.Location, sqlitebackup.S3Config) (*sqlitebackup.ReplicaInfo, error) {
	return &sqlitebackup.ReplicaInfo{Latest: f.latest, Earliest: f.latest.Add(-time.Hour), MaxTXID: "0000000000000007"}, nil
}

func (f fakeEngine) Restore(_ context.Context, _ sqlitebackup.Location, _ sqlitebackup.S3Config, out string, _ time.Time) (*sqlitebackup.ReplicaRestore, error) {
	in, err := os.Open(f.db)
	if err != nil {
		return nil, err
	}
	defer in.Close()
	o, err := os.Create(out)
	if err != nil {
		return nil, err
	}
	defer o.Close()
	_, err = io.Copy(o, in)
	return &sqlitebackup.ReplicaRestore{TXID: "0000000000000007", At: f.latest}, err
}

func TestDrillPicksTheNewestAndJudgesTheTargets(t *testing.T) {
	ctx := context.Background()
	fx, err := apidbtest.BuildFixture(ctx, filepath.Join(t.TempDir(), "vrwx.db"), apidbtest.FixtureOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 11, 27, 3, 0, 0, 0, time.UTC)
	backups := t.TempDir()
	if _, err := sqlitebackup.Backup(ctx, fx.Path, sqlitebackup.Location{Path: backups}, sqlitebackup.BackupOptions{Quick: true, Now: func() time.Time { return t0 }}); err != nil {
		t.Fatal(err)
	}
	replica := sqlitebackup.Location{Path: t.TempDir(), Replica: true}
	base := drill.Options{Backups: &sqlitebackup.Location{Path: backups}, Replica: &replica, Quick: true, Scratch: t.TempDir()}

	for _, tc := range []struct {
		name          string
		replicaAt     time.Time
		now           time.Time
		kind          string
		rpo           time.Duration
		rpoMet, match bool
		signer        string
	}{
		{"replica newer", t0.Add(50 * time.Minute), t0.Add(55 * time.Minute), "replica", 5 * time.Minute, true, true, ""},
		{"backup newer", t0.Add(-time.Hour), t0.Add(30 * time.Minute), "backup", 30 * time.Minute, true, true, ""},
		{"RPO missed", t0.Add(-time.Hour), t0.Add(2 * time.Hour), "backup", 2 * time.Hour, false, true, ""},
		{"DR key differs", t0.Add(50 * time.Minute), t0.Add(55 * time.Minute), "replica", 5 * time.Minute, true, false, "0x00000000000000000000000000000000000000bb"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := base
			o.Engine = fakeEngine{db: fx.Path, latest: tc.replicaAt}
			o.Now = func() time.Time { return tc.now }
			o.SignerRef, o.Expect, o.ExpectFrom = "file:///dr.hex", "0x00000000000000000000000000000000000000aa", "the profile's signer"
			o.ReadSigner = func(context.Context, string) (string, error) {
				if tc.signer != "" {
					return tc.signer, nil
				}
				return "0x00000000000000000000000000000000000000AA", nil
			}
			rep, err := drill.Run(ctx, o)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Kind != tc.kind || time.Duration(rep.RPO) != tc.rpo || rep.RPOMet != tc.rpoMet || !rep.RTOMet || rep.Signer.Match != tc.match ||
				rep.OK != tc.match || !rep.Check.OK || !rep.ScratchRemoved || rep.RowCounts["dlq_events"] == 0 {
				t.Fatalf("%+v", rep)
			}
			if _, err := os.Stat(rep.Scratch); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("scratch %s is still there: %v", rep.Scratch, err)
			}
		})
	}
	if _, err := drill.Run(ctx, drill.Options{Scratch: t.TempDir()}); !errors.Is(err, drill.ErrNothingToRestore) {
		t.Fatalf("a drill with nothing to restore: %v", err)
	}
}
