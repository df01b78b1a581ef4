package doctor

import (
	"strings"
	"testing"

	"github.com/vrwx/vrwxctl/pkg/sqlitebackup"
)

// Temporary files of killed runs beside the database warn, with the fix that
// removes them: the next backup or restore, or by hand when this user cannot. A
// file a running restore is writing is not a leftover.
func TestLeftoverFilesBesideTheDatabaseWarn(t *testing.T) {
	read := func(files ...sqlitebackup.TempFile) []Check {
		if c, ok := leftoverCheck(files); ok {
			return []Check{c}
		}
		return nil
	}
	running := sqlitebackup.TempFile{Path: "/data/.vrwx-restore-7-1.db.tmp", Size: 3 << 20, Status: sqlitebackup.StatusInProgress}
	if got := read(running); len(got) != 0 {
		t.Fatalf("a running restore's file is reported: %+v", got)
	}
	dead := sqlitebackup.TempFile{Path: "/data/.vrwx-restore-8-2.db.tmp", Size: 5 << 20, Status: sqlitebackup.StatusIncomplete}
	got := read(running, dead)
	if len(got) != 1 || got[0].Level != Warn || got[0].Value != "1 (5 MiB)" || !strings.Contains(got[0].Detail, dead.Path) ||
		!strings.Contains(got[0].Fix, "next vrwxctl db backup or db restore") {
		t.Fatalf("leftover check %+v", got)
	}
	dead.RemoveErr = "directory /data is not writable by this user: permission denied"
	got = read(dead)
	if len(got) != 1 || !strings.Contains(got[0].Detail, "cannot be removed") || !strings.Contains(got[0].Detail, "permission denied") ||
		got[0].Fix != "remove them as their owner (or root): rm "+dead.Path {
		t.Fatalf("leftover check of a file this user cannot remove %+v", got)
	}
}
