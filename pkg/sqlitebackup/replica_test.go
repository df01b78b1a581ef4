package sqlitebackup_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vrwx/vrwxctl/pkg/apidb"
	"github.com/vrwx/vrwxctl/pkg/apidb/apidbtest"
	"github.com/vrwx/vrwxctl/pkg/errs"
	"github.com/vrwx/vrwxctl/pkg/sqlitebackup"
	"github.com/vrwx/vrwxctl/pkg/sqlitebackup/replicatest"
)

// markedRows inserts n DLQ rows whose reason is the batch's name, in one
// transaction, and returns when it is committed.
func markedRows(t *testing.T, db *sql.DB, batch string, n int) {
	t.Helper()
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if _, err := tx.Exec(`INSERT INTO dlq_events(type, payload, reason, created_at) VALUES ('UPLOAD_FAIL', '{}', ?, ?)`,
			batch, time.Now().UnixMilli()+int64(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}

func batchRows(t *testing.T, path, batch string) int {
	t.Helper()
	n, err := strconv.Atoi(sqlite3(t, path, `SELECT count(*) FROM dlq_events WHERE reason = '`+batch+`'`))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// The real litestream replicates the API's database while a writer commits 200
// transactions a second, to a file replica and to an S3 server. Restored from the
// replica by litestream's own restore (through vrwxctl-litestream), the latest
// state holds every row the database holds once litestream has stopped, and passes
// integrity_check; restored at a time between two batches of writes it holds
// exactly the first batch. A restore over the database while litestream still
// holds it is refused, naming litestream.
func TestRestoreFromALitestreamReplica(t *testing.T) {
	t.Parallel()
	engine := replicatest.Engine(t)
	for _, kind := range []string{"file", "s3"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			db := fixture(t, 0)
			var loc sqlitebackup.Location
			var s3c sqlitebackup.S3Config
			var url string
			if kind == "file" {
				dir := filepath.Join(t.TempDir(), "replica")
				url, loc = "file://"+dir, sqlitebackup.Location{Path: dir, Replica: true}
			} else {
				_, endpoint := fakeS3(t, "vrwx-replicas")
				s3c = sqlitebackup.S3Config{Endpoint: endpoint, PathStyle: true, Region: "us-east-1"}
				url = "s3://vrwx-replicas/prod/db?endpoint=" + endpoint + "&forcePathStyle=true&region=us-east-1"
				var err error
				if loc, err = sqlitebackup.ParseLocation("s3://vrwx-replicas/prod/db"); err != nil {
					t.Fatal(err)
				}
			}
			ls := replicatest.Replicate(t, db, url)
			w, err := apidbtest.StartWriter(ctx, db, 200, 7_000_000)
			if err != nil {
				t.Fatal(err)
			}
			defer w.Kill()
			first := replicatest.WaitFor(ctx, t, engine, loc, s3c, func(i *sqlitebackup.ReplicaInfo) bool { return len(i.Snapshots) > 0 })

			conn, err := apidb.Open(db)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			markedRows(t, conn, "batch-1", 40)
			// Batch 1 is replicated once litestream has written a transaction past
			// the one it had when the batch committed; the moment after that lies
			// between the two batches.
			seen := replicatest.WaitFor(ctx, t, engine, loc, s3c, func(i *sqlitebackup.ReplicaInfo) bool { return i.MaxTXID > first.MaxTXID })
			replicatest.WaitFor(ctx, t, engine, loc, s3c, func(i *sqlitebackup.ReplicaInfo) bool { return i.MaxTXID > seen.MaxTXID })
			between := time.Now()
			markedRows(t, conn, "batch-2", 25)
			after := replicatest.WaitFor(ctx, t, engine, loc, s3c, func(i *sqlitebackup.ReplicaInfo) bool { return i.Latest.After(between) })
			if err := w.WaitCommits(ctx, 50); err != nil {
				t.Fatal(err)
			}

			// litestream holds the database: a restore over it is refused, naming it.
			_, err = sqlitebackup.Restore(ctx, loc, db, sqlitebackup.RestoreOptions{Engine: engine, S3Config: s3c})
			wantKind(t, err, errs.Refused, "pid "+strconv.Itoa(ls.Pid()))

			if _, errs, err := w.Stop(); err != nil || len(errs) > 0 {
				t.Fatalf("the writer failed: %v %v", err, errs)
			}
			conn.Close()
			ls.Stop(t)
			if after.Earliest.After(between) || !after.Latest.After(between) {
				t.Fatalf("the replica's range %s..%s does not hold the moment between the batches %s", after.Earliest, after.Latest, between)
			}

			latest := filepath.Join(t.TempDir(), "vrwx.db")
			rep, err := sqlitebackup.Restore(ctx, loc, latest, sqlitebackup.RestoreOptions{Engine: engine, S3Config: s3c})
			if err != nil {
				t.Fatalf("%v\nlitestream:\n%s", err, ls.Log())
			}
			if !rep.Check.OK || rep.Check.Check != "integrity_check" || rep.Verify.Replica == nil || len(rep.Verify.MissingMigrations) != 0 {
				t.Fatalf("restore of the latest state: %+v %+v", rep.Check, rep.Verify)
			}
			if got := sqlite3(t, latest, "PRAGMA integrity_check"); got != "ok" {
				t.Fatalf("sqlite3 integrity_check of the restored database: %s", got)
			}
			if got, want := oracleCounts(t, latest), oracleCounts(t, db); !sameCounts(got, want) {
				t.Fatalf("restored %v rows, the database holds %v", got, want)
			}
			if got, want := sqlite3(t, latest, ".sha3sum"), sqlite3(t, db, ".sha3sum"); got != want {
				t.Fatalf("the restored content differs from the database's")
			}

			pit := filepath.Join(t.TempDir(), "vrwx.db")
			rep, err = sqlitebackup.Restore(ctx, loc, pit, sqlitebackup.RestoreOptions{Engine: engine, S3Config: s3c, At: between})
			if err != nil {
				t.Fatal(err)
			}
			if b1, b2 := batchRows(t, pit, "batch-1"), batchRows(t, pit, "batch-2"); b1 != 40 || b2 != 0 || !rep.Check.OK {
				t.Fatalf("restored at %s (between the batches): %d rows of batch 1, %d of batch 2; check %+v", between, b1, b2, rep.Check)
			}
			if !rep.Verify.Replica.At.Before(between) {
				t.Errorf("restored position at %s, not before %s", rep.Verify.Replica.At, between)
			}
			if left := dirNames(t, filepath.Dir(pit)); strings.Join(left, ",") != "vrwx.db" {
				t.Errorf("the restore left %v", left)
			}
		})
	}
}

// A point in time before the replica's first snapshot, a --timestamp for a backup,
// an empty replica and a missing helper are each refused with what to do.
func TestReplicaRestoreRefusals(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	engine := replicatest.Engine(t)
	db := fixture(t, 0)
	dir := filepath.Join(t.TempDir(), "replica")
	ls := replicatest.Replicate(t, db, "file://"+dir)
	loc := sqlitebackup.Location{Path: dir, Replica: true}
	info := replicatest.WaitFor(ctx, t, engine, loc, sqlitebackup.S3Config{}, func(i *sqlitebackup.ReplicaInfo) bool { return len(i.Snapshots) > 0 })
	ls.Stop(t)
	target := filepath.Join(t.TempDir(), "vrwx.db")

	_, err := sqlitebackup.Restore(ctx, loc, target, sqlitebackup.RestoreOptions{Engine: engine, At: info.Earliest.Add(-time.Hour)})
	wantKind(t, err, errs.Usage, "not in the replica")
	_, err = sqlitebackup.Restore(ctx, loc, target, sqlitebackup.RestoreOptions{At: info.Latest})
	wantKind(t, err, errs.Failed, "vrwxctl-litestream")
	empty := t.TempDir()
	_, err = sqlitebackup.Restore(ctx, sqlitebackup.Location{Path: empty, Replica: true}, target, sqlitebackup.RestoreOptions{Engine: engine})
	wantKind(t, err, errs.Failed, "holds no litestream replica")

	bk := backupTo(t, db, t.TempDir(), sqlitebackup.BackupOptions{Quick: true})
	_, err = sqlitebackup.Restore(ctx, bk.Location, target, sqlitebackup.RestoreOptions{Engine: engine, At: info.Latest})
	wantKind(t, err, errs.Usage, "not a litestream replica")
	// A plain directory holding a replica is recognised by its layout.
	rep, err := sqlitebackup.Restore(ctx, sqlitebackup.Location{Path: dir}, target, sqlitebackup.RestoreOptions{Engine: engine})
	if err != nil || !rep.Check.OK {
		t.Fatalf("restore from the replica's directory: %v %+v", err, rep)
	}
	// A litestream v0.3.x replica is recognised by its layout and refused.
	v3 := t.TempDir()
	if err := os.MkdirAll(filepath.Join(v3, "generations", "0123456789abcdef", "snapshots"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(v3, "generations", "0123456789abcdef", "snapshots", "00000000.snapshot.lz4"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = sqlitebackup.Restore(ctx, sqlitebackup.Location{Path: v3}, target, sqlitebackup.RestoreOptions{Engine: engine})
	wantKind(t, err, errs.Usage, "litestream v0.3.x replica")
}
