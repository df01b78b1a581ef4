// Package litereplica reads litestream replicas with litestream itself: its replica
// clients (file and S3) and its restore, pinned in go.mod (v0.5.18). It reads the
// LTX replicas litestream v0.5.x writes; a v0.3.x replica (generations of
// snapshots and WAL segments) is recognised and refused with ErrV3.
//
// Only cmd/vrwxctl-litestream imports it: litestream registers Prometheus metrics
// and builds tables when its packages initialise (2-3 ms, 13.7 MB of binary), which
// vrwxctl's start-up must not pay. vrwxctl runs that helper for the few commands
// that read a replica (sqlitebackup.ExecEngine).
package litereplica

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"sort"
	"time"

	"github.com/benbjohnson/litestream"
	lsfile "github.com/benbjohnson/litestream/file"
	_ "github.com/benbjohnson/litestream/s3" // the s3:// replica client factory
	"github.com/superfly/ltx"

	"github.com/vrwx/vrwxctl/pkg/litereplica/wire"
)

// Target names a replica (the helper's TARGET-JSON).
type Target = wire.Target

// Errors a caller decides on.
var (
	// ErrV3: the location holds a litestream v0.3.x replica.
	ErrV3 = errors.New("a litestream v0.3.x replica")
	// ErrEmpty: no LTX file at all.
	ErrEmpty = errors.New("no litestream replica")
	// ErrNotReachable: the point in time is outside what the replica holds.
	ErrNotReachable = errors.New("the point in time is not in the replica")
)

// v3Client is the part of litestream's clients that reads v0.3.x replicas; only
// looked at to recognise one.
type v3Client interface {
	GenerationsV3(ctx context.Context) ([]string, error)
}

// ltxOnly hides a client's v0.3.x methods from litestream's restore, which would
// otherwise restore a v0.3.x generation it prefers: this package reads LTX only.
type ltxOnly struct{ litestream.ReplicaClient }

func open(ctx context.Context, t Target) (litestream.ReplicaClient, error) {
	var c litestream.ReplicaClient
	if t.Bucket != "" {
		q := url.Values{}
		if t.Endpoint != "" {
			q.Set("endpoint", t.Endpoint)
		}
		if t.Region != "" {
			q.Set("region", t.Region)
		}
		if t.PathStyle {
			q.Set("forcePathStyle", "true")
		}
		u := url.URL{Scheme: "s3", Host: t.Bucket, Path: "/" + t.Key, RawQuery: q.Encode()}
		var err error
		if c, err = litestream.NewReplicaClientFromURL(u.String()); err != nil {
			return nil, fmt.Errorf("%s: %w", t, err)
		}
	} else {
		c = lsfile.NewReplicaClient(t.Path)
	}
	c.SetLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err := c.Init(ctx); err != nil {
		return nil, fmt.Errorf("%s: %w", t, err)
	}
	return c, nil
}

// Level is one LTX level of a replica.
type Level = wire.Level

// Snapshot is one full snapshot (level 9) of a replica.
type Snapshot = wire.Snapshot

// Info describes a replica: its levels and snapshots, and the time range a restore
// can reach (Earliest to Latest: the oldest snapshot's time and the newest LTX
// file's, which is the replicated position).
type Info struct {
	Target    Target     `json:"target"`
	Format    string     `json:"format"` // "ltx" (litestream v0.5.x)
	Levels    []Level    `json:"levels"`
	Snapshots []Snapshot `json:"snapshots"`
	Earliest  time.Time  `json:"earliest"`
	Latest    time.Time  `json:"latest"`
	MaxTXID   string     `json:"maxTxid"`
}

