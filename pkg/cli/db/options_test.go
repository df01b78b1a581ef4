package db

import (
	"context"
	"testing"

	"github.com/vrwx/vrwxctl/pkg/cli/cmdutil/cmdtest"
	"github.com/vrwx/vrwxctl/pkg/sqlitebackup"
)

func TestBackupFlags(t *testing.T) {
	f := cmdtest.Factory()
	f.Globals.DryRun = true
	s3 := &S3Flags{Endpoint: "http://127.0.0.1:9000", PathStyle: true, Region: "eu-west-1"}
	var got *BackupOptions
	parse := func(args ...string) {
		t.Helper()
		cmd := NewCmdBackup(f, s3, func(_ context.Context, o *BackupOptions) error { got = o; return nil })
		if err := cmdtest.Parse(cmd, args...); err != nil {
			t.Fatal(err)
		}
		got.Config = cmdtest.NoConfig(t)
	}
	parse("--db", "/data/vrwx.db", "--out", "s3://vrwx-backups/prefix", "--compress", "gzip", "--keep", "14", "--quick", "--method", "vacuum-into")
	dst, comp, method, err := got.validate()
	if err != nil || !dst.IsS3() || comp != sqlitebackup.Compression("gzip") || method != sqlitebackup.MethodVacuumInto ||
		got.Keep != 14 || !got.KeepSet || !got.Quick || got.DB != "/data/vrwx.db" || !got.DryRun || got.S3 != *s3 {
		t.Fatalf("parsed %v %+v", err, got)
	}
	parse("--out", "/backups")
	if got.KeepSet || got.Keep != 0 || got.Method != string(sqlitebackup.MethodSnapshot) || got.CheckCopy || got.Compress != "none" {
		t.Fatalf("defaults %+v", got)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{nil, "--out is required"},
		{[]string{"--out", "/b", "--keep", "0"}, "keep"},
		{[]string{"--out", "/b", "--compress", "zstd"}, "zstd"},
		{[]string{"--out", "/b", "--method", "cp"}, "cp"},
		// Refused at once, before the configuration, the database or the network.
		{[]string{"--out", "s3://Vrwx_Backups/prod"}, `"Vrwx_Backups" is not an S3 bucket name`},
	} {
		parse(c.args...)
		cmdtest.Usage(t, backupRun(context.Background(), got), c.want)
	}
}

func TestRestoreVerifyListFlags(t *testing.T) {
	f := cmdtest.Factory()
	f.Globals.Yes = true
	s3 := &S3Flags{Region: "us-east-2"}
	var r *RestoreOptions
	cmd := NewCmdRestore(f, s3, func(_ context.Context, o *RestoreOptions) error { r = o; return nil })
	if err := cmdtest.Parse(cmd, "--from", "/b/vrwx-1.db", "--db", "/data/vrwx.db", "--force", "--quick", "--allow-no-manifest"); err != nil ||
		r.From != "/b/vrwx-1.db" || r.DB != "/data/vrwx.db" || !r.Force || !r.Quick || !r.AllowNoManifest || !r.Yes || r.DryRun || r.S3.Region != "us-east-2" {
		t.Fatalf("restore: %v %+v", err, r)
	}
	r.Config, r.From = cmdtest.NoConfig(t), ""
	cmdtest.Usage(t, restoreRun(context.Background(), r), "--from is required")

	var v *VerifyOptions
	cmd = NewCmdVerify(f, s3, func(_ context.Context, o *VerifyOptions) error { v = o; return nil })
	if err := cmdtest.Parse(cmd, "s3://b/k.db.gz", "--quick", "--allow-no-manifest"); err != nil ||
		v.Location != "s3://b/k.db.gz" || !v.Quick || !v.AllowNoManifest || v.S3.Region != "us-east-2" {
		t.Fatalf("verify: %v %+v", err, v)
	}
	var l *ListOptions
	cmd = NewCmdList(f, s3, func(_ context.Context, o *ListOptions) error { l = o; return nil })
	if err := cmdtest.Parse(cmd, "/backups"); err != nil || l.Location != "/backups" || l.S3.Region != "us-east-2" {
		t.Fatalf("list: %v %+v", err, l)
	}
	if err := cmdtest.Parse(cmd); err != nil || l.Location != "" {
		t.Fatalf("db list without a location (the profile's backup_location): %v %+v", err, l)
	}
	if err := cmdtest.Parse(NewCmdList(f, s3, nil), "/a", "/b"); err == nil {
		t.Fatal("db list with two locations was accepted")
	}
}
