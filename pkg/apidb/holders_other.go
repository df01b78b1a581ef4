//go:build !unix

package apidb

import (
	"context"

	"github.com/vrwx/vrwxctl/pkg/errs"
)

// Holders cannot see other processes' SQLite locks on this platform, so it says so
// rather than report the database unused; Restore then refuses unless forced.
func Holders(ctx context.Context, dbPath string) ([]Holder, error) {
	return nil, errs.Refusedf("cannot tell whether another process has %s open on this platform", dbPath).
		Wrap(ErrInUse).WithFix("stop the API first; a forced restore skips this check")
}
