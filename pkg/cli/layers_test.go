package cli

import (
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/vrwx/vrwxctl/"

// listed is what `go list -json` says about one package.
type listed struct {
	ImportPath   string
	Imports      []string
	TestImports  []string
	XTestImports []string
	// Deps are every package it needs to build, transitively.
	Deps []string
}

// violations applies the layering rules to pkgs:
//   - a command package (pkg/cli/<group>) imports, in its code and its tests, only its
//     own package, pkg/cli/cmdutil (and its subpackages) and, in tests, pkg/cli/clitest:
//     never another command package; pkg/cli itself, pkg/cli/root and the test
//     harness clitest wire the groups together and may import them all;
//   - a domain package (under pkg/, not under pkg/cli) needs neither pkg/cli nor
//     cobra, not even through another package.
func violations(pkgs []listed) []string {
	var out []string
	for _, p := range pkgs {
		path := strings.TrimPrefix(p.ImportPath, module)
		switch {
		case path == "pkg/cli" || path == "pkg/cli/root" || path == "pkg/cli/clitest" || strings.HasPrefix(path, "pkg/cli/cmdutil"):
			// The wiring and the shared layer.
			if strings.HasPrefix(path, "pkg/cli/cmdutil") {
				for _, imp := range p.Imports {
					if group(imp) != "" {
						out = append(out, p.ImportPath+" imports the command package "+imp)
					}
				}
			}
		case strings.HasPrefix(path, "pkg/cli/"):
			own := group(p.ImportPath)
			check := func(imports []string, tests bool) {
				for _, imp := range imports {
					g := group(imp)
					switch {
					case g == "" && !strings.HasPrefix(imp, module+"pkg/cli"):
					case g == own:
					case strings.HasPrefix(imp, module+"pkg/cli/cmdutil"):
					case tests && imp == module+"pkg/cli/clitest":
					default:
						out = append(out, p.ImportPath+" imports "+imp+" (command packages import cmdutil, ui and the domain only)")
					}
				}
			}
			check(p.Imports, false)
			check(p.TestImports, true)
			check(p.XTestImports, true)
		case strings.HasPrefix(path, "pkg/"):
			for _, d := range p.Deps {
				if strings.HasPrefix(d, module+"pkg/cli") || d == "github.com/spf13/cobra" {
					out = append(out, p.ImportPath+" needs "+d+" (domain packages know nothing of the CLI)")
				}
			}
		}
	}
	return out
}

// group names the command group a package path belongs to ("" when it is none).
func group(imp string) string {
	rest, ok := strings.CutPrefix(imp, module+"pkg/cli/")
	if !ok {
		return ""
	}
	g, _, _ := strings.Cut(rest, "/")
	switch g {
	case "cmdutil", "clitest", "root":
		return ""
	}
	return g
}

func goList(t *testing.T) []listed {
	t.Helper()
	cmd := exec.Command("go", "list", "-deps=false", "-json=ImportPath,Imports,TestImports,XTestImports,Deps", module+"...")
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("go list: %v\n%s", err, ee.Stderr)
		}
		t.Fatalf("go list: %v", err)
	}
	var pkgs []listed
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p listed
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

// The layers of docs/ARCHITECTURE.md hold in the tree as it is.
func TestLayers(t *testing.T) {
	pkgs := goList(t)
	var groups, domain int
	for _, p := range pkgs {
		switch path := strings.TrimPrefix(p.ImportPath, module); {
		case group(p.ImportPath) != "":
			groups++
		case strings.HasPrefix(path, "pkg/") && !strings.HasPrefix(path, "pkg/cli"):
			domain++
		}
	}
	if groups < 10 || domain < 10 {
		t.Fatalf("go list found %d command packages and %d domain packages: the check would prove nothing", groups, domain)
	}
	for _, v := range violations(pkgs) {
		t.Error(v)
	}
}

// The rules catch what they are for.
func TestLayerRules(t *testing.T) {
	m := func(s string) string { return module + s }
	bad := []listed{
		{ImportPath: m("pkg/cli/dlq"), Imports: []string{m("pkg/cli/job"), m("pkg/cli/cmdutil"), m("pkg/dlq")}},
		{ImportPath: m("pkg/cli/job"), XTestImports: []string{m("pkg/cli/job"), m("pkg/cli/clitest"), m("pkg/cli/robot")}},
		{ImportPath: m("pkg/cli/robot"), Imports: []string{m("pkg/cli/clitest")}},
		{ImportPath: m("pkg/cli/cmdutil"), Imports: []string{m("pkg/cli/status")}},
		{ImportPath: m("pkg/completion"), Deps: []string{m("pkg/chain"), m("pkg/cli/cmdutil")}},
		{ImportPath: m("pkg/doctor"), Deps: []string{"github.com/spf13/cobra"}},
	}
	got := violations(bad)
	for _, want := range []string{
		"pkg/cli/dlq imports " + m("pkg/cli/job"),
		"pkg/cli/job imports " + m("pkg/cli/robot"),
		"pkg/cli/robot imports " + m("pkg/cli/clitest"),
		"pkg/cli/cmdutil imports the command package",
		"pkg/completion needs " + m("pkg/cli/cmdutil"),
		"pkg/doctor needs github.com/spf13/cobra",
	} {
		if !slices.ContainsFunc(got, func(v string) bool { return strings.Contains(v, want) }) {
			t.Errorf("no violation %q in %q", want, got)
		}
	}
	if len(got) != 6 {
		t.Errorf("%d violations, want 6: %q", len(got), got)
	}
	good := []listed{
		{ImportPath: m("pkg/cli/dlq"), Imports: []string{m("pkg/cli/cmdutil"), m("pkg/completion"), m("pkg/ui")},
			TestImports: []string{m("pkg/cli/cmdutil/cmdtest")}, XTestImports: []string{m("pkg/cli/clitest"), m("pkg/cli/dlq")}},
		{ImportPath: m("pkg/cli/root"), Imports: []string{m("pkg/cli/dlq"), m("pkg/cli/job")}},
		{ImportPath: m("pkg/cli"), Imports: []string{m("pkg/cli/root")}},
		{ImportPath: m("pkg/jobs"), Deps: []string{m("pkg/chain"), m("pkg/vrwx")}},
	}
	if v := violations(good); len(v) != 0 {
		t.Errorf("allowed imports reported: %q", v)
	}
}
