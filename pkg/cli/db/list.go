package db

import (
	"context"
	"fmt"
	"time"

	"github.com/charmbracelet/lipgloss"
	"github.com/spf13/cobra"
	"github.com/vrwx/vrwxctl/pkg/cli/cmdutil"
	"github.com/vrwx/vrwxctl/pkg/config"
	"github.com/vrwx/vrwxctl/pkg/errs"
	"github.com/vrwx/vrwxctl/pkg/sqlitebackup"
	"github.com/vrwx/vrwxctl/pkg/ui"
)

// ListJSON is one backup under -o json (db list prints an array, [] when empty).
// Status is "ok" or what is wrong ("no manifest", "checksum mismatch", …).
type ListJSON struct {
	Name       string    `json:"name"`
	Location   string    `json:"location"`
	Size       int64     `json:"size"`
	CreatedAt  time.Time `json:"createdAt"`
	AgeSeconds int64     `json:"ageSeconds"`
	Compressed bool      `json:"compressed"`
	Status     string    `json:"status"`
	Detail     string    `json:"detail,omitempty"`
	Verified   bool      `json:"verified"`
}

// ListOptions are the inputs of db list.
type ListOptions struct {
	IO      *ui.IO
	Config  func() (*config.Config, error)
	Context func(context.Context) (context.Context, context.CancelFunc)
	Now     func() time.Time
	S3      S3Flags

	// Engine reads litestream replicas (nil when vrwxctl-litestream is missing).
	Engine sqlitebackup.ReplicaEngine

	// Location is the argument; "" lists the profile's backup_location.
	Location string
}

// ReplicaListJSON is db list's -o json for a litestream replica (an object, where
// a backup location gives an array): the time range a --timestamp restore can
// reach (earliest to latest), the replicated position's age, its LTX levels and
// snapshots.
type ReplicaListJSON struct {
	Location   string                         `json:"location"`
	Format     string                         `json:"format"`
	Earliest   time.Time                      `json:"earliest"`
	Latest     time.Time                      `json:"latest"`
	AgeSeconds int64                          `json:"ageSeconds"`
	MaxTXID    string                         `json:"maxTxid"`
	Levels     []sqlitebackup.ReplicaLevel    `json:"levels"`
	Snapshots  []sqlitebackup.ReplicaSnapshot `json:"snapshots"`
}

// NewCmdList returns `db list`.
func NewCmdList(f *cmdutil.Factory, s3o *S3Flags, runF func(context.Context, *ListOptions) error) *cobra.Command {
	opts := &ListOptions{IO: f.IO, Config: f.Config, Context: f.Context, Now: f.Now}
	cmd := &cobra.Command{
		Use:   "list [DIR|s3://bucket/prefix]",
		Short: "List backups with size, age and whether they match their manifest",
		Long: `List the backups in a directory or under an S3 prefix, newest first, with size,
age and status. Locally every file is hashed against its manifest; on S3 the
object's size and sha256 metadata are compared with the manifest (no download —
use vrwxctl db verify for the full check). Without an argument it lists the
profile's backup_location (VRWX_BACKUP_LOCATION).

In a directory it also lists what interrupted runs left: temporary files of a
backup or restore that is running (in progress) or was killed (incomplete; the next
backup or restore there removes it, and the listing says when this user cannot),
and the journal of a restore that stopped halfway.

A litestream replica (file:///dir, or a directory or s3:// prefix holding ltx/) is
listed by litestream itself: its LTX levels and snapshots, the time range a
db restore --timestamp can reach, and how old the replicated position is.`,
		Example: `  vrwxctl db list /backups
  vrwxctl db list s3://vrwx-backups/prod -o json
  VRWX_BACKUP_LOCATION=s3://vrwx-backups/prod vrwxctl db list
  # A litestream replica: its snapshots and the time range --timestamp can reach
  vrwxctl db list s3://vrwx-backups/db`,
		Args: cmdutil.MaxArgs(1, "DIR"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Location, opts.S3, opts.Engine = "", *s3o, engine(f)
			if len(args) == 1 {
				opts.Location = args[0]
			}
			return cmdutil.Run(cmd.Context(), opts.Context, opts, runF, listRun)
		},
	}
	opts.Context = dbContext(f, cmd)
	return cmd
}

