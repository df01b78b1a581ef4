// Package drill is the disaster-recovery rehearsal: restore the newest backup or
// litestream replica into a scratch directory, verify what came back (integrity,
// migrations, row counts, the newest rows), optionally read the secret store's
// current key from the DR location, and measure the RTO (wall time to a verified
// database) and the RPO (age of the restored position) against their targets. It
// never opens the live database, and it removes the scratch copy.
package drill

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/vrwx/vrwxctl/pkg/apidb"
	"github.com/vrwx/vrwxctl/pkg/sqlitebackup"
)

// The runbook's targets (Disaster Recovery: RTO 15 minutes, RPO 1 hour).
const (
	DefaultRTOTarget = 15 * time.Minute
	DefaultRPOTarget = time.Hour
)

// Options are a drill's inputs and dependencies.
type Options struct {
	// From is what to restore (a backup, the newest backup of a backup location,
	// or a replica); when nil, the newest of the backups at Backups and the replica
	// at Replica is chosen.
	From             *sqlitebackup.Location
	Backups, Replica *sqlitebackup.Location
	// Scratch is the directory the scratch copy is made in (a fresh folder inside
	// it, removed at the end); "" is the system's temporary directory.
	Scratch  string
	Engine   sqlitebackup.ReplicaEngine
	S3Config sqlitebackup.S3Config
	Quick    bool
	// RTOTarget and RPOTarget are the targets (0: the runbook's).
	RTOTarget, RPOTarget time.Duration
	// SignerRef, when set, is the secret store's reference at the DR location;
	// ReadSigner reads its current key's address, Expect is the address it must
	// have ("" when there is nothing to compare with) and ExpectFrom says whose.
	SignerRef          string
	ReadSigner         func(ctx context.Context, ref string) (string, error)
	Expect, ExpectFrom string
	Now                func() time.Time
	Progress           func(sqlitebackup.Progress)
}

// Report is what a drill found. OK is true when the database came back verified
// (and the signer, when asked, was readable and matched); RTOMet and RPOMet say
// whether the targets were met.
type Report struct {
	From    string `json:"from"`
	Kind    string `json:"kind"` // "backup" or "replica"
	Scratch string `json:"scratch"`
	// Position is the time of what was restored: the backup's creation, or the
	// replicated position's; RPO is its age when the drill ended.
	Position  time.Time                `json:"position"`
	TXID      string                   `json:"txid,omitempty"`
	RTO       Duration                 `json:"rto"`
	RTOTarget Duration                 `json:"rtoTarget"`
	RTOMet    bool                     `json:"rtoMet"`
	RPO       Duration                 `json:"rpo"`
	RPOTarget Duration                 `json:"rpoTarget"`
	RPOMet    bool                     `json:"rpoMet"`
	Check     sqlitebackup.CheckResult `json:"check"`
	// Migrations are those the restored database records; MissingMigrations the
	// API's that it lacks.
	Migrations        []string             `json:"migrations"`
	MissingMigrations []string             `json:"missingMigrations"`
	RowCounts         map[string]int64     `json:"rowCounts"`
	NewestRows        map[string]time.Time `json:"newestRows"`
	Signer            *Signer              `json:"signer,omitempty"`
	ScratchRemoved    bool                 `json:"scratchRemoved"`
	OK                bool                 `json:"ok"`
	Problems          []string             `json:"problems"`
}

// Signer is the DR location's secret store as the drill read it.
type Signer struct {
	Ref        string `json:"ref"`
	Address    string `json:"address,omitempty"`
	Expected   string `json:"expected,omitempty"`
	ExpectFrom string `json:"expectedFrom,omitempty"`
	Match      bool   `json:"match"`
	Error      string `json:"error,omitempty"`
}

// Duration is a time.Duration that JSON shows in seconds, with its text beside.
type Duration time.Duration

func (d Duration) MarshalJSON() ([]byte, error) {
	return fmt.Appendf(nil, `{"seconds":%.3f,"text":%q}`, time.Duration(d).Seconds(), time.Duration(d).Round(time.Millisecond).String()), nil
}

// ErrNothingToRestore: no From, and no backup or replica configured.
var ErrNothingToRestore = errors.New("nothing to restore: no backup location or replica")

