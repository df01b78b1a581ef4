package sqlitebackup

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/vrwx/vrwxctl/pkg/errs"
	"github.com/vrwx/vrwxctl/pkg/redact"
)

// Object metadata keys (sent as x-amz-meta-*). The checksum travels with the object
// so a bucket listing can be checked against manifests without downloading.
const (
	metaSHA256   = "sha256"
	metaDBSHA256 = "db-sha256"
	metaFormat   = "vrwx-backup-format"
)

// uploadParallelism is how many parts are in flight at once: enough to fill a link,
// few enough not to hold much memory (parts stream from the file).
const uploadParallelism = 4

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

func objectExists(ctx context.Context, c *s3.Client, bucket, key string) (bool, error) {
	_, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err == nil {
		return true, nil
	}
	if isNotFound(err) {
		return false, nil
	}
	return false, fmt.Errorf("head s3://%s/%s: %w", bucket, key, err)
}

// uploadBackup stores the finished file under the prefix with a time-stamped name
// that no existing object has, then its manifest. Names are checked first and the
// writes are conditional (If-None-Match: *), so even a race never replaces a backup.
func uploadBackup(ctx context.Context, opts BackupOptions, prefix Location, stored string, m *Manifest) (Location, error) {
	c := opts.S3
	for n := 0; n < 1000; n++ {
		name := BackupName(m.CreatedAt, n, Compression(m.Compression))
		loc := prefix.child(name)
		exists, err := objectExists(ctx, c, loc.Bucket, loc.Key)
		if err != nil {
			return Location{}, err
		}
		if exists {
			continue
		}
		mexists, err := objectExists(ctx, c, loc.Bucket, loc.Key+ManifestSuffix)
		if err != nil {
			return Location{}, err
		}
		if mexists {
			continue
		}
		m.File = name
		err = uploadFile(ctx, c, loc, stored, m, opts.S3PartSize, opts.Progress)
		if isPreconditionFailed(err) {
			continue
		}
		if err != nil {
			return Location{}, err
		}
		body, err := m.marshal()
		if err != nil {
			return Location{}, err
		}
		_, err = c.PutObject(ctx, &s3.PutObjectInput{
			Bucket: aws.String(loc.Bucket), Key: aws.String(loc.Key + ManifestSuffix),
			Body: bytes.NewReader(body), ContentLength: aws.Int64(int64(len(body))),
			ContentType: aws.String("application/json"), IfNoneMatch: aws.String("*"),
		})
		if err != nil {
			// A backup without its manifest would never verify; take it back.
			_, _ = c.DeleteObject(context.WithoutCancel(ctx), &s3.DeleteObjectInput{Bucket: aws.String(loc.Bucket), Key: aws.String(loc.Key)})
			return Location{}, fmt.Errorf("upload manifest %s%s: %w", loc, ManifestSuffix, err)
		}
		return loc, nil
	}
	return Location{}, errs.Failedf("no free backup name under %s for %s", prefix, m.CreatedAt.Format(time.RFC3339))
}

func uploadFile(ctx context.Context, c *s3.Client, loc Location, file string, m *Manifest, partSize int64, progress func(Progress)) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	meta := map[string]string{metaSHA256: m.SHA256, metaDBSHA256: m.DBSHA256, metaFormat: ManifestFormat}
	contentType := "application/vnd.sqlite3"
	if m.Compressed {
		contentType = "application/gzip"
	}
	size := m.Size
	if size <= partSize {
		_, err := c.PutObject(ctx, &s3.PutObjectInput{
			Bucket: aws.String(loc.Bucket), Key: aws.String(loc.Key), Body: io.NewSectionReader(f, 0, size),
			ContentLength: aws.Int64(size), ContentType: aws.String(contentType), Metadata: meta, IfNoneMatch: aws.String("*"),
		})
		if err != nil {
			return fmt.Errorf("upload %s: %w", loc, err)
		}
		progress(Progress{Phase: "upload", Done: size, Total: size})
		return nil
	}
	return uploadMultipart(ctx, c, loc, f, size, partSize, contentType, meta, progress)
}