func listRun(ctx context.Context, opts *ListOptions) error {
	where, origin := opts.Location, ""
	if where == "" {
		cfg, err := opts.Config()
		if err != nil {
			return err
		}
		if where = cfg.String("backup_location"); where == "" {
			return errs.Usagef("db list needs a directory or s3://bucket/prefix: pass one, or set backup_location in the profile (VRWX_BACKUP_LOCATION)")
		}
		origin = cfg.Origin("backup_location")
	}
	loc, err := sqlitebackup.ParseLocation(where)
	if err != nil {
		if origin != "" {
			return errs.Usagef("%s: %v", origin, err)
		}
		return err
	}
	lopts := sqlitebackup.ListOptions{S3Config: opts.S3.config(), Now: opts.Now, Engine: opts.Engine}
	if info, ok, err := sqlitebackup.ListReplica(ctx, loc, lopts); ok || err != nil {
		if err != nil {
			return err
		}
		return listReplica(opts, loc, info)
	}
	entries, err := sqlitebackup.List(ctx, loc, lopts)
	if err != nil {
		return err
	}
	out := make([]ListJSON, 0, len(entries))
	for _, e := range entries {
		out = append(out, ListJSON{Name: e.Name, Location: e.Location.String(), Size: e.Size, CreatedAt: e.CreatedAt.UTC(),
			AgeSeconds: int64(e.Age / time.Second), Compressed: e.Compressed, Status: e.Status, Detail: e.Detail, Verified: e.Verified()})
	}
	if opts.IO.JSONOutput() {
		return opts.IO.WriteJSON(out)
	}
	if len(out) == 0 {
		opts.IO.Infof("no backups in %s", loc)
		return nil
	}
	s := opts.IO.Styles()
	t := ui.NewTable("NAME", "SIZE", "AGE", "STATUS")
	for i, e := range out {
		st := s.OK
		if !e.Verified {
			st = s.Crit
		}
		status := e.Status
		if e.Detail != "" {
			status += ": " + e.Detail
		}
		t.StyledRow([]string{e.Name, formatBytes(e.Size), ui.Duration(entries[i].Age), status}, []*lipgloss.Style{nil, nil, nil, &st})
	}
	t.Render(opts.IO.Out, s)
	return nil
}

func listReplica(opts *ListOptions, loc sqlitebackup.Location, info *sqlitebackup.ReplicaInfo) error {
	out := ReplicaListJSON{Location: loc.String(), Format: "litestream v0.5 (LTX)", Earliest: info.Earliest, Latest: info.Latest,
		AgeSeconds: int64(opts.Now().Sub(info.Latest) / time.Second), MaxTXID: info.MaxTXID, Levels: info.Levels, Snapshots: info.Snapshots}
	if opts.IO.JSONOutput() {
		return opts.IO.WriteJSON(out)
	}
	at := func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05.000Z") }
	fmt.Fprintf(opts.IO.Out, "%s: %s replica, transactions up to %s\n", out.Location, out.Format, out.MaxTXID)
	fmt.Fprintf(opts.IO.Out, "restorable from %s to %s (newest position %s old)\n", at(out.Earliest), at(out.Latest),
		ui.Duration(opts.Now().Sub(info.Latest)))
	s := opts.IO.Styles()
	t := ui.NewTable("LEVEL", "FILES", "SIZE", "TXIDS", "FIRST", "LAST")
	for _, l := range out.Levels {
		t.Row(fmt.Sprint(l.Level), fmt.Sprint(l.Files), formatBytes(l.Size), l.MinTXID+"-"+l.MaxTXID, at(l.First), at(l.Last))
	}
	t.Render(opts.IO.Out, s)
	t = ui.NewTable("SNAPSHOT", "SIZE", "CREATED")
	for _, sn := range out.Snapshots {
		t.Row(sn.MaxTXID, formatBytes(sn.Size), at(sn.CreatedAt))
	}
	t.Render(opts.IO.Out, s)
	return nil
}
