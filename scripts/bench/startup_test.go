package main

import (
	"bytes"
	"fmt"
	"os/exec"
	"sort"
	"strings"
	"testing"
	"time"
)

const module = "github.com/vrwx/vrwxctl/"

// What the start-up rules allow (docs/ARCHITECTURE.md, Start-up). These are
// allocations counted by the runtime, the same on every run: no timing.
const (
	// ownInitBytes is the most one of vrwxctl's packages may allocate before main:
	// room for sentinel errors, big.Int constants, sync.OnceValue wrappers and a
	// small map (pkg/config's defaults are the largest, 2.8 KiB), not for a
	// compiled regexp or a parsed ABI (tens of KiB).
	ownInitBytes = 4 << 10
	// initBudget is what every linked package together may allocate before main.
	// 829647d, before the exporter, allocated 1643 KiB; with client_golang 1902
	// KiB; now 1545 KiB, most of it the AWS SDK (900 KiB: service endpoints and
	// schemas) and vault/api (308 KiB: 40 regexps). A dependency that adds more
	// than this leaves costs every command start-up time and memory: raise it
	// only knowing what for.
	initBudget = 1700 << 10
)

// heavyAtInit are packages that must not be linked at all: what their init does,
// every command would do.
var heavyAtInit = map[string]string{
	"github.com/prometheus/client_golang/prometheus": "its init builds the default registry with the Go and process collectors; it links protobuf",
	"google.golang.org/protobuf/reflect/protoregistry": "protobuf registers every linked message's descriptors at init, and its reflection " +
		"(reflect.Value.MethodByName) makes the linker keep every exported method of every linked type",
}

// Package initialisation of the binary stays small: `vrwxctl version` with
// GODEBUG=inittrace=1 shows what every package's initialisers allocated before
// main. No vrwxctl package builds anything there (a regexp, an ABI, a table: its
// allocations show it however it is written), no package known to register heavy
// state at init is linked, and the whole stays within a budget.
func TestPackageInitStaysSmall(t *testing.T) {
	inits, err := initTrace(binary(t), "version")
	if err != nil {
		t.Fatal(err)
	}
	var total, own int64
	ownPkgs := 0
	for _, p := range inits {
		total += p.Bytes
		if strings.HasPrefix(p.Pkg, module) {
			ownPkgs++
			own += p.Bytes
			if p.Bytes > ownInitBytes {
				t.Errorf("%s allocates %d bytes in %d allocations before main (at most %d): a package-level variable or init function builds "+
					"something every command pays for; build it on first use (sync.OnceValue, &lazy.Regexp{Expr: ...})", p.Pkg, p.Bytes, p.Allocs, ownInitBytes)
			}
		}
		if why, ok := heavyAtInit[p.Pkg]; ok {
			t.Errorf("the binary links %s: %s (`go mod why -m` and `go list -deps ./cmd/vrwxctl` show what brings it in)", p.Pkg, why)
		}
	}
	if total > initBudget {
		t.Errorf("package initialisation allocates %d KiB before main, over the budget of %d KiB; the heaviest:\n%s",
			total>>10, initBudget>>10, heaviest(inits, 8))
	}
	if ownPkgs == 0 || len(inits) < 50 {
		t.Fatalf("inittrace listed %d packages, %d of vrwxctl's: not the binary's trace", len(inits), ownPkgs)
	}
	t.Logf("%d packages do init work, allocating %d KiB (vrwxctl's own: %d bytes in %d packages)", len(inits), total>>10, own, ownPkgs)
}

// heaviest lists the n packages that allocate most before main.
func heaviest(inits []pkgInit, n int) string {
	by := append([]pkgInit(nil), inits...)
	sort.Slice(by, func(i, j int) bool { return by[i].Bytes > by[j].Bytes })
	var b strings.Builder
	for _, p := range by[:min(n, len(by))] {
		fmt.Fprintf(&b, "  %7d KiB  %s\n", p.Bytes>>10, p.Pkg)
	}
	return b.String()
}

// The linker removes methods nothing calls. Code that calls reflect's Method or
// MethodByName with a name known only at run time (text/template executing a
// template, protobuf's reflection) stops that for the whole program: every
// exported method of every type that reaches an interface is kept, the S3 client's
// hundreds of operations among them (+13 MB of binary, +5 MiB of RSS for every
// command). vrwxctl calls none of these S3 operations; the binary must not hold them.
func TestUnusedMethodsAreNotLinked(t *testing.T) {
	out, err := exec.Command("go", "tool", "nm", binary(t)).Output()
	if err != nil {
		t.Fatalf("go tool nm: %v", err)
	}
	if !bytes.Contains(out, []byte("github.com/aws/aws-sdk-go-v2/service/s3.(*Client).")) {
		t.Fatal("no S3 client method in the symbol table: not the binary this test expects")
	}
	for _, unused := range []string{"PutBucketLifecycleConfiguration", "DeleteBucketWebsite", "GetBucketAccelerateConfiguration"} {
		if bytes.Contains(out, []byte("github.com/aws/aws-sdk-go-v2/service/s3.(*Client)."+unused+"\n")) {
			t.Errorf("the binary links s3.(*Client).%s, which nothing calls: something reachable calls reflect.Value.Method or MethodByName "+
				"with a computed name; `go build -ldflags=-dumpdep ./cmd/vrwxctl 2>&1 | grep 'reflect.Value.MethodByName$'` shows the caller", unused)
		}
	}
}

// parseInitTrace reads the runtime's lines and nothing else.
func TestParseInitTrace(t *testing.T) {
	in := "init internal/bytealg @0.26 ms, 0 ms clock, 0 bytes, 0 allocs\n" +
		"some other line\n" +
		"init github.com/hashicorp/vault/api @10 ms, 0.41 ms clock, 315672 bytes, 3405 allocs\n"
	got, err := parseInitTrace(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []pkgInit{{"internal/bytealg", 0, 0, 0}, {"github.com/hashicorp/vault/api", 410 * time.Microsecond, 315672, 3405}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}
