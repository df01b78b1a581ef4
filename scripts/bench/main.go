// Command bench measures vrwxctl against the tools it replaces (cast, sqlite3) side by
// side in one run: for each scenario it runs both commands interleaved, N times each,
// on the same local chain or database, and reports median and p90 wall time, peak RSS
// and the ratio vrwxctl/baseline. It starts with what package initialisation costs
// before main (GODEBUG=inittrace=1). With -ref (a git revision, built the way `make
// build` builds, or a binary) another vrwxctl runs beside it: its package init, and
// the start-up rows interleaved with the same baseline runs. `make bench` runs it
// (`make bench BENCH_FLAGS='-ref 829647d'`).
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/vrwx/vrwxctl/pkg/devchain"
)

// Scenario is one comparison: vrwxctl's command against the baseline's.
type Scenario struct {
	Name     string
	Goal     string
	Runs     int
	VRWX     []string // argv of vrwxctl (without the binary)
	Baseline []string // argv of the baseline tool (binary first), or a shell script via "sh -c"
	Env      []string
	// Setup runs once before the scenario (seeding, for example); Teardown after it.
	Setup    func(ctx context.Context) error
	Teardown func()
	// Next, when set, gives the argv of run i instead of VRWX/Baseline (for commands
	// that consume state, like submitting a completion). No warm-up run is made.
	Next func(i int) (vrwx, baseline []string)
	// Ref: with -ref, each reference build runs the same command, interleaved with
	// the others, on a row of its own.
	Ref bool
}

type sample struct {
	wall time.Duration
	rss  int64 // KiB
}

// timeBin measures a child's own peak RSS. The rusage Go reports for a child can
// include the parent's peak (the child starts as a copy of it), so it is used only
// when /usr/bin/time is missing.
const timeBin = "/usr/bin/time"

func run(argv []string, env []string) (sample, error) { return runTo(argv, env, nil, true) }

// sampleOf is one sample of argv. With apart, the time comes from a run as a user
// makes it, nothing in between, and the peak RSS from a second run under
// /usr/bin/time: the wrapper's own start (about 1 ms: an exec and glibc's loader)
// would otherwise be added to both sides of a start-up row, pulling every ratio of
// two fast commands towards 1.
func sampleOf(argv []string, env []string, apart bool) (sample, error) {
	if !apart {
		return run(argv, env)
	}
	t, err := runTo(argv, env, nil, false)
	if err != nil {
		return sample{}, err
	}
	m, err := run(argv, env)
	if err != nil {
		return sample{}, err
	}
	return sample{wall: t.wall, rss: m.rss}, nil
}

