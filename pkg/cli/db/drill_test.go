package db_test

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vrwx/vrwxctl/pkg/cli/clitest"
	"github.com/vrwx/vrwxctl/pkg/cli/db"
	"github.com/vrwx/vrwxctl/pkg/devchain"
	"github.com/vrwx/vrwxctl/pkg/sqlitebackup"
	"github.com/vrwx/vrwxctl/pkg/sqlitebackup/replicatest"
)

// drillJSON is the part of db drill's JSON a scheduled job reads.
type drillJSON struct {
	From           string                    `json:"from"`
	Kind           string                    `json:"kind"`
	Scratch        string                    `json:"scratch"`
	RTO            struct{ Seconds float64 } `json:"rto"`
	RPO            struct{ Seconds float64 } `json:"rpo"`
	RTOMet         bool                      `json:"rtoMet"`
	RPOMet         bool                      `json:"rpoMet"`
	OK             bool                      `json:"ok"`
	ScratchRemoved bool                      `json:"scratchRemoved"`
	RowCounts      map[string]int64          `json:"rowCounts"`
	NewestRows     map[string]time.Time
	Check          struct{ OK bool }
	Signer         *struct {
		Address string
		Match   bool
		Error   string
	}
	Problems []string
}

func fileSum(t *testing.T, path string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

// A drill restores the newest of the profile's backups and litestream replica into
// scratch — here the replica the real litestream keeps of the API's database —
// verifies it and reports RTO and RPO in JSON; nothing stays in scratch and the
// live database is byte for byte what it was. With the clock two hours on, the RPO
// misses its hour (exit 5). A DR signer holding the profile's key matches by
// address; one holding another key fails the drill (exit 1).
func TestDrillRestoresIntoScratchAndMeasuresRTOAndRPO(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	e := clitest.New(t)
	engine := replicatest.Engine(t)
	fx := fixture(t)
	// The backup first, then the replica, whose position is therefore the newer.
	backups := t.TempDir()
	backup(t, e, "--db", fx.Path, "--out", backups, "--quick")
	replica := filepath.Join(t.TempDir(), "replica")
	ls := replicatest.Replicate(t, fx.Path, "file://"+replica)
	loc := sqlitebackup.Location{Path: replica, Replica: true}
	replicatest.WaitFor(ctx, t, engine, loc, sqlitebackup.S3Config{}, func(i *sqlitebackup.ReplicaInfo) bool { return len(i.Snapshots) > 0 })
	ls.Stop(t)

	e.Vars["VRWX_REPLICA"] = "file://" + replica
	e.Vars["VRWX_BACKUP_LOCATION"] = backups
	e.Vars["VRWXCTL_LITESTREAM"] = engine.Path

	// db list of the replica: its snapshots and the range --timestamp can reach.
	var rl db.ReplicaListJSON
	e.MustRun(0, "db", "list", "file://"+replica, "-o", "json").JSON(t, &rl)
	if len(rl.Snapshots) == 0 || rl.Earliest.IsZero() || rl.Latest.Before(rl.Earliest) || len(rl.Levels) == 0 || rl.MaxTXID == "" {
		t.Fatalf("db list of the replica: %+v", rl)
	}
	if r := e.MustRun(0, "db", "list", "file://"+replica); !strings.Contains(r.Stdout, "restorable from ") || !strings.Contains(r.Stdout, "SNAPSHOT") {
		t.Fatalf("db list of the replica:\n%s", r)
	}
	live := counts(t, fx.Path)
	before := fileSum(t, fx.Path)
	beforeDir := dirNames(t, filepath.Dir(fx.Path))
	scratch := t.TempDir()

	var d drillJSON
	r := e.MustRun(0, "db", "drill", "--scratch", scratch, "-o", "json")
	if err := json.Unmarshal([]byte(r.Stdout), &d); err != nil {
		t.Fatalf("%v\n%s", err, r)
	}
	if d.Kind != "replica" || d.From != "file://"+replica || !d.OK || !d.Check.OK || !d.RTOMet || !d.RPOMet || !d.ScratchRemoved ||
		d.RTO.Seconds <= 0 || d.RPO.Seconds <= 0 || len(d.Problems) != 0 || d.NewestRows["dlq_events"].IsZero() {
		t.Fatalf("drill report %+v\n%s", d, r)
	}
	for table, n := range live {
		if d.RowCounts[table] != n {
			t.Fatalf("drill counted %v, the database holds %v", d.RowCounts, live)
		}
	}
	if left := dirNames(t, scratch); left != "" {
		t.Fatalf("the drill left %s in scratch", left)
	}
	if fileSum(t, fx.Path) != before || dirNames(t, filepath.Dir(fx.Path)) != beforeDir {
		t.Fatal("the drill changed the live database or its directory")
	}

	// Two hours later nothing new was replicated: the RPO is missed, a warning.
	e.Now = func() time.Time { return time.Now().Add(2 * time.Hour) }
	r = e.MustRun(5, "db", "drill", "--scratch", scratch, "-o", "json")
	if err := json.Unmarshal([]byte(r.Stdout), &d); err != nil || d.RPOMet || !d.RTOMet || !d.OK || d.RPO.Seconds < 7200 {
		t.Fatalf("drill two hours later: %+v %v\n%s", d, err, r)
	}
	e.Now = nil

	// The backup, named with --from; the DR location's secret holds the profile's key.
	e.Vars["VRWX_SIGNER"] = e.KeyFile("primary.hex", devchain.DevKeyHex(devchain.AccountRelayer), 0o600)
	same := e.KeyFile("dr.hex", devchain.DevKeyHex(devchain.AccountRelayer), 0o600)
	r = e.MustRun(0, "db", "drill", "--from", backups, "--scratch", scratch, "--signer", same)
	if !strings.Contains(r.Stdout, "(backup)") || !strings.Contains(r.Stdout, "= the profile's signer") || !strings.Contains(r.Stderr, "drill passed") {
		t.Fatalf("drill of the backups with a matching DR signer:\n%s", r)
	}
	other := e.KeyFile("dr-other.hex", devchain.DevKeyHex(6), 0o600)
	r = e.MustRun(1, "db", "drill", "--scratch", scratch, "--signer", other, "-o", "json")
	if err := json.Unmarshal([]byte(r.Stdout), &d); err != nil || d.OK || d.Signer == nil || d.Signer.Match || len(d.Problems) != 1 {
		t.Fatalf("drill with another key at the DR location: %+v %v\n%s", d, err, r)
	}
	if fileSum(t, fx.Path) != before {
		t.Fatal("a drill changed the live database")
	}
	delete(e.Vars, "VRWX_REPLICA")
	delete(e.Vars, "VRWX_BACKUP_LOCATION")
	e.MustRun(2, "db", "drill")
}
