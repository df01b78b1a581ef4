package sqlitebackup

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
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
	var entries []Entry
	if loc.IsS3() {
		c, err := s3Client(ctx, opts.S3)
		if err != nil {
			return nil, err
		}
		objs, err := listPrefix(ctx, c, loc)
		if err != nil {
			return nil, err
		}
		byName := map[string]s3Object{}
		var names []string
		for _, o := range objs {
			byName[o.name] = o
			names = append(names, o.name)
		}
		for _, n := range candidates(names) {
			o := byName[n]
			e := Entry{Name: n, Location: Location{Bucket: loc.Bucket, Key: o.key}, Size: o.size, Compressed: strings.HasSuffix(n, ".gz")}
			describeEntry(&e, o.modified)
			entries = append(entries, e)
		}
	} else {
		des, err := os.ReadDir(loc.Path)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("backup directory %s does not exist", loc.Path)
		}
		if err != nil {
			return nil, fmt.Errorf("list %s: %w", loc.Path, err)
		}
		var names []string
		for _, d := range des {
			if d.Type().IsRegular() {
				names = append(names, d.Name())
			}
		}
		for _, n := range candidates(names) {
			p := filepath.Join(loc.Path, n)
			fi, err := os.Stat(p)
			if err != nil {
				continue
			}
			e := Entry{Name: n, Location: Location{Path: p}, Size: fi.Size(), Compressed: strings.HasSuffix(n, ".gz")}
			describeEntry(&e, fi.ModTime())
			entries = append(entries, e)
		}
	}
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
