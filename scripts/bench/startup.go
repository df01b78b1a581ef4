package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// pkgInit is one line of GODEBUG=inittrace=1: the work a package's initialisers
// did before main.
type pkgInit struct {
	Pkg    string
	Clock  time.Duration
	Bytes  int64
	Allocs int64
}

// initTrace runs bin with args and GODEBUG=inittrace=1 and returns the runtime's
// report of every package whose initialisation did any work, in the order they ran.
func initTrace(bin string, args ...string) ([]pkgInit, error) {
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "GODEBUG=inittrace=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%s %s: %v\n%s", bin, strings.Join(args, " "), err, stderr.Bytes())
	}
	inits, err := parseInitTrace(&stderr)
	if err == nil && len(inits) == 0 {
		err = fmt.Errorf("%s %s printed no inittrace lines", bin, strings.Join(args, " "))
	}
	return inits, err
}

// parseInitTrace reads lines of the form
//
//	init github.com/x/y @1.2 ms, 0.35 ms clock, 52696 bytes, 795 allocs
//
// and ignores everything else.
func parseInitTrace(r io.Reader) ([]pkgInit, error) {
	var out []pkgInit
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 11 || f[0] != "init" || f[5] != "ms" || f[6] != "clock," || f[8] != "bytes," || f[10] != "allocs" {
			continue
		}
		ms, err1 := strconv.ParseFloat(f[4], 64)
		b, err2 := strconv.ParseInt(f[7], 10, 64)
		a, err3 := strconv.ParseInt(f[9], 10, 64)
		if err1 != nil || err2 != nil || err3 != nil {
			return nil, fmt.Errorf("unreadable inittrace line %q", sc.Text())
		}
		out = append(out, pkgInit{Pkg: f[1], Clock: time.Duration(ms * float64(time.Millisecond)), Bytes: b, Allocs: a})
	}
	return out, sc.Err()
}

// initStats summarise the package initialisation of one binary over several runs.
type initStats struct {
	sum, sumP90   time.Duration // median and p90 over runs of the run's total
	fastest       time.Duration // the smallest total: the closest to an idle machine
	pkgs          int           // packages with init work
	bytes, allocs int64         // what they allocated (the same every run)
	heaviest      []pkgInit     // by median clock, heaviest first
}

func summarizeInits(runs [][]pkgInit) initStats {
	var st initStats
	sums := make([]time.Duration, len(runs))
	clocks := map[string][]time.Duration{}
	for i, r := range runs {
		for _, p := range r {
			sums[i] += p.Clock
			clocks[p.Pkg] = append(clocks[p.Pkg], p.Clock)
		}
	}
	sort.Slice(sums, func(i, j int) bool { return sums[i] < sums[j] })
	st.sum, st.sumP90, st.fastest = sums[len(sums)/2], sums[len(sums)*9/10], sums[0]
	last := runs[len(runs)-1]
	st.pkgs = len(last)
	for _, p := range last {
		st.bytes += p.Bytes
		st.allocs += p.Allocs
		cs := clocks[p.Pkg]
		sort.Slice(cs, func(i, j int) bool { return cs[i] < cs[j] })
		st.heaviest = append(st.heaviest, pkgInit{Pkg: p.Pkg, Clock: cs[len(cs)/2], Bytes: p.Bytes, Allocs: p.Allocs})
	}
	sort.SliceStable(st.heaviest, func(i, j int) bool { return st.heaviest[i].Clock > st.heaviest[j].Clock })
	return st
}

// namedBin is a binary the bench measures, with the name its rows carry.
type namedBin struct{ name, path string }

// runInitSection runs `version` of each binary with GODEBUG=inittrace=1, runs times
// each, interleaved, and prints what package initialisation costs each: the
// median of the runs' totals (the runtime's own clock per package, summed), the
// packages that did work, what they allocated, and the heaviest ones.
func runInitSection(w io.Writer, bins []namedBin, runs int) error {
	traces := make([][][]pkgInit, len(bins))
	for range runs {
		for i, b := range bins {
			t, err := initTrace(b.path, "version")
			if err != nil {
				return err
			}
			traces[i] = append(traces[i], t)
		}
	}
	fmt.Fprintf(w, "Package initialisation before main (GODEBUG=inittrace=1 vrwxctl version, %d interleaved runs; goal <= 3 ms)\n", runs)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "BINARY\tINIT MEDIAN\tP90\tFASTEST\tPACKAGES\tALLOCATED\tHEAVIEST (MEDIAN MS, KIB)")
	for i, b := range bins {
		st := summarizeInits(traces[i])
		var top []string
		for _, p := range st.heaviest[:min(5, len(st.heaviest))] {
			top = append(top, fmt.Sprintf("%s %.2f, %.0f", shortPkg(p.Pkg), float64(p.Clock.Microseconds())/1000, float64(p.Bytes)/1024))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%.0f KiB in %d allocs\t%s\n", b.name, ms(st.sum), ms(st.sumP90), ms(st.fastest), st.pkgs,
			float64(st.bytes)/1024, st.allocs, strings.Join(top, "; "))
	}
	tw.Flush()
	fmt.Fprintln(w)
	return nil
}

// shortPkg drops the host and owner of a module path: vault/api, not
// github.com/hashicorp/vault/api.
func shortPkg(p string) string {
	parts := strings.Split(p, "/")
	if len(parts) > 2 && strings.Contains(parts[0], ".") {
		return strings.Join(parts[2:], "/")
	}
	return p
}

// refBinary returns the binary to compare with: ref itself when it is a file,
// else vrwxctl built at the git revision ref the way `make build` builds it
// (static, -trimpath, -s -w), in a worktree under a temporary directory that
// cleanup removes.
func refBinary(root, ref string) (bin string, cleanup func(), err error) {
	if st, err := os.Stat(ref); err == nil && !st.IsDir() {
		return ref, func() {}, nil
	}
	dir, err := os.MkdirTemp("", "vrwxctl-bench-ref-")
	if err != nil {
		return "", nil, err
	}
	src := filepath.Join(dir, "src")
	cleanup = func() {
		_ = exec.Command("git", "-C", root, "worktree", "remove", "--force", src).Run()
		_ = os.RemoveAll(dir)
	}
	steps := []*exec.Cmd{
		exec.Command("git", "-C", root, "worktree", "add", "--detach", src, ref),
		exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", filepath.Join(dir, "vrwxctl"), "./cmd/vrwxctl"),
	}
	steps[1].Dir = src
	steps[1].Env = append(os.Environ(), "CGO_ENABLED=0")
	for _, c := range steps {
		if out, err := c.CombinedOutput(); err != nil {
			cleanup()
			return "", nil, fmt.Errorf("reference %s: %s: %v\n%s", ref, strings.Join(c.Args, " "), err, out)
		}
	}
	return filepath.Join(dir, "vrwxctl"), cleanup, nil
}
