package sqlitebackup_test

import (
	"context"
	"database/sql"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
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
	// The S3 tests' SDK clients read credentials from the process environment, as
	// the CLI's do. They are set once for the whole process, never changed by a
	// test, so those tests can run in parallel with the others.
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID": "AKIAVRWXTEST", "AWS_SECRET_ACCESS_KEY": "vrwx-test-secret",
		"AWS_CONFIG_FILE": "/nonexistent/vrwx-aws-config", "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/vrwx-aws-credentials",
	} {
		os.Setenv(k, v)
	}
	code := m.Run()
	apidbtest.Cleanup()
	cleanupBench()
	if fixtureDir != "" {
		os.RemoveAll(fixtureDir)
	}
	os.Exit(code)
}

// Fixtures are built once per size and test process, then copied for each test:
// building one inserts rows one by one, copying it is a file copy.
var (
	fixtureMu    sync.Mutex
	fixtureDir   string
	fixtureBuilt = map[int64]*pristine{}
)

// pristine is the process's untouched fixture of one size.
type pristine struct {
	once sync.Once
	path string
	err  error
}

// fixture builds an API database of about size bytes (0: the small default) in a
// fresh directory and returns its path.
func fixture(t testing.TB, size int64) string {
	t.Helper()
	src, err := builtFixture(size)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "data", "vrwx.db")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	copyFile(t, src, path)
	return path
}

// builtFixture returns the process's pristine fixture of the given size, building
// it on first use (fixtures of other sizes build meanwhile). BuildFixture
// checkpoints and closes it, so the one file is the whole database.
func builtFixture(size int64) (string, error) {
	fixtureMu.Lock()
	if fixtureDir == "" {
		d, err := os.MkdirTemp("", "vrwx-fixtures-")
		if err != nil {
			fixtureMu.Unlock()
			return "", err
		}
		fixtureDir = d
	}
	f, ok := fixtureBuilt[size]
	if !ok {
		f = &pristine{path: filepath.Join(fixtureDir, fmt.Sprintf("vrwx-%d.db", size))}
		fixtureBuilt[size] = f
	}
	fixtureMu.Unlock()
	f.once.Do(func() {
		if _, f.err = apidbtest.BuildFixture(context.Background(), f.path, apidbtest.FixtureOptions{TargetBytes: size}); f.err != nil {
			return
		}
		for _, side := range []string{"-wal", "-shm", "-journal"} {
			if _, err := os.Stat(f.path + side); err == nil {
				f.err = fmt.Errorf("fixture %s left a %s file: copying the main file alone would lose rows", f.path, side)
			}
		}
	})
	return f.path, f.err
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
// aws-sdk-go-v2 client for it, built the way the CLI builds one, with bucket made,
// and the server's URL.
func fakeS3(t testing.TB, bucket string) (*s3.Client, string) {
	t.Helper()
	backend := s3mem.New()
	srv := httptest.NewServer(gofakes3.New(backend).Server())
	t.Cleanup(srv.Close)
	c, err := sqlitebackup.NewS3Client(context.Background(), sqlitebackup.S3Config{Region: "us-east-1", Endpoint: srv.URL, PathStyle: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	return c, srv.URL
}
