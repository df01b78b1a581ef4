package sqlitebackup

import (
	"context"
	"errors"
)

// Newest returns the most recent backup in a directory or under an S3 prefix, from
// the listing alone (one directory read or one ListObjects page walk): its time
// comes from its name (vrwx-YYYYMMDD-HHMMSS…), else the file's modification time.
// Nothing is downloaded or hashed, so a status check can afford it; List and Verify
// check the bytes. It returns nil when there is no backup.
func Newest(ctx context.Context, loc Location, opts ListOptions) (*Entry, error) {
	if opts.Now == nil {
		return nil, errors.New("sqlitebackup.Newest: no clock")
	}
	st := openStorage(loc, opts.access())
	objs, err := listObjects(ctx, st)
	if err != nil {
		return nil, err
	}
	entries := listed(objs, st)
	var newest *Entry
	for i := range entries {
		if newest == nil || entries[i].CreatedAt.After(newest.CreatedAt) {
			newest = &entries[i]
		}
	}
	if newest != nil {
		newest.Age = opts.Now().Sub(newest.CreatedAt)
	}
	return newest, nil
}