// runTo is run with the command's stdout going to w (discarded when nil); with
// wrap false the command runs bare and its peak RSS is left at 0.
func runTo(argv []string, env []string, w io.Writer, wrap bool) (sample, error) {
	rssFile := ""
	if _, err := os.Stat(timeBin); err == nil && wrap {
		f, err := os.CreateTemp("", "vrwxctl-bench-rss-")
		if err != nil {
			return sample{}, err
		}
		f.Close()
		defer os.Remove(f.Name())
		rssFile = f.Name()
		argv = append([]string{timeBin, "-f", "%M", "-o", rssFile}, argv...)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout = w
	var errBuf strings.Builder
	cmd.Stderr = &errBuf
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	if err != nil {
		return sample{}, fmt.Errorf("%s: %v: %s", strings.Join(argv, " "), err, errBuf.String())
	}
	var rss int64
	if rssFile != "" {
		b, _ := os.ReadFile(rssFile)
		rss, _ = strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	} else if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok && wrap {
		rss = ru.Maxrss
	}
	return sample{wall: wall, rss: rss}, nil
}

type stats struct {
	median, p90 time.Duration
	rss         int64
}

func summarize(ss []sample) stats {
	ws := make([]time.Duration, len(ss))
	var rss int64
	for i, s := range ss {
		ws[i] = s.wall
		rss = max(rss, s.rss)
	}
	sort.Slice(ws, func(i, j int) bool { return ws[i] < ws[j] })
	return stats{median: ws[len(ws)/2], p90: ws[len(ws)*9/10], rss: rss}
}

func main() {
	runs := flag.Int("runs", 21, "runs of each command per scenario (interleaved)")
	only := flag.String("only", "", "run only scenarios whose name contains this, or one of these (comma-separated; the package init section: \"package init\"; the scale section: \"scale\")")
	bin := flag.String("bin", "", "the vrwxctl binary to measure (default bin/vrwxctl)")
	jobs := flag.String("scale-jobs", "10000,100000,1000000", "job counts for the scale section's job list (empty: none)")
	blocks := flag.String("scale-blocks", "10000,100000,1000000", "block ranges for the scale section's job events (empty: none)")
	events := flag.Int("scale-events", 100_000, "events spread over the longest block range")
	check := flag.Bool("check", false, "run every scenario's vrwxctl command once and time nothing: the bench's own test")
	ref := flag.String("ref", "", "also measure these vrwxctl builds (comma-separated: binaries, or git revisions built like make build) side by side: package init and the start-up rows")
	flag.Parse()
	sc := scaleConfig{Events: *events, Runs: *runs}
	var err error
	if sc.Jobs, err = sizes(*jobs); err == nil {
		sc.Blocks, err = sizes(*blocks)
	}
	if err == nil {
		err = mainErr(*runs, *only, *bin, *ref, sc, *check)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// sizes parses a comma-separated list of positive counts, ascending.
func sizes(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		n, err := strconv.Atoi(strings.ReplaceAll(f, "_", ""))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("size %q: want a positive count", f)
		}
		out = append(out, n)
	}
	sort.Ints(out)
	return out, nil
}

// mainErr runs the scenarios. With check, each scenario runs its vrwxctl command once
// (after its set-up) and nothing is timed or compared: a command the bench drives
// that stopped working fails the test suite, not the next person's `make bench`.
func mainErr(runs int, only, bin, ref string, sc scaleConfig, check bool) error {
	ctx := context.Background()
	root, err := devchain.RepoRoot()
	if err != nil {
		return err
	}
	if bin == "" {
		bin = filepath.Join(root, "bin", "vrwxctl")
	}
	if _, err := os.Stat(bin); err != nil {
		return fmt.Errorf("%s missing: run make build", bin)
	}
	bins := []namedBin{{"vrwxctl", bin}}
	for _, r := range strings.Split(ref, ",") {
		if r = strings.TrimSpace(r); r == "" {
			continue
		}
		refBin, cleanup, err := refBinary(root, r)
		if err != nil {
			return err
		}
		defer cleanup()
		bins = append(bins, namedBin{r, refBin})
	}
	cast, err := devchain.CastPath()
	if err != nil {
		return err
	}
	a, err := devchain.StartAnvil(ctx, devchain.AnvilOptions{StartTime: time.Now().Add(-devchain.DeployHistory)})
	if err != nil {
		return err
	}
	defer a.Stop()
	d, err := devchain.Deploy(ctx, a.URL)
	if err != nil {
		return err
	}
	// status judges the whole system, the API's /health included: the API answers,
	// relaying from the deployment's relayer, as in production.
	api, err := healthServer(d.ChainID, d.Relayer, 0)
	if err != nil {
		return err
	}
	env := []string{"RPC_URL=" + a.URL, "VRWX_API_URL=" + api, "VRWXCTL_DEPLOYMENT=/nonexistent", "XDG_CONFIG_HOME=" + os.TempDir() + "/vrwxctl-bench-none"}
	scenarios := append(Scenarios(bin, cast, a, d, env), dbScenarios()...)
	ls, err := litestreamBin()
	if err != nil {
		return err
	}
	scenarios = append(scenarios, litestreamScenarios(bin, ls)...)
	ops, err := opsScenarios(cast, a, d)
	if err != nil {
		return err
	}
	scenarios = append(scenarios, ops...)

	fmt.Printf("vrwxctl benchmarks — %s, anvil %s, %d interleaved runs each\n\n", time.Now().UTC().Format(time.RFC3339), a.URL, runs)
	if selected("start-up: package init", only) {
		fmt.Fprintln(os.Stderr, "bench: start-up: package init")
		n := runs
		if check {
			n = 1
		}
		if err := runInitSection(os.Stdout, bins, n); err != nil {
			return err
		}
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SCENARIO\tVRWXCTL MEDIAN\tP90\tPEAK RSS\tBASELINE MEDIAN\tP90\tPEAK RSS\tRATIO\tGOAL")
	for _, s := range scenarios {
		if !selected(s.Name, only) {
			continue
		}
		fmt.Fprintf(os.Stderr, "bench: %s\n", s.Name)
		if s.Setup != nil {
			if err := s.Setup(ctx); err != nil {
				return fmt.Errorf("%s setup: %w", s.Name, err)
			}
		}
		n := runs
		if s.Runs > 0 {
			n = s.Runs
		}
		if check {
			vArgs := s.VRWX
			if s.Next != nil {
				vArgs, _ = s.Next(0)
			}
			if _, err := run(append([]string{bin}, vArgs...), append(env, s.Env...)); err != nil {
				return fmt.Errorf("%s: %w", s.Name, err)
			}
			if s.Teardown != nil {
				s.Teardown()
			}
			continue
		}
		var vs, bs []sample
		var refs []namedBin
		if s.Ref && s.Next == nil {
			refs = bins[1:]
		}
		rs := make([][]sample, len(refs))
		// One warm-up of each, then interleave so drift hits all sides alike.
		if s.Next == nil {
			if _, err := run(append([]string{bin}, s.VRWX...), append(env, s.Env...)); err != nil {
				return err
			}
			for _, r := range refs {
				if _, err := run(append([]string{r.path}, s.VRWX...), append(env, s.Env...)); err != nil {
					return err
				}
			}
			if s.Baseline != nil {
				if _, err := run(s.Baseline, append(env, s.Env...)); err != nil {
					return err
				}
			}
		}
		// The rows of fast commands, run many times, are timed bare (see sampleOf).
		apart := s.Next == nil && s.Runs == 0
		for i := 0; i < n; i++ {
			vArgs, bArgs := s.VRWX, s.Baseline
			if s.Next != nil {
				vArgs, bArgs = s.Next(i)
			}
			v, err := sampleOf(append([]string{bin}, vArgs...), append(env, s.Env...), apart)
			if err != nil {
				return err
			}
			vs = append(vs, v)
			for j, r := range refs {
				smp, err := sampleOf(append([]string{r.path}, vArgs...), append(env, s.Env...), apart)
				if err != nil {
					return err
				}
				rs[j] = append(rs[j], smp)
			}
			if bArgs != nil {
				b, err := sampleOf(bArgs, append(env, s.Env...), apart)
				if err != nil {
					return err
				}
				bs = append(bs, b)
			}
		}
		if s.Teardown != nil {
			s.Teardown()
		}
		printRow(tw, s.Name, s.Goal, vs, bs)
		for j, r := range refs {
			printRow(tw, "  the same, "+r.name, "reference", rs[j], bs)
		}
	}
	tw.Flush()
	if check {
		a.Stop()
		return runScale(ctx, bin, sc, only)
	}
	fmt.Println("\nRATIO = vrwxctl median / baseline median (lower is better; < 1 means vrwxctl is faster).")
	// The scale section starts its own chains; the comparisons' anvil is not needed.
	a.Stop()
	return runScale(ctx, bin, sc, only)
}

// printRow writes a scenario's line: vrwxctl's figures, the baseline's (when it
// has one) and the ratio of the medians.
func printRow(tw io.Writer, name, goal string, vs, bs []sample) {
	v := summarize(vs)
	if len(bs) == 0 {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.1f MiB\t-\t-\t-\t-\t%s\n", name, ms(v.median), ms(v.p90), float64(v.rss)/1024, goal)
		return
	}
	b := summarize(bs)
	fmt.Fprintf(tw, "%s\t%s\t%s\t%.1f MiB\t%s\t%s\t%.1f MiB\t%.3f\t%s\n", name, ms(v.median), ms(v.p90), float64(v.rss)/1024,
		ms(b.median), ms(b.p90), float64(b.rss)/1024, float64(v.median)/float64(b.median), goal)
}

// selected reports whether a scenario named name runs under -only: every one when
// only is empty, else those whose name contains one of its comma-separated parts.
func selected(name, only string) bool {
	if only == "" {
		return true
	}
	for _, p := range strings.Split(only, ",") {
		if p != "" && strings.Contains(name, p) {
			return true
		}
	}
	return false
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000) }
