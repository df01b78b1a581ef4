package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/vrwx/vrwxctl/pkg/devchain"
)

// scaleConfig is what the scale section measures: job list over growing job counts,
// job events over growing block ranges of one long chain.
type scaleConfig struct {
	Jobs   []int // jobCount for each job list size, ascending
	Blocks []int // block ranges for job events: the last N blocks of the chain
	Events int   // events spread over the longest range
	Runs   int   // the most runs of a command at one size
}

// Budgets that keep the section to minutes: a size gets as many runs as fit in this
// many items (at least one, at most -runs).
const (
	listRunBudget   = 300_000
	eventsRunBudget = 2_000_000
)

// scaleTimeout replaces the default --timeout (60 s): a million jobs take longer than
// that to read from anvil on 2 cores.
const scaleTimeout = "1h"

func runsFor(size, budget, most int) int { return max(1, min(most, budget/max(size, 1))) }

// scaleRow is one line of the scale table.
type scaleRow struct {
	command, size string
	items         int // what PER ITEM divides by (0: no per-item figure)
	runs          int
	st            stats
	noRSS         bool
	goal          string
}

// runScale builds the chains the scale section needs (anvil with BigChainArgs, one
// for jobs and one for blocks, each stopped before the next starts), runs vrwxctl at
// each size, and prints the table: size -> wall time and peak RSS, with the wall time
// per item, so growth in either is visible at a glance.
func runScale(ctx context.Context, bin string, cfg scaleConfig, only string) error {
	var rows []scaleRow
	if len(cfg.Jobs) > 0 && (only == "" || strings.Contains("scale: job list", only)) {
		r, err := scaleJobList(ctx, bin, cfg)
		rows = append(rows, r...)
		if err != nil {
			printScale(rows)
			return err
		}
	}
	if len(cfg.Blocks) > 0 && (only == "" || strings.Contains("scale: job events", only)) {
		r, err := scaleJobEvents(ctx, bin, cfg)
		rows = append(rows, r...)
		if err != nil {
			printScale(rows)
			return err
		}
	}
	printScale(rows)
	return nil
}

func printScale(rows []scaleRow) {
	if len(rows) == 0 {
		return
	}
	fmt.Println("\nScale: wall time and peak RSS by size (PER ITEM = median / items; flat PER ITEM = linear time)")
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "COMMAND\tSIZE\tRUNS\tVRWXCTL MEDIAN\tP90\tPEAK RSS\tPER ITEM\tGOAL")
	for _, r := range rows {
		rss, per := fmt.Sprintf("%.1f MiB", float64(r.st.rss)/1024), "-"
		if r.noRSS {
			rss = "-"
		}
		if r.items > 0 {
			per = fmt.Sprintf("%.2f µs", float64(r.st.median.Nanoseconds())/1000/float64(r.items))
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\n", r.command, r.size, r.runs, ms(r.st.median), ms(r.st.p90), rss, per, r.goal)
	}
	tw.Flush()
}

// scaleEnv starts anvil for a big chain and deploys the contracts; the environment
// points vrwxctl's local profile at it.
func scaleEnv(ctx context.Context) (*devchain.Anvil, *devchain.Deployment, []string, error) {
	a, err := devchain.StartAnvil(ctx, devchain.AnvilOptions{StartTime: time.Now().Add(-devchain.DeployHistory), Args: devchain.BigChainArgs})
	if err != nil {
		return nil, nil, nil, err
	}
	d, err := devchain.Deploy(ctx, a.URL)
	if err != nil {
		a.Stop()
		return nil, nil, nil, err
	}
	env := []string{"RPC_URL=" + a.URL, "VRWXCTL_DEPLOYMENT=/nonexistent", "XDG_CONFIG_HOME=" + filepath.Join(os.TempDir(), "vrwxctl-bench-none")}
	return a, d, env, nil
}

// counter counts the occurrences of a marker in what is written to it, so a run's
// output can be checked without holding it.
type counter struct {
	marker []byte
	n      int
	tail   []byte
}

func (c *counter) Write(p []byte) (int, error) {
	buf := append(c.tail, p...)
	c.n += bytes.Count(buf, c.marker)
	// Keep the last len(marker)-1 bytes, so a marker split across writes is counted
	// once: a whole marker never fits in them.
	keep := min(len(buf), len(c.marker)-1)
	c.tail = append(c.tail[:0], buf[len(buf)-keep:]...)
	return len(p), nil
}

// measure runs argv n times after a first run (a warm-up) whose stdout is counted
// for marker and must hold want of them (want < 0: any number). It returns the
// stats of the n runs and the count.
func measure(bin string, args, env []string, n int, marker string, want int) (stats, int, error) {
	c := &counter{marker: []byte(marker)}
	var w io.Writer // stdout discarded when nothing is counted
	if marker != "" {
		w = c
	}
	if _, err := runTo(append([]string{bin}, args...), env, w, true); err != nil {
		return stats{}, 0, err
	}
	if want >= 0 && c.n != want {
		return stats{}, 0, fmt.Errorf("vrwxctl %s printed %d %q, want %d", strings.Join(args, " "), c.n, marker, want)
	}
	var ss []sample
	for range n {
		s, err := run(append([]string{bin}, args...), env)
		if err != nil {
			return stats{}, 0, err
		}
		ss = append(ss, s)
	}
	return summarize(ss), c.n, nil
}

