package ui

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPagerCommandFromTheEnvironment(t *testing.T) {
	for _, c := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{}, DefaultPager},
		{map[string]string{"PAGER": "more"}, "more"},
		{map[string]string{"PAGER": "more", "VRWXCTL_PAGER": "less -S"}, "less -S"},
		{map[string]string{"PAGER": "more", "VRWXCTL_PAGER": ""}, ""},
		{map[string]string{"PAGER": "cat"}, ""},
	} {
		got := PagerCommand(func(k string) (string, bool) { v, ok := c.env[k]; return v, ok })
		if got != c.want {
			t.Errorf("%v: pager %q, want %q", c.env, got, c.want)
		}
	}
}

// pagedIO is IO whose stdout "is a terminal" (a file here), paged through cmd.
func pagedIO(t *testing.T, cmd string) (*IO, *bytes.Buffer) {
	t.Helper()
	f, err := os.Create(filepath.Join(t.TempDir(), "terminal"))
	if err != nil {
		t.Fatal(err)
	}
	var errOut bytes.Buffer
	io := Test(nil, f, &errOut)
	io.OutTTY, io.stdout, io.stderr, io.Pager = true, f, f, cmd
	return io, &errOut
}

// The listing goes through the pager — stdout, not the status lines of a stderr
// that is no terminal — and the streams are the command's own again after
// StopPager.
func TestPagerGetsTheListing(t *testing.T) {
	dir := t.TempDir()
	got := filepath.Join(dir, "paged")
	io, errOut := pagedIO(t, "cat > "+got)
	out := io.Out
	io.StartPager()
	if !io.Paging() {
		t.Fatal("no pager started on a terminal")
	}
	for i := range 1000 {
		fmt.Fprintf(io.Out, "row %d\n", i)
	}
	io.Infof("1000 rows")
	io.StopPager()
	if io.Paging() || io.Out != out {
		t.Fatal("StopPager left the pager in place")
	}
	b, err := os.ReadFile(got)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(b), "\n"); n != 1000 || !strings.HasSuffix(string(b), "row 999\n") {
		t.Fatalf("the pager got %d lines, ending %q", n, string(b[max(len(b)-20, 0):]))
	}
	if errOut.String() != "1000 rows\n" {
		t.Fatalf("stderr %q", errOut.String())
	}
}

// A reader who quits the pager early ends the listing: the next writes fail with
// ErrPagerClosed (the command stops and exits 0), never with a broken-pipe message.
func TestPagerThatQuitsEarly(t *testing.T) {
	io, _ := pagedIO(t, "head -n 1 >/dev/null")
	io.StartPager()
	var err error
	for i := 0; i < 1_000_000 && err == nil; i++ {
		_, err = fmt.Fprintf(io.Out, "row %d %s\n", i, strings.Repeat("x", 100))
		if err == nil && i%1000 == 0 {
			io.Flush()
		}
	}
	if !errors.Is(err, ErrPagerClosed) {
		t.Fatalf("write after the pager quit: %v, want ErrPagerClosed", err)
	}
	io.StopPager()
}

// No pager without a terminal, with --no-pager, or with the pager turned off.
func TestNoPager(t *testing.T) {
	io, _ := pagedIO(t, "cat")
	io.NoPager = true
	io.StartPager()
	pipe := Test(nil, &bytes.Buffer{}, &bytes.Buffer{})
	pipe.Pager = "cat"
	pipe.StartPager()
	off, _ := pagedIO(t, "")
	off.StartPager()
	if io.Paging() || pipe.Paging() || off.Paging() {
		t.Fatalf("paging with --no-pager %v, in a pipe %v, with no pager set %v", io.Paging(), pipe.Paging(), off.Paging())
	}
}

// A pager that cannot start is said once; the listing is printed directly.
func TestPagerThatDoesNotStart(t *testing.T) {
	io, errOut := pagedIO(t, "/nonexistent/pager")
	io.StartPager()
	fmt.Fprintln(io.Out, "row")
	io.StopPager()
	if !strings.Contains(errOut.String(), `the pager "/nonexistent/pager" is not installed`) || strings.Count(errOut.String(), "\n") != 1 {
		t.Fatalf("stderr %q", errOut.String())
	}
	b, _ := os.ReadFile(io.stdout.Name())
	if string(b) != "row\n" {
		t.Fatalf("stdout %q, want the listing printed directly", b)
	}
}
