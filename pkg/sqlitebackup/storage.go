package sqlitebackup

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// Storage is where backups are kept: one local directory or one S3 prefix. Every
// name is a plain file name directly under it. Backup, List, Verify, Restore and
// Prune reach backups and manifests only through this interface; dirStorage and
// s3Storage are its two implementations, and nothing outside them asks which kind
// it has (litestream's ReplicaClient, with its file/ and s3/ packages, is the model).
type Storage interface {
	// Location is the storage itself; Locate names one object in it.
	Location() Location
	Locate(name string) Location
	// List returns the objects directly under the storage (not in sub-folders),
	// sorted by name. A storage that does not exist is an error wrapping
	// fs.ErrNotExist.
	List(ctx context.Context) ([]Object, error)
	// Stat describes one object: an error wrapping fs.ErrNotExist when there is
	// none, errNotAnObject when the name is a folder.
	Stat(ctx context.Context, name string) (Object, error)
	// Open streams an object's bytes (fs.ErrNotExist when there is none).
	Open(ctx context.Context, name string) (io.ReadCloser, error)
	// Write stores the complete local file at path as name and never replaces an
	// object: fs.ErrExist when the name is taken, decided atomically where the
	// storage can (a hard link; S3's If-None-Match). path may be gone afterwards (a
	// directory links the file into place when it is already inside it).
	Write(ctx context.Context, name, path string, opts WriteOptions) error
	// Delete removes an object; one that is already gone is not an error.
	Delete(ctx context.Context, name string) error
	// Digest is the sha256 (hex) of an object's stored bytes, as cheaply as the
	// storage can tell it: a directory hashes the file, S3 answers with the checksum
	// Write recorded in the object's metadata ("" when it has none) without a
	// download.
	Digest(ctx context.Context, name string) (string, error)
	// Staging is the directory a file bound for this storage is best built in (so
	// that Write can link it into place), or "" when any local directory will do.
	Staging() string
	// Leftovers are what interrupted runs left in the storage (temporary files and
	// restore journals), as List entries; a storage that cannot tell returns none.
	Leftovers(ctx context.Context) []Entry
}

// Object is one stored file.
type Object struct {
	Name    string
	Size    int64
	ModTime time.Time
	// Path is the object's file on this machine when the storage is a local
	// directory ("" otherwise): a reader may use the file in place instead of
	// streaming it through Open.
	Path string
	// SHA256 is the checksum Write recorded with the object (S3 metadata; "" when
	// the storage keeps none or the object has none). Only Stat fills it.
	SHA256 string
}

// WriteOptions describe what Write stores besides the bytes.
type WriteOptions struct {
	ContentType string
	// SHA256 and DBSHA256 are recorded with the object where the storage keeps
	// metadata, so a listing can be checked against manifests without a download.
	SHA256, DBSHA256 string
	// Progress is told the bytes stored so far (Phase "upload"); a local link
	// reports nothing.
	Progress func(Progress)
}

// errNotAnObject: the name is a folder (a directory, or an S3 key ending in '/').
var errNotAnObject = errors.New("not a file")

// s3Access says how to reach S3 for s3:// locations. Nothing is loaded until an S3
// location is used, so local work never reads the AWS configuration.
type s3Access struct {
	client   *s3.Client // used as given when set
	config   S3Config   // else a client is built from this on first use
	partSize int64      // multipart part size for uploads (0: defaultPartSize)
}

// openStorage returns the storage of a directory or S3 prefix. It is the one place
// that tells the kinds apart, as litestream's replica URL registry does.
func openStorage(loc Location, s3a s3Access) Storage {
	if loc.IsS3() {
		return newS3Storage(loc, s3a)
	}
	return &dirStorage{dir: loc.Path}
}

// destination opens the storage a backup goes to, and the fixed file name the
// operator chose ("" to name it by time).
func destination(src string, dst Location, keep int, a s3Access) (Storage, string, error) {
	if dst.IsS3() {
		return openStorage(dst, a), "", nil
	}
	return newDirDestination(src, dst.Path, keep)
}

// splitObject opens the storage that holds the object loc names and returns the
// object's name in it ("" when loc names a folder rather than an object).
func splitObject(loc Location, s3a s3Access) (Storage, string) {
	parent, name := loc.split()
	return openStorage(parent, s3a), name
}

// readSmall reads a small object (a manifest) whole, at most 1 MiB.
func readSmall(ctx context.Context, st Storage, name string) ([]byte, error) {
	rc, err := st.Open(ctx, name)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(io.LimitReader(rc, 1<<20))
}

func isNotExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }
