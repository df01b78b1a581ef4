package sqlitebackup_test

import (
	"context"
	"database/sql"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/vrwx/vrwxctl/pkg/apidb"
	"github.com/vrwx/vrwxctl/pkg/apidb/apidbtest"
	"github.com/vrwx/vrwxctl/pkg/errs"
	"github.com/vrwx/vrwxctl/pkg/sqlitebackup"
)

func TestMain(m *testing.M) {
	if spec := os.Getenv(memoryOpEnv); spec != "" {
		os.Exit(runMemoryOp(spec))
	}
	code := m.Run()
	apidbtest.Cleanup()
	cleanupBench()
	os.Exit(code)
}

// fixture builds an API database of about size bytes (0: the small default) in a
// fresh directory and returns its path.
func fixture(t testing.TB, size int64) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "data", "vrwx.db")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := apidbtest.BuildFixture(context.Background(), path, apidbtest.FixtureOptions{TargetBytes: size}); err != nil {
		t.Fatal(err)
	}
	return path
}

// needSQLite3 returns the sqlite3 CLI, the test oracle. In CI it must be installed.
func needSQLite3(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("sqlite3")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("sqlite3 CLI is required in CI as the test oracle: %v", err)
		}
		t.Skip("sqlite3 CLI not installed (apt-get install sqlite3); it is the oracle for this test")
	}
	return p
}

// sqlite3 runs the sqlite3 CLI on a database and returns its trimmed output.
func sqlite3(t testing.TB, args ...string) string {
	t.Helper()
	out, err := exec.Command(needSQLite3(t), args...).CombinedOutput()
	if err != nil {
		t.Fatalf("sqlite3 %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// oracleCounts returns the sqlite3 CLI's row count for every API table.
func oracleCounts(t testing.TB, db string) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	for _, table := range apidb.ExpectedTables() {
		n, err := strconv.ParseInt(sqlite3(t, db, `SELECT count(*) FROM "`+table+`"`), 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		out[table] = n
	}
	return out
}

func sameCounts(a, b map[string]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func wantKind(t testing.TB, err error, kind errs.Kind, contains ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want kind %d", kind)
	}
	if got := errs.KindOf(err); got != kind {
		t.Fatalf("error kind = %d, want %d: %v", got, kind, err)
	}
	for _, c := range contains {
		if !strings.Contains(err.Error(), c) {
			t.Errorf("error %q does not mention %q", err, c)
		}
	}
}

func dirNames(t testing.TB, dir string) []string {
	t.Helper()
	des, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, d := range des {
		names = append(names, d.Name())
	}
	return names
}

func openRO(t testing.TB, path string) *sql.DB {
	t.Helper()
	db, err := apidb.OpenReadOnly(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// fakeS3 starts an in-process S3-compatible server (gofakes3) and returns a real
// aws-sdk-go-v2 client for it, built the way the CLI builds one, with bucket made.
func fakeS3(t testing.TB, bucket string) (*s3.Client, *s3mem.Backend) {
	t.Helper()
	backend := s3mem.New()
	srv := httptest.NewServer(gofakes3.New(backend).Server())
	t.Cleanup(srv.Close)
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIAVRWXTEST")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "vrwx-test-secret")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	c, err := sqlitebackup.NewS3Client(context.Background(), sqlitebackup.S3Config{Region: "us-east-1", Endpoint: srv.URL, PathStyle: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	return c, backend
}
