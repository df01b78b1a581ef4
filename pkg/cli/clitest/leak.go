package clitest

import (
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/vrwx/vrwxctl/pkg/devchain"
)

var (
	mu      sync.Mutex
	outputs []Result
	leaks   []string
	files   int
	secrets = map[string]bool{}
	// credentials are other strings that must never appear (an RPC URL's password,
	// API key or query token), kept as typed.
	credentials = map[string]bool{}
)

func init() {
	for i := 0; i < devchain.DevAccounts; i++ {
		Secret(devchain.DevKeyHex(i))
	}
}

func record(r Result) {
	mu.Lock()
	defer mu.Unlock()
	outputs = append(outputs, r)
}

// scanDir checks every file under d (config, audit log, journals) for keys.
func scanDir(d string) {
	_ = filepath.WalkDir(d, func(p string, de fs.DirEntry, err error) error {
		if err != nil || de.IsDir() {
			return nil
		}
		if b, err := os.ReadFile(p); err == nil {
			mu.Lock()
			files++
			leaks = append(leaks, find(p, string(b))...)
			mu.Unlock()
		}
		return nil
	})
}

// find reports the registered keys in text; the caller holds mu.
func find(where, text string) []string {
	var out []string
	low := strings.ToLower(text)
	for s := range secrets {
		if strings.Contains(low, s) {
			out = append(out, fmt.Sprintf("%s contains key %s…", where, s[:6]))
		}
	}
	for s := range credentials {
		if strings.Contains(low, strings.ToLower(s)) {
			out = append(out, fmt.Sprintf("%s contains credential %q", where, s))
		}
	}
	return out
}

// Leaks returns what the scan finds in text: every registered key and credential
// it contains. A test uses it to assert on one output at once, besides the scan of
// everything that Main runs at the end.
func Leaks(text string) []string {
	mu.Lock()
	defer mu.Unlock()
	return find("text", text)
}

// Credential registers a string other than a key (an RPC URL's password, API key or
// query token) that must never appear in any output or state file of the suite.
func Credential(s string) {
	mu.Lock()
	defer mu.Unlock()
	credentials[s] = true
}

// Secret registers key material (hex, with or without 0x) that must never appear in
// any output or state file of the suite.
func Secret(hexKey string) {
	mu.Lock()
	defer mu.Unlock()
	secrets[strings.ToLower(strings.TrimPrefix(hexKey, "0x"))] = true
}

// Main runs the package's tests, then scans everything vrwxctl printed and every file
// it left in the environments' state directories for private keys — anvil's dev keys
// and every key registered with Secret — and for every string registered with
// Credential. A leak fails the run.
//
// It removes the binaries the tests built (RemoveBuilds).
//
// Use it as: func TestMain(m *testing.M) { clitest.Main(m) }
func Main(m *testing.M) {
	waitingParallel()
	code := m.Run()
	RemoveBuilds()
	if leaks := scan(); len(leaks) > 0 {
		fmt.Fprintf(os.Stderr, "KEY LEAK: private key material found in vrwxctl output or files:\n  %s\n", strings.Join(leaks, "\n  "))
		code = 1
	} else if code == 0 {
		mu.Lock()
		fmt.Fprintf(os.Stderr, "clitest: scanned %d vrwxctl runs and %d state files: no private key found\n", len(outputs), files)
		mu.Unlock()
	}
	os.Exit(code)
}

// waitingParallel lets up to twice as many parallel tests run as there are cores
// (at least 4), unless -parallel was given. These tests mostly wait — for anvil to
// mine, for a child process, for a hung endpoint's timeout — with the cores idle;
// the go command's default (one per core) left a package's 5-second waits queued
// behind each other.
func waitingParallel() {
	if !flag.Parsed() {
		flag.Parse()
	}
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == "test.parallel" })
	if !set {
		_ = flag.Set("test.parallel", strconv.Itoa(max(4, 2*runtime.GOMAXPROCS(0))))
	}
}

func scan() []string {
	mu.Lock()
	defer mu.Unlock()
	found := append([]string(nil), leaks...)
	for _, r := range outputs {
		what := "vrwxctl " + strings.Join(r.Args, " ")
		found = append(found, find(what+" (argv)", what)...)
		found = append(found, find(what+" (stdout)", r.Stdout)...)
		found = append(found, find(what+" (stderr)", r.Stderr)...)
	}
	return found
}

// Record adds output produced outside Run/Exec (a shell pipeline around the binary,
// say) to what Main scans for keys.
func Record(command, output string, code int) {
	record(Result{Args: []string{command}, Stdout: output, Code: code})
}