// uploadMultipart uploads f in parts and completes the upload; on any failure it
// aborts the upload so no partial object and no orphaned parts remain.
func uploadMultipart(ctx context.Context, c *s3.Client, loc Location, f *os.File, size, partSize int64, contentType string, meta map[string]string, progress func(Progress)) (err error) {
	created, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{
		Bucket: aws.String(loc.Bucket), Key: aws.String(loc.Key), ContentType: aws.String(contentType), Metadata: meta,
	})
	if err != nil {
		return fmt.Errorf("start multipart upload %s: %w", loc, err)
	}
	defer func() {
		if err != nil {
			_, _ = c.AbortMultipartUpload(context.WithoutCancel(ctx), &s3.AbortMultipartUploadInput{
				Bucket: aws.String(loc.Bucket), Key: aws.String(loc.Key), UploadId: created.UploadId,
			})
		}
	}()
	nParts := int((size + partSize - 1) / partSize)
	parts := make([]types.CompletedPart, nParts)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu       sync.Mutex
		firstErr error
		done     int64
		wg       sync.WaitGroup
	)
	next := make(chan int)
	for w := 0; w < uploadParallelism; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				off := int64(i) * partSize
				n := min(partSize, size-off)
				out, err := c.UploadPart(ctx, &s3.UploadPartInput{
					Bucket: aws.String(loc.Bucket), Key: aws.String(loc.Key), UploadId: created.UploadId,
					PartNumber: aws.Int32(int32(i + 1)), Body: io.NewSectionReader(f, off, n), ContentLength: aws.Int64(n),
				})
				mu.Lock()
				if err != nil {
					if firstErr == nil {
						firstErr = fmt.Errorf("upload part %d of %s: %w", i+1, loc, err)
						cancel()
					}
				} else {
					parts[i] = types.CompletedPart{ETag: out.ETag, PartNumber: aws.Int32(int32(i + 1))}
					done += n
					progress(Progress{Phase: "upload", Done: done, Total: size})
				}
				mu.Unlock()
			}
		}()
	}
feed:
	for i := 0; i < nParts; i++ {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	_, err = c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{
		Bucket: aws.String(loc.Bucket), Key: aws.String(loc.Key), UploadId: created.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: parts}, IfNoneMatch: aws.String("*"),
	})
	if err != nil {
		return fmt.Errorf("complete multipart upload %s: %w", loc, err)
	}
	return nil
}

// downloadObject streams an object into a new file at dst and returns its metadata.
func downloadObject(ctx context.Context, c *s3.Client, loc Location, dst string, progress func(Progress)) (map[string]string, error) {
	out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(loc.Bucket), Key: aws.String(loc.Key)})
	if err != nil {
		if isNotFound(err) {
			return nil, errs.Usagef("backup %s does not exist", redact.Mask(loc.String()))
		}
		return nil, fmt.Errorf("download %s: %w", loc, err)
	}
	defer out.Body.Close()
	f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, err
	}
	total := aws.ToInt64(out.ContentLength)
	pr := &progressReader{r: out.Body, fn: func(n int64) { progress(Progress{Phase: "download", Done: n, Total: total}) }}
	n, err := io.Copy(f, pr)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("download %s: %w", loc, describeIOError(err, filepath.Dir(dst)))
	}
	if total > 0 && n != total {
		return nil, fmt.Errorf("download %s: got %d of %d bytes", loc, n, total)
	}
	return out.Metadata, nil
}

func getSmallObject(ctx context.Context, c *s3.Client, loc Location) ([]byte, error) {
	out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(loc.Bucket), Key: aws.String(loc.Key)})
	if err != nil {
		return nil, err
	}
	defer out.Body.Close()
	return io.ReadAll(io.LimitReader(out.Body, 1<<20))
}

type s3Object struct {
	name     string
	key      string
	size     int64
	modified time.Time
}

// listPrefix lists the objects directly under a prefix (not in sub-"folders").
func listPrefix(ctx context.Context, c *s3.Client, prefix Location) ([]s3Object, error) {
	p := joinKey(prefix.Key, "")
	var objs []s3Object
	pager := s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{Bucket: aws.String(prefix.Bucket), Prefix: aws.String(p), Delimiter: aws.String("/")})
	for pager.HasMorePages() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list %s: %w", prefix, err)
		}
		for _, o := range page.Contents {
			key := aws.ToString(o.Key)
			objs = append(objs, s3Object{name: strings.TrimPrefix(key, p), key: key, size: aws.ToInt64(o.Size), modified: aws.ToTime(o.LastModified)})
		}
	}
	sort.Slice(objs, func(i, j int) bool { return objs[i].name < objs[j].name })
	return objs, nil
}
