package job_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vrwx/vrwxctl/pkg/cli/clitest"
	"github.com/vrwx/vrwxctl/pkg/cli/job"
	"github.com/vrwx/vrwxctl/pkg/devchain"
)

// Benchmarks against the tool vrwxctl replaces, on the same anvil: run with
//
//	go test ./pkg/cli/job -run '^$' -bench . -benchtime 5x
//
// They start their own chain and seed it, so they never run in a plain `go test`.

// benchChain starts anvil with the deployment and tops it up to total jobs.
func benchChain(b *testing.B, total int) *clitest.Env {
	b.Helper()
	clitest.Binary(b) // built before any timing
	e := clitest.NewChain(b)
	if extra := total - len(e.D.Jobs); extra > 0 {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		if err := devchain.SeedJobs(ctx, e.D.RPCURL, e.D, extra); err != nil {
			b.Fatal(err)
		}
	}
	return e
}

// run is one vrwxctl process: its wall time and stdout.
type run struct {
	wall   time.Duration
	stdout []byte
}

func command(b *testing.B, e *clitest.Env, name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	for k, v := range e.Vars {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	return cmd
}

func vrwxctl(b *testing.B, e *clitest.Env, args ...string) run {
	b.Helper()
	cmd := command(b, e, clitest.Binary(b), args...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	start := time.Now()
	if err := cmd.Run(); err != nil {
		b.Fatalf("vrwxctl %v: %v\n%s", args, err, errOut.String())
	}
	return run{wall: time.Since(start), stdout: out.Bytes()}
}

// peakRSS runs vrwxctl under GNU time and returns its peak resident set in bytes.
// The child's own rusage is not used: Go starts children with vfork semantics, and
// Linux then folds the parent's (the benchmark's) high-water mark into the child's
// ru_maxrss.
func peakRSS(b *testing.B, e *clitest.Env, args ...string) float64 {
	b.Helper()
	if _, err := os.Stat("/usr/bin/time"); err != nil {
		b.Logf("no /usr/bin/time: peak RSS not measured")
		return 0
	}
	f := filepath.Join(b.TempDir(), "rss")
	cmd := command(b, e, "/usr/bin/time", append([]string{"-f", "%M", "-o", f, clitest.Binary(b)}, args...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("time vrwxctl %v: %v\n%.2000s", args, err, out)
	}
	raw, err := os.ReadFile(f)
	if err != nil {
		b.Fatal(err)
	}
	kib, err := strconv.ParseFloat(strings.TrimSpace(string(raw)), 64)
	if err != nil {
		b.Fatalf("GNU time wrote %q", raw)
	}
	return kib * 1024
}

// castLoop runs the runbook's query for ids first..last as a shell loop of cast
// processes, the way an operator would script it, and returns the wall time.
func castLoop(b *testing.B, d *devchain.Deployment, first, last int) time.Duration {
	b.Helper()
	cast := devchain.RequireCast(b)
	script := fmt.Sprintf(`for i in $(seq %d %d); do "$CAST" call %s '%s' "$i" --rpc-url %s >/dev/null || exit 1; done`,
		first, last, d.Escrow.Hex(), jobsSig, d.RPCURL)
	cmd := exec.Command("bash", "-c", script)
	cmd.Env = append(os.Environ(), "CAST="+cast)
	start := time.Now()
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("cast loop: %v\n%s", err, out)
	}
	return time.Since(start)
}

func benchList(b *testing.B, total int, withCast bool) {
	e := benchChain(b, total)
	var cast time.Duration
	if withCast {
		cast = castLoop(b, e.D, 1, total)
	}
	var sum time.Duration
	n := 0
	for b.Loop() {
		r := vrwxctl(b, e, "job", "list", "-o", "json")
		if n == 0 {
			var out job.ListJSON
			if err := json.Unmarshal(r.stdout, &out); err != nil || len(out.Jobs) != total {
				b.Fatalf("job list returned %d jobs (%v), want %d", len(out.Jobs), err, total)
			}
		}
		sum += r.wall
		n++
	}
	b.StopTimer()
	mean := sum / time.Duration(n)
	b.ReportMetric(float64(mean.Milliseconds()), "vrwxctl-ms")
	b.ReportMetric(peakRSS(b, e, "job", "list", "-o", "json")/(1<<20), "peak-RSS-MiB-json")
	b.ReportMetric(peakRSS(b, e, "job", "list")/(1<<20), "peak-RSS-MiB-table")
	b.ReportMetric(float64(total)/mean.Seconds(), "jobs/s")
	if withCast {
		b.ReportMetric(cast.Seconds(), "cast-loop-s")
		b.ReportMetric(float64(cast)/float64(mean), "x-faster-than-cast")
	}
}

// vrwxctl job list over 1,000 jobs against a shell loop of 1,000 cast calls (goal:
// at least 100x faster).
func BenchmarkJobList1000VsCast(b *testing.B) { benchList(b, 1000, true) }

// vrwxctl job list over 10,000 jobs (goal: under 2 s wall and 60 MiB peak RSS).
func BenchmarkJobList10000(b *testing.B) { benchList(b, 10000, false) }

// vrwxctl job get — job, token decimals, the robot's controller and active flag —
// against one cast call of jobs(…) alone (goal: ratio at most 1.0).
func BenchmarkJobGetVsOneCastCall(b *testing.B) {
	e := benchChain(b, 0)
	d := e.D
	id := fmt.Sprint(d.Jobs[devchain.JobFunded])
	cast := devchain.RequireCast(b)
	const castRuns = 20
	var castSum time.Duration
	for range castRuns {
		start := time.Now()
		if out, err := exec.Command(cast, "call", d.Escrow.Hex(), jobsSig, id, "--rpc-url", d.RPCURL).CombinedOutput(); err != nil {
			b.Fatalf("cast: %v\n%s", err, out)
		}
		castSum += time.Since(start)
	}
	castMean := castSum / castRuns
	var sum time.Duration
	n := 0
	for b.Loop() {
		r := vrwxctl(b, e, "job", "get", id, "-o", "json")
		sum += r.wall
		n++
	}
	b.StopTimer()
	mean := sum / time.Duration(n)
	peak := peakRSS(b, e, "job", "get", id, "-o", "json")
	b.ReportMetric(float64(mean.Microseconds())/1000, "vrwxctl-ms")
	b.ReportMetric(float64(castMean.Microseconds())/1000, "cast-ms")
	b.ReportMetric(float64(mean)/float64(castMean), "ratio-vs-cast")
	b.ReportMetric(peak/(1<<20), "peak-RSS-MiB")
}
