package sqlitebackup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sort"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

// Object metadata keys (sent as x-amz-meta-*). The checksum travels with the object
// so a bucket listing can be checked against manifests without downloading.
const (
	metaSHA256   = "sha256"
	metaDBSHA256 = "db-sha256"
	metaFormat   = "vrwx-backup-format"
)

// The uploader is the SDK's transfer manager (feature/s3/transfermanager, which
// supersedes the deprecated feature/s3/manager). It reads every part into a buffer
// of its own (uploadParallelism+1 of them, allocated up front, plus the first part),
// so its memory is bounded by the part size, never by the file's: S3's minimum of
// 5 MiB and two parts in flight hold about 20 MiB (TestMemoryIsFlatInTheDatabaseSize
// measures it). It raises the part size by itself when 10,000 parts would not cover
// the file (beyond about 48 GiB).
const (
	uploadParallelism = 2
	defaultPartSize   = 5 << 20
)

// s3Storage keeps backups as objects under one S3 prefix.
type s3Storage struct {
	bucket, prefix string
	access         s3Access
	partSize       int64

	once   sync.Once
	client *s3.Client
	err    error
}

func newS3Storage(loc Location, a s3Access) *s3Storage {
	part := a.partSize
	if part == 0 {
		part = defaultPartSize
	}
	return &s3Storage{bucket: loc.Bucket, prefix: strings.Trim(loc.Key, "/"), access: a, partSize: part}
}

// c is the S3 client: the caller's, or one built from the configuration the first
// time it is needed.
func (s *s3Storage) c(ctx context.Context) (*s3.Client, error) {
	s.once.Do(func() {
		if s.client = s.access.client; s.client == nil {
			s.client, s.err = NewS3Client(ctx, s.access.config)
		}
	})
	return s.client, s.err
}

func (s *s3Storage) key(name string) string { return joinKey(s.prefix, name) }

func (s *s3Storage) Location() Location          { return Location{Bucket: s.bucket, Key: s.prefix} }
func (s *s3Storage) Locate(name string) Location { return Location{Bucket: s.bucket, Key: s.key(name)} }
func (s *s3Storage) Staging() string             { return "" }

func (s *s3Storage) Leftovers(ctx context.Context) []Entry { return nil }

func (s *s3Storage) List(ctx context.Context) ([]Object, error) {
	c, err := s.c(ctx)
	if err != nil {
		return nil, err
	}
	p := joinKey(s.prefix, "")
	var objs []Object
	pager := s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{Bucket: aws.String(s.bucket), Prefix: aws.String(p), Delimiter: aws.String("/")})
	for pager.HasMorePages() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list %s: %w", s.Location(), err)
		}
		for _, o := range page.Contents {
			key := aws.ToString(o.Key)
			objs = append(objs, Object{Name: strings.TrimPrefix(key, p), Size: aws.ToInt64(o.Size), ModTime: aws.ToTime(o.LastModified)})
		}
	}
	sort.Slice(objs, func(i, j int) bool { return objs[i].Name < objs[j].Name })
	return objs, nil
}

func (s *s3Storage) Stat(ctx context.Context, name string) (Object, error) {
	if name == "" || strings.HasSuffix(name, "/") {
		return Object{}, fmt.Errorf("%s: %w", s.Locate(name), errNotAnObject)
	}
	c, err := s.c(ctx)
	if err != nil {
		return Object{}, err
	}
	out, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(s.key(name))})
	if isNotFound(err) {
		// A "folder": objects under name/ (a litestream replica's ltx/, say).
		l, lerr := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(s.bucket), Prefix: aws.String(s.key(name) + "/"), MaxKeys: aws.Int32(1)})
		if lerr == nil && len(l.Contents) > 0 {
			return Object{}, fmt.Errorf("%s: %w", s.Locate(name), errNotAnObject)
		}
	}
	if err != nil {
		return Object{}, s3Err("head", s.Locate(name), err)
	}
	return Object{Name: name, Size: aws.ToInt64(out.ContentLength), ModTime: aws.ToTime(out.LastModified), SHA256: out.Metadata[metaSHA256]}, nil
}