// Describe reads a replica's LTX files (listings only, nothing downloaded).
func Describe(ctx context.Context, t Target) (*Info, error) {
	c, err := open(ctx, t)
	if err != nil {
		return nil, err
	}
	info := &Info{Target: t, Format: "ltx", Levels: []Level{}, Snapshots: []Snapshot{}}
	var maxTXID ltx.TXID
	for level := 0; level <= litestream.SnapshotLevel; level++ {
		itr, err := c.LTXFiles(ctx, level, 0, false)
		if err != nil {
			return nil, fmt.Errorf("%s: list level %d: %w", t, level, err)
		}
		var l Level
		var lmin, lmax ltx.TXID
		for itr.Next() {
			f := itr.Item()
			if l.Files == 0 || f.MinTXID < lmin {
				lmin = f.MinTXID
			}
			lmax = max(lmax, f.MaxTXID)
			if l.Files == 0 || f.CreatedAt.Before(l.First) {
				l.First = f.CreatedAt
			}
			if f.CreatedAt.After(l.Last) {
				l.Last = f.CreatedAt
			}
			l.Files++
			l.Size += f.Size
			if level == litestream.SnapshotLevel {
				info.Snapshots = append(info.Snapshots, Snapshot{MaxTXID: f.MaxTXID.String(), Size: f.Size, CreatedAt: f.CreatedAt.UTC()})
			}
		}
		if err := itr.Close(); err != nil {
			return nil, fmt.Errorf("%s: list level %d: %w", t, level, err)
		}
		if l.Files == 0 {
			continue
		}
		l.Level, l.MinTXID, l.MaxTXID = level, lmin.String(), lmax.String()
		l.First, l.Last = l.First.UTC(), l.Last.UTC()
		info.Levels = append(info.Levels, l)
		maxTXID = max(maxTXID, lmax)
		if l.Last.After(info.Latest) {
			info.Latest = l.Last
		}
		if level == litestream.SnapshotLevel {
			info.Earliest = l.First
		}
	}
	if len(info.Levels) == 0 {
		if v3, ok := c.(v3Client); ok {
			if gens, err := v3.GenerationsV3(ctx); err == nil && len(gens) > 0 {
				return nil, fmt.Errorf("%s holds %d generation(s) of %w", t, len(gens), ErrV3)
			}
		}
		return nil, fmt.Errorf("%s: %w: no LTX file under it", t, ErrEmpty)
	}
	// A restore can start from a snapshot, or from the first transaction, whose
	// LTX file holds every page.
	for _, l := range info.Levels {
		if l.MinTXID == ltx.TXID(1).String() && (info.Earliest.IsZero() || l.First.Before(info.Earliest)) {
			info.Earliest = l.First
		}
	}
	sort.Slice(info.Snapshots, func(i, j int) bool { return info.Snapshots[i].CreatedAt.Before(info.Snapshots[j].CreatedAt) })
	info.MaxTXID = maxTXID.String()
	return info, nil
}

// Restored says what Restore wrote: the replicated position it reached.
type Restored struct {
	Output string `json:"output"`
	TXID   string `json:"txid"`
	// At is the time of the newest LTX file restored: the database is as it was
	// then (with --timestamp, the newest before it).
	At    time.Time `json:"at"`
	Files int       `json:"files"`
	Size  int64     `json:"size"`
}

// Restore writes the replica's latest state (or its state at the point in time at)
// to output, which must not exist, with litestream's own restore.
func Restore(ctx context.Context, t Target, output string, at time.Time) (*Restored, error) {
	c, err := open(ctx, t)
	if err != nil {
		return nil, err
	}
	if _, err := Describe(ctx, t); err != nil {
		return nil, err
	}
	r := litestream.NewReplicaWithClient(nil, ltxOnly{c})
	plan, err := litestream.CalcRestorePlan(ctx, r.Client, 0, at, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if errors.Is(err, litestream.ErrTxNotAvailable) {
		return nil, fmt.Errorf("%s: %w (nothing was replicated before %s)", t, ErrNotReachable, at.UTC().Format(time.RFC3339))
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", t, err)
	}
	opt := litestream.NewRestoreOptions()
	opt.OutputPath, opt.Timestamp = output, at
	if err := r.Restore(ctx, opt); err != nil {
		return nil, fmt.Errorf("restore %s: %w", t, err)
	}
	last := plan[len(plan)-1]
	out := &Restored{Output: output, TXID: last.MaxTXID.String(), Files: len(plan)}
	for _, f := range plan {
		out.At = maxTime(out.At, f.CreatedAt.UTC())
	}
	if fi, err := os.Stat(output); err == nil {
		out.Size = fi.Size()
	}
	return out, nil
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
