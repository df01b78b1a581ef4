package sqlitebackup

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/vrwx/vrwxctl/pkg/lazy"
)

// ManifestFormat identifies the manifest layout; bump it when a field changes meaning.
const ManifestFormat = "vrwx-sqlite-backup/1"

// ManifestSuffix is appended to a backup's file name to name its manifest.
const ManifestSuffix = ".manifest.json"

// Manifest describes one backup. It is written beside the backup as
// <backup file name>.manifest.json.
type Manifest struct {
	Format string `json:"format"`
	// File is the backup's file name (no directory), as stored.
	File string `json:"file"`
	// Source is the absolute path of the database that was backed up.
	Source string `json:"source"`
	// Method is how the copy was taken: "snapshot", "backup-api" or "vacuum-into".
	Method Method `json:"method"`
	// Size and SHA256 describe the stored file (compressed when Compressed).
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
	// DBSize and DBSHA256 describe the SQLite file itself (equal to Size/SHA256
	// when not compressed).
	DBSize   int64  `json:"db_size"`
	DBSHA256 string `json:"db_sha256"`
	// PageCount and PageSize are the SQLite file's, so PageCount*PageSize == DBSize.
	PageCount     int64  `json:"page_count"`
	PageSize      int64  `json:"page_size"`
	SQLiteVersion string `json:"sqlite_version"`
	// JournalMode is the backup's journal mode: always "delete", meaning the file is
	// self-contained and needs no -wal beside it.
	JournalMode string `json:"journal_mode"`
	// Migrations are the names recorded in _migrations; MissingMigrations those of
	// the expected seven that are absent.
	Migrations        []string         `json:"migrations"`
	MissingMigrations []string         `json:"missing_migrations"`
	RowCounts         map[string]int64 `json:"row_counts"`
	CreatedAt         time.Time        `json:"created_at"`
	// Compressed says whether File is compressed; Compression names the codec.
	Compressed  bool   `json:"compressed"`
	Compression string `json:"compression,omitempty"`
	// Verify is the check run before the backup was published, on what Checked
	// names.
	Verify CheckResult `json:"verify"`
	// Checked is "snapshot" when Verify ran on the snapshot being copied, on a
	// second connection at the same time as the copy (the snapshot method's
	// default), or "copy" when it ran on the copy's file afterwards.
	Checked string `json:"checked"`
	// CopyMillis is the wall-clock time of the copy, including making it
	// self-contained (and, for the snapshot method, hashing it); VerifyMillis that of
	// the check, the hash or the compression, and the fsync, which run side by side
	// after it. For capacity planning.
	CopyMillis   int64 `json:"copy_ms"`
	VerifyMillis int64 `json:"verify_ms"`
}

// What Manifest.Checked says the check ran on.
const (
	CheckedSnapshot = "snapshot"
	CheckedCopy     = "copy"
)

// CheckResult is the outcome of PRAGMA integrity_check or quick_check.
type CheckResult struct {
	Check  string   `json:"check"`  // "integrity_check" or "quick_check"
	OK     bool     `json:"ok"`     // the pragma answered exactly "ok"
	Errors []string `json:"errors"` // the pragma's messages when not ok (at most 100)
}

func (m *Manifest) marshal() ([]byte, error) {
	// Empty lists print as [] rather than null, so scripts see one stable shape.
	out := *m
	if out.Migrations == nil {
		out.Migrations = []string{}
	}
	if out.MissingMigrations == nil {
		out.MissingMigrations = []string{}
	}
	if out.Verify.Errors == nil {
		out.Verify.Errors = []string{}
	}
	b, err := json.MarshalIndent(&out, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode manifest: %w", err)
	}
	return append(b, '\n'), nil
}

func parseManifest(b []byte, where string) (*Manifest, error) {
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("manifest %s is not valid JSON: %w", where, err)
	}
	if m.Format != ManifestFormat {
		return nil, fmt.Errorf("manifest %s has format %q, expected %q", where, m.Format, ManifestFormat)
	}
	if len(m.SHA256) != 64 {
		return nil, fmt.Errorf("manifest %s has no sha256", where)
	}
	return &m, nil
}

// Backup names look like vrwx-20261127T031500Z.db, with -N before .db when two
// backups land in the same second, and .gz when compressed.
var backupName = &lazy.Regexp{Expr: `^vrwx-(\d{8}T\d{6}Z)(?:-(\d+))?\.db(\.gz)?$`}

const nameTimeLayout = "20060102T150405Z"

// BackupName returns the file name for a backup taken at t; n > 0 adds a
// collision suffix; compression "gzip" adds .gz.
func BackupName(t time.Time, n int, compression Compression) string {
	var b strings.Builder
	b.WriteString("vrwx-")
	b.WriteString(t.UTC().Format(nameTimeLayout))
	if n > 0 {
		b.WriteString("-" + strconv.Itoa(n))
	}
	b.WriteString(".db")
	if compression == Gzip {
		b.WriteString(".gz")
	}
	return b.String()
}

// nameOrder parses a backup name into its sort key; ok is false for other names.
func nameOrder(name string) (t time.Time, n int, ok bool) {
	m := backupName.FindStringSubmatch(name)
	if m == nil {
		return time.Time{}, 0, false
	}
	t, err := time.Parse(nameTimeLayout, m[1])
	if err != nil {
		return time.Time{}, 0, false
	}
	if m[2] != "" {
		n, _ = strconv.Atoi(m[2])
	}
	return t, n, true
}

// sortBackupNames orders backup names oldest first.
func sortBackupNames(names []string) {
	sort.Slice(names, func(i, j int) bool {
		ti, ni, _ := nameOrder(names[i])
		tj, nj, _ := nameOrder(names[j])
		if !ti.Equal(tj) {
			return ti.Before(tj)
		}
		if ni != nj {
			return ni < nj
		}
		return names[i] < names[j]
	})
}