// Run performs the drill. An error means the drill could not be run as asked (bad
// input, nothing to restore, a restore that could not be made); a database that
// came back but fails a check is a Report with OK false and its Problems.
func Run(ctx context.Context, o Options) (*Report, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	o.RTOTarget = cmp(o.RTOTarget, DefaultRTOTarget)
	o.RPOTarget = cmp(o.RPOTarget, DefaultRPOTarget)
	start := o.Now()
	from, kind, err := o.source(ctx)
	if err != nil {
		return nil, err
	}
	parent := o.Scratch
	if parent == "" {
		parent = os.TempDir()
	}
	scratch, err := os.MkdirTemp(parent, "vrwx-drill-")
	if err != nil {
		return nil, fmt.Errorf("scratch directory in %s: %w", parent, err)
	}
	rep := &Report{From: from.String(), Kind: kind, Scratch: scratch, RTOTarget: Duration(o.RTOTarget), RPOTarget: Duration(o.RPOTarget),
		Migrations: []string{}, MissingMigrations: []string{}, RowCounts: map[string]int64{}, NewestRows: map[string]time.Time{}, Problems: []string{}}
	defer func() {
		rep.ScratchRemoved = os.RemoveAll(scratch) == nil
	}()

	db := scratch + string(os.PathSeparator) + "vrwx.db"
	rr, err := sqlitebackup.Restore(ctx, from, db, sqlitebackup.RestoreOptions{Engine: o.Engine, S3Config: o.S3Config, Quick: o.Quick,
		Now: o.Now, Progress: o.Progress})
	if err != nil {
		return rep, err
	}
	if err := rep.describe(ctx, rr, db); err != nil {
		rep.Problems = append(rep.Problems, err.Error())
	}
	rep.OK = rep.Check.OK && len(rep.MissingMigrations) == 0 && len(rep.Problems) == 0
	end := o.Now()
	rep.RTO = Duration(end.Sub(start))
	rep.RPO = Duration(max(end.Sub(rep.Position), 0))
	rep.RTOMet = rep.RTO <= rep.RTOTarget
	rep.RPOMet = !rep.Position.IsZero() && rep.RPO <= rep.RPOTarget

	if o.SignerRef != "" {
		rep.Signer = &Signer{Ref: o.SignerRef, Expected: o.Expect, ExpectFrom: o.ExpectFrom}
		addr, err := o.ReadSigner(ctx, o.SignerRef)
		switch {
		case err != nil:
			rep.Signer.Error = err.Error()
			rep.Problems = append(rep.Problems, "the secret store at the DR location cannot be read: "+err.Error())
		case o.Expect != "" && !strings.EqualFold(addr, o.Expect):
			rep.Signer.Address = addr
			rep.Problems = append(rep.Problems, fmt.Sprintf("the DR location's current key is %s, %s is %s", addr, o.ExpectFrom, o.Expect))
		default:
			rep.Signer.Address, rep.Signer.Match = addr, true
		}
		rep.OK = rep.OK && rep.Signer.Match
	}
	return rep, nil
}

func cmp(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// source picks what to restore: From, else the newest of the configured backups
// (by the newest backup's time) and replica (by its replicated position).
func (o Options) source(ctx context.Context) (sqlitebackup.Location, string, error) {
	if o.From != nil {
		ok, err := sqlitebackup.IsReplica(ctx, *o.From, sqlitebackup.ListOptions{S3Config: o.S3Config})
		if err != nil {
			return sqlitebackup.Location{}, "", err
		}
		if !ok {
			// A backup location rather than one backup: its newest.
			if e, err := sqlitebackup.Newest(ctx, *o.From, sqlitebackup.ListOptions{S3Config: o.S3Config, Now: o.Now}); err == nil && e != nil {
				return e.Location, "backup", nil
			}
		}
		return *o.From, kindOf(ok), nil
	}
	var best *sqlitebackup.Location
	var bestAt time.Time
	kind := ""
	if o.Backups != nil {
		e, err := sqlitebackup.Newest(ctx, *o.Backups, sqlitebackup.ListOptions{S3Config: o.S3Config, Now: o.Now})
		if err != nil {
			return sqlitebackup.Location{}, "", fmt.Errorf("newest backup in %s: %w", o.Backups, err)
		}
		if e != nil {
			best, bestAt, kind = &e.Location, e.CreatedAt, "backup"
		}
	}
	if o.Replica != nil {
		info, err := sqlitebackup.DescribeReplica(ctx, *o.Replica, o.Engine, o.S3Config)
		if err != nil {
			return sqlitebackup.Location{}, "", err
		}
		if best == nil || info.Latest.After(bestAt) {
			best, kind = o.Replica, "replica"
		}
	}
	if best == nil {
		return sqlitebackup.Location{}, "", ErrNothingToRestore
	}
	return *best, kind, nil
}

func kindOf(replica bool) string {
	if replica {
		return "replica"
	}
	return "backup"
}

// describe fills what the restore verified and reads the newest rows.
func (r *Report) describe(ctx context.Context, rr *sqlitebackup.RestoreReport, db string) error {
	v := rr.Verify
	r.Check, r.RowCounts = rr.Check, rr.RowCounts
	r.Migrations = append(r.Migrations, v.Migrations...)
	r.MissingMigrations = append(r.MissingMigrations, v.MissingMigrations...)
	switch {
	case v.Replica != nil:
		r.Position, r.TXID = v.Replica.At, v.Replica.TXID
	case v.Manifest != nil:
		r.Position = v.Manifest.CreatedAt
	}
	conn, err := apidb.OpenReadOnly(db)
	if err != nil {
		return err
	}
	defer conn.Close()
	if r.NewestRows, err = apidb.NewestRows(ctx, conn); err != nil {
		return err
	}
	if r.Position.IsZero() {
		// A backup without a manifest: its newest row is the best time there is.
		for _, t := range r.NewestRows {
			if t.After(r.Position) {
				r.Position = t
			}
		}
	}
	return nil
}
