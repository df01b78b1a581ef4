// Package apidbtest is test support for the VRWX API's database: fixtures that fill
// a real file with realistic rows (BuildFixture, and Grow for the benchmark's large
// databases), and a stand-in for the API in a separate process (StartWriter) so tests
// of backup, restore and DLQ tooling face real concurrent writes and real file locks,
// not goroutines that share this process's locks. Only tests and scripts import it.
package apidbtest

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

const writerPkg = "github.com/vrwx/vrwxctl/pkg/apidb/internal/writer"

var (
	buildMu  sync.Mutex
	buildBin string
)

// WriterBinary builds the writer program into a temporary directory the first time
// it is needed after start or after Cleanup, and returns its path. It takes no
// context on purpose: with a cold build cache the build can outlast one test's
// timeout, and a build cut short would fail every later test in the process.
//
// It builds with `go run -exec cp`: go run keeps linked executables in the build
// cache, so the test processes of several packages (and later runs) share one link;
// -exec hands the cached executable to cp, which copies it into the directory.
func WriterBinary() (string, error) {
	buildMu.Lock()
	defer buildMu.Unlock()
	if buildBin != "" {
		return buildBin, nil
	}
	dir, err := os.MkdirTemp("", "vrwx-writer-")
	if err != nil {
		return "", fmt.Errorf("build writer: %w", err)
	}
	bin := filepath.Join(dir, "writer")
	cmd := exec.Command("go", "run", "-exec", "cp", writerPkg, bin)
	if out, err := cmd.CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return "", fmt.Errorf("build writer: go run -exec cp %s: %w\n%s", writerPkg, err, out)
	}
	buildBin = bin
	return bin, nil
}

// Cleanup removes the built writer binary (from TestMain after m.Run, or from a
// test's t.Cleanup where TestMain belongs to another harness); a later
// WriterBinary builds it again from the build cache.
func Cleanup() {
	buildMu.Lock()
	defer buildMu.Unlock()
	if buildBin != "" {
		os.RemoveAll(filepath.Dir(buildBin))
		buildBin = ""
	}
}

// Commit is one transaction the writer reported as committed.
type Commit struct {
	Seq      int64
	DLQID    int64
	JobCompl int64
	JobID    string
	Latency  time.Duration
}

// Writer is a running writer process.
type Writer struct {
	Pid     int
	JobBase int64

	cmd    *exec.Cmd
	stdin  io.WriteCloser
	mu     sync.Mutex
	commit []Commit
	errs   []string
	done   chan struct{}
	stderr strings.Builder
}

// StartWriter starts a writer process committing txPerSecond transactions per second
// (each inserts one dlq_events row and one job_completions row, so twice as many rows)
// into the database at path, using job ids from jobBase+1 up. It returns once the
// writer has opened the database.
func StartWriter(ctx context.Context, path string, txPerSecond int, jobBase int64) (*Writer, error) {
	bin, err := WriterBinary()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "-db", path, "-rate", strconv.Itoa(txPerSecond), "-job-base", strconv.FormatInt(jobBase, 10))
	w := &Writer{cmd: cmd, JobBase: jobBase, done: make(chan struct{})}
	cmd.Stderr = &w.stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if w.stdin, err = cmd.StdinPipe(); err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start writer: %w", err)
	}
	w.Pid = cmd.Process.Pid
	ready := make(chan struct{})
	go w.read(stdout, ready)
	select {
	case <-ready:
		return w, nil
	case <-w.done:
		_ = cmd.Wait()
		return nil, fmt.Errorf("writer exited before it was ready: %s", w.stderr.String())
	case <-ctx.Done():
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return nil, fmt.Errorf("writer did not become ready: %w", ctx.Err())
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return nil, fmt.Errorf("writer did not become ready within 30s")
	}
}

func (w *Writer) read(r io.Reader, ready chan struct{}) {
	defer close(w.done)
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		switch f[0] {
		case "ready":
			close(ready)
		case "ok":
			if len(f) != 5 {
				continue
			}
			var c Commit
			c.Seq, _ = strconv.ParseInt(f[1], 10, 64)
			c.DLQID, _ = strconv.ParseInt(f[2], 10, 64)
			c.JobCompl, _ = strconv.ParseInt(f[3], 10, 64)
			us, _ := strconv.ParseInt(f[4], 10, 64)
			c.Latency = time.Duration(us) * time.Microsecond
			c.JobID = strconv.FormatInt(w.JobBase+c.Seq, 10)
			w.mu.Lock()
			w.commit = append(w.commit, c)
			w.mu.Unlock()
		case "err":
			w.mu.Lock()
			w.errs = append(w.errs, sc.Text())
			w.mu.Unlock()
		}
	}
}

// Commits returns the transactions committed so far, in commit order.
func (w *Writer) Commits() []Commit {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]Commit(nil), w.commit...)
}

// Errors returns the errors the writer reported so far.
func (w *Writer) Errors() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.errs...)
}

// WaitCommits blocks until at least n transactions are committed.
func (w *Writer) WaitCommits(ctx context.Context, n int) error {
	for {
		if len(w.Commits()) >= n {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("writer committed %d of %d transactions: %w", len(w.Commits()), n, ctx.Err())
		case <-w.done:
			return fmt.Errorf("writer exited after %d of %d transactions: %s", len(w.Commits()), n, w.stderr.String())
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// Stop asks the writer to finish (closes its stdin), waits for it and returns its
// commits and reported errors. A non-nil error means the process itself failed.
func (w *Writer) Stop() ([]Commit, []string, error) {
	_ = w.stdin.Close()
	select {
	case <-w.done:
	case <-time.After(20 * time.Second):
		_ = w.cmd.Process.Kill()
	}
	err := w.cmd.Wait()
	if err != nil {
		err = fmt.Errorf("writer process: %w: %s", err, w.stderr.String())
	}
	return w.Commits(), w.Errors(), err
}

// Kill ends the writer with SIGKILL, as a crash would: its -wal and -shm stay behind
// with whatever it committed but never checkpointed.
func (w *Writer) Kill() ([]Commit, error) {
	if err := w.cmd.Process.Kill(); err != nil {
		return nil, fmt.Errorf("kill writer: %w", err)
	}
	<-w.done
	_ = w.cmd.Wait()
	return w.Commits(), nil
}

// LatencyPercentile returns the p-th percentile (0 < p ≤ 100) commit latency.
func LatencyPercentile(commits []Commit, p float64) time.Duration {
	if len(commits) == 0 {
		return 0
	}
	l := make([]time.Duration, len(commits))
	for i, c := range commits {
		l[i] = c.Latency
	}
	sort.Slice(l, func(i, j int) bool { return l[i] < l[j] })
	i := int(float64(len(l))*p/100+0.5) - 1
	if i < 0 {
		i = 0
	}
	if i >= len(l) {
		i = len(l) - 1
	}
	return l[i]
}
