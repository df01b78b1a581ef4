package doctor

import (
	"fmt"
	"strings"

	"github.com/vrwx/vrwxctl/pkg/sqlitebackup"
)

// leftoverCheck warns about temporary files that killed backups or restores left
// beside the database (a 1 GB database leaves 1 GB each); ok is false when there are
// none. Files of a run still going are not counted.
func leftoverCheck(files []sqlitebackup.TempFile) (Check, bool) {
	var size int64
	var paths, stuck []string
	for _, f := range files {
		if f.Status != sqlitebackup.StatusIncomplete {
			continue
		}
		size += f.Size
		paths = append(paths, f.Path)
		if f.RemoveErr != "" {
			stuck = append(stuck, f.Path+": "+f.RemoveErr)
		}
	}
	if len(paths) == 0 {
		return Check{}, false
	}
	c := Check{Name: "leftover files", Level: Warn, Value: fmt.Sprintf("%d (%d MiB)", len(paths), size>>20),
		Detail: "left by killed backups or restores: " + strings.Join(paths, ", "),
		Fix:    "the next vrwxctl db backup or db restore in that directory removes them"}
	if len(stuck) > 0 {
		c.Detail = "cannot be removed by this user: " + strings.Join(stuck, "; ")
		c.Fix = "remove them as their owner (or root): rm " + strings.Join(paths, " ")
	}
	return c, true
}
