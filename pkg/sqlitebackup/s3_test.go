package sqlitebackup_test

import (
	"bytes"
	"context"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/vrwx/vrwxctl/pkg/errs"
	"github.com/vrwx/vrwxctl/pkg/sqlitebackup"
)

// Backup → list → verify → restore through the real aws-sdk-go-v2 S3 client against
// an in-process S3-compatible server. The first backup is larger than the part size,
// so it goes up as a multipart upload.
func TestS3RoundTrip(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	client, _ := fakeS3(t, "vrwx-backups")
	db := fixture(t, 12<<20)
	prefix, err := sqlitebackup.ParseLocation("s3://vrwx-backups/prod/db")
	if err != nil {
		t.Fatal(err)
	}
	at := func(day int) func() time.Time {
		return func() time.Time { return time.Date(2026, 11, day, 3, 15, 0, 0, time.UTC) }
	}
	var uploaded []string
	opts := sqlitebackup.BackupOptions{S3: client, S3PartSize: 5 << 20, StagingDir: t.TempDir(),
		Progress: func(p sqlitebackup.Progress) {
			if p.Phase == "upload" {
				uploaded = append(uploaded, itoa(int(p.Done)))
			}
		}}
	opts.Now = at(25)
	big, err := sqlitebackup.Backup(ctx, db, prefix, opts)
	if err != nil {
		t.Fatal(err)
	}
	if big.Location.String() != "s3://vrwx-backups/prod/db/vrwx-20261125T031500Z.db" {
		t.Errorf("location = %s", big.Location)
	}
	if len(uploaded) < 3 {
		t.Errorf("a %d-byte backup with 5 MiB parts reported %d part uploads", big.Manifest.Size, len(uploaded))
	}
	opts.Now, opts.Compression = at(26), sqlitebackup.Gzip
	small, err := sqlitebackup.Backup(ctx, db, prefix, opts)
	if err != nil {
		t.Fatal(err)
	}
	// Same second again: a new name, never a replaced object.
	again, err := sqlitebackup.Backup(ctx, db, prefix, opts)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(again.Location.Key, "vrwx-20261126T031500Z-1.db.gz") {
		t.Errorf("second backup in the same second = %s", again.Location)
	}

	// The object carries its checksum as metadata, equal to the manifest's.
	head, err := client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("vrwx-backups"), Key: aws.String(big.Location.Key)})
	if err != nil {
		t.Fatal(err)
	}
	if head.Metadata["sha256"] != big.Manifest.SHA256 || aws.ToInt64(head.ContentLength) != big.Manifest.Size {
		t.Errorf("object metadata %v, length %d; manifest sha256 %s, size %d", head.Metadata, aws.ToInt64(head.ContentLength), big.Manifest.SHA256, big.Manifest.Size)
	}
	// The staging copies are gone.
	if names := dirNames(t, opts.StagingDir); len(names) != 0 {
		t.Errorf("staging dir still holds %v", names)
	}

	entries, err := sqlitebackup.List(ctx, prefix, sqlitebackup.ListOptions{S3: client})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name+"|"+e.Status)
	}
	if got := strings.Join(names, ","); got != "vrwx-20261126T031500Z-1.db.gz|ok,vrwx-20261126T031500Z.db.gz|ok,vrwx-20261125T031500Z.db|ok" {
		t.Errorf("List = %s", got)
	}

	for _, loc := range []sqlitebackup.Location{big.Location, small.Location} {
		rep, err := sqlitebackup.Verify(ctx, loc, sqlitebackup.VerifyOptions{S3: client, StagingDir: t.TempDir()})
		if err != nil || !rep.OK || !rep.ChecksumOK || !rep.Check.OK {
			t.Fatalf("Verify(%s) = %+v, %v", loc, rep, err)
		}
	}

	target := filepath.Join(t.TempDir(), "vrwx.db")
	rep, err := sqlitebackup.Restore(ctx, big.Location, target, sqlitebackup.RestoreOptions{S3: client})
	if err != nil {
		t.Fatal(err)
	}
	if !sameCounts(rep.RowCounts, big.Manifest.RowCounts) || !sameCounts(oracleCounts(t, target), big.Manifest.RowCounts) {
		t.Errorf("restored counts %v, manifest %v", rep.RowCounts, big.Manifest.RowCounts)
	}
	if got, want := sqlite3(t, target, ".sha3sum"), sqlite3(t, db, ".sha3sum"); got != want {
		t.Errorf("restored content differs from the source: %s vs %s", got, want)
	}
	if got := strings.Join(dirNames(t, filepath.Dir(target)), ","); got != "vrwx.db" {
		t.Errorf("restore left %s", got)
	}

	// An object replaced behind our back (say, by a tool that kept the name) is
	// caught by List's metadata comparison and by Verify's download and hash.
	body, _ := io.ReadAll(io.LimitReader(bytes.NewReader(make([]byte, 1<<20)), 1<<20))
	if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("vrwx-backups"), Key: aws.String(small.Location.Key), Body: bytes.NewReader(body)}); err != nil {
		t.Fatal(err)
	}
	entries, _ = sqlitebackup.List(ctx, prefix, sqlitebackup.ListOptions{S3: client})
	for _, e := range entries {
		if e.Name == "vrwx-20261126T031500Z.db.gz" && e.Verified() {
			t.Errorf("List says the replaced object verifies: %+v", e)
		}
	}
	_, err = sqlitebackup.Verify(ctx, small.Location, sqlitebackup.VerifyOptions{S3: client, StagingDir: t.TempDir()})
	wantKind(t, err, errs.Failed, "does not verify")
	_, err = sqlitebackup.Restore(ctx, small.Location, target, sqlitebackup.RestoreOptions{S3: client})
	wantKind(t, err, errs.Refused, "does not verify")

	// Retention on S3 keeps the newest and takes manifests along.
	pruned, err := sqlitebackup.Prune(ctx, prefix, 1, client)
	if err != nil || len(pruned) != 2 {
		t.Fatalf("Prune = %v, %v", pruned, err)
	}
	out, err := client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("vrwx-backups"), Prefix: aws.String("prod/db/")})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, o := range out.Contents {
		keys = append(keys, aws.ToString(o.Key))
	}
	if got := strings.Join(keys, ","); got != "prod/db/vrwx-20261126T031500Z-1.db.gz,prod/db/vrwx-20261126T031500Z-1.db.gz.manifest.json" {
		t.Errorf("after prune: %s", got)
	}

	_, err = sqlitebackup.Verify(ctx, prefix, sqlitebackup.VerifyOptions{S3: client})
	wantKind(t, err, errs.Usage)
	_, err = sqlitebackup.Restore(ctx, sqlitebackup.Location{Bucket: "vrwx-backups", Key: "prod/db/nope.db"}, target, sqlitebackup.RestoreOptions{S3: client})
	wantKind(t, err, errs.Usage, "does not exist")
}