func scaleJobList(ctx context.Context, bin string, cfg scaleConfig) ([]scaleRow, error) {
	fmt.Fprintln(os.Stderr, "bench: scale: job list — starting anvil", strings.Join(devchain.BigChainArgs, " "))
	a, d, env, err := scaleEnv(ctx)
	if err != nil {
		return nil, err
	}
	defer a.Stop()
	var rows []scaleRow
	count := len(d.Jobs)
	for _, n := range cfg.Jobs {
		if n > count {
			fmt.Fprintf(os.Stderr, "bench: scale: seeding jobs %d..%d\n", count+1, n)
			start := time.Now()
			if err := devchain.SeedManyJobs(ctx, a.URL, d, n-count); err != nil {
				return rows, fmt.Errorf("seed %d jobs: %w", n-count, err)
			}
			took := time.Since(start)
			rows = append(rows, scaleRow{command: "seed (devchain.SeedManyJobs)", size: fmt.Sprintf("+%s jobs", thousands(n-count)), items: n - count,
				runs: 1, st: stats{median: took, p90: took}, noRSS: true, goal: "minutes at most for 1M"})
			count = n
		}
		runs := runsFor(n, listRunBudget, cfg.Runs)
		size := thousands(n) + " jobs"
		for _, c := range []struct {
			name   string
			args   []string
			marker string
			want   int
		}{
			{"job list -o json", []string{"job", "list", "-o", "json", "--timeout", scaleTimeout}, `"status": `, n},
			// Each table row shows the robot and the buyer, shortened.
			{"job list (table)", []string{"job", "list", "--timeout", scaleTimeout}, "  0x", 2 * n},
		} {
			fmt.Fprintf(os.Stderr, "bench: scale: %s, %s, %d runs\n", c.name, size, runs)
			st, _, err := measure(bin, c.args, env, runs, c.marker, c.want)
			if err != nil {
				return rows, err
			}
			rows = append(rows, scaleRow{command: c.name, size: size, items: n, runs: runs, st: st, goal: "<= 48 MiB; 100k <= 6 s; linear"})
		}
	}
	return rows, nil
}

func scaleJobEvents(ctx context.Context, bin string, cfg scaleConfig) ([]scaleRow, error) {
	fmt.Fprintln(os.Stderr, "bench: scale: job events — starting anvil", strings.Join(devchain.BigChainArgs, " "))
	a, d, env, err := scaleEnv(ctx)
	if err != nil {
		return nil, err
	}
	defer a.Stop()
	longest := 0
	for _, b := range cfg.Blocks {
		longest = max(longest, b)
	}
	// Rounds of empty blocks, each ending in a block with the JobCreated, JobCreatedV2
	// and JobFunded events of jobs that are not stored (the chain's state must not
	// grow: anvil's cost per mined block grows with it), so the events are spread
	// evenly over the range. Their ids start past any real job.
	rounds := min(200, max(1, longest/100))
	perRound := max(1, cfg.Events/3/rounds)
	fmt.Fprintf(os.Stderr, "bench: scale: mining %s blocks with %s events\n", thousands(longest), thousands(3*perRound*rounds))
	start := time.Now()
	for r := range rounds {
		if err := a.RPC(ctx, nil, "anvil_mine", hexutil.Uint64(longest/rounds-1)); err != nil {
			return nil, err
		}
		if err := devchain.EmitJobEvents(ctx, a.URL, d, 10_000_001+uint64(r*perRound), perRound); err != nil {
			return nil, err
		}
	}
	took := time.Since(start)
	rows := []scaleRow{{command: "seed (anvil_mine + devchain.EmitJobEvents)", size: fmt.Sprintf("+%s blocks", thousands(longest)), items: longest,
		runs: 1, st: stats{median: took, p90: took}, noRSS: true, goal: "-"}}
	for _, b := range cfg.Blocks {
		runs := runsFor(b, eventsRunBudget, cfg.Runs)
		from := "-" + strconv.Itoa(b-1)
		var events int
		for _, c := range []struct {
			name   string
			args   []string
			marker string
		}{
			{"job events -o json", []string{"job", "events", "--from-block", from, "-o", "json", "--timeout", scaleTimeout}, `"txHash": `},
			{"job events (table)", []string{"job", "events", "--from-block", from, "--timeout", scaleTimeout}, ""},
		} {
			fmt.Fprintf(os.Stderr, "bench: scale: %s, %s blocks, %d runs\n", c.name, thousands(b), runs)
			st, n, err := measure(bin, c.args, env, runs, c.marker, -1)
			if err != nil {
				return rows, err
			}
			if c.marker != "" {
				events = n
			}
			rows = append(rows, scaleRow{command: c.name, size: fmt.Sprintf("%s blocks, %s events", thousands(b), thousands(events)), items: b, runs: runs, st: st,
				goal: "flat RSS; pipelined"})
		}
	}
	return rows, nil
}

// thousands writes n with thousands separators: 1,000,000.
func thousands(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