func (s *s3Storage) Open(ctx context.Context, name string) (io.ReadCloser, error) {
	c, err := s.c(ctx)
	if err != nil {
		return nil, err
	}
	out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(s.key(name))})
	if err != nil {
		return nil, s3Err("download", s.Locate(name), err)
	}
	return out.Body, nil
}

// Write uploads the file with If-None-Match: * (on the single PUT, or on the
// multipart upload's completion), so even a race never replaces an object; the
// transfer manager aborts a multipart upload that fails, leaving no parts behind.
func (s *s3Storage) Write(ctx context.Context, name, path string, opts WriteOptions) error {
	c, err := s.c(ctx)
	if err != nil {
		return err
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	meta := map[string]string{metaFormat: ManifestFormat}
	if opts.SHA256 != "" {
		meta[metaSHA256], meta[metaDBSHA256] = opts.SHA256, opts.DBSHA256
	}
	tm := transfermanager.New(c, func(o *transfermanager.Options) {
		o.PartSizeBytes, o.MultipartUploadThreshold, o.Concurrency = s.partSize, s.partSize, uploadParallelism
		// The client's own choice (NewS3Client asks for checksums only where the
		// API requires them when an endpoint is overridden), which the transfer
		// manager would otherwise replace with its default on every request.
		o.RequestChecksumCalculation = c.Options().RequestChecksumCalculation
		if opts.Progress != nil {
			o.ObjectProgressListeners.Register(uploadProgress(opts.Progress))
		}
	})
	loc := s.Locate(name)
	_, err = tm.UploadObject(ctx, &transfermanager.UploadObjectInput{
		Bucket: aws.String(s.bucket), Key: aws.String(loc.Key), Body: f, ContentLength: aws.Int64(fi.Size()),
		ContentType: aws.String(opts.ContentType), Metadata: meta, IfNoneMatch: aws.String("*"),
	})
	if isPreconditionFailed(err) {
		return fs.ErrExist
	}
	if err != nil {
		return fmt.Errorf("upload %s: %w", loc, err)
	}
	return nil
}

// uploadProgress reports the transfer manager's byte counts as "upload" progress.
type uploadProgress func(Progress)

func (p uploadProgress) OnObjectBytesTransferred(_ context.Context, e *transfermanager.ObjectBytesTransferredEvent) {
	p(Progress{Phase: "upload", Done: e.BytesTransferred, Total: e.TotalBytes})
}

func (s *s3Storage) Delete(ctx context.Context, name string) error {
	c, err := s.c(ctx)
	if err != nil {
		return err
	}
	if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(s.key(name))}); err != nil {
		return s3Err("delete", s.Locate(name), err)
	}
	return nil
}

func (s *s3Storage) Digest(ctx context.Context, name string) (string, error) {
	o, err := s.Stat(ctx, name)
	return o.SHA256, err
}

// s3Err names the operation and the object, and makes a missing object an error
// that wraps fs.ErrNotExist.
func s3Err(op string, loc Location, err error) error {
	if isNotFound(err) {
		return fmt.Errorf("%s %s: %w", op, loc, fs.ErrNotExist)
	}
	return fmt.Errorf("%s %s: %w", op, loc, err)
}

func isNotFound(err error) bool {
	var re *awshttp.ResponseError
	if errors.As(err, &re) && re.HTTPStatusCode() == 404 {
		return true
	}
	var nf *types.NotFound
	var nk *types.NoSuchKey
	return errors.As(err, &nf) || errors.As(err, &nk)
}

func isPreconditionFailed(err error) bool {
	var ae smithy.APIError
	if errors.As(err, &ae) && (ae.ErrorCode() == "PreconditionFailed" || ae.ErrorCode() == "ConditionalRequestConflict") {
		return true
	}
	var re *awshttp.ResponseError
	return errors.As(err, &re) && re.HTTPStatusCode() == 412
}
