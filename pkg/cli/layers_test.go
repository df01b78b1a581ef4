package cli

import (
	"encoding/json"
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"os/exec"
	"path/filepath"
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

// operationUses lists what a command must leave to the operation layer: an audit
// log line built (an audit.Entry literal or variable; reading the log, as `audit
// list` does, is fine: key changes are recorded by keyops, sends by txflow) and
// a sweep or a replacement built by hand (chain.TxRequest's Sweep, Keep, MinMaxFee,
// MinPriority: txflow.Drain and txflow.Replace hold the drain and the fee rule).
// A request is known by its type's name: a chain.TxRequest literal, or a variable
// or parameter declared or initialised as one.
func operationUses(fset *token.FileSet, f *ast.File) []string {
	isTxRequest := func(e ast.Expr) bool {
		if u, ok := e.(*ast.UnaryExpr); ok {
			e = u.X
		}
		if st, ok := e.(*ast.StarExpr); ok {
			e = st.X
		}
		if cl, ok := e.(*ast.CompositeLit); ok {
			e = cl.Type
		}
		sel, ok := e.(*ast.SelectorExpr)
		if !ok {
			return false
		}
		pkg, ok := sel.X.(*ast.Ident)
		return ok && pkg.Name == "chain" && sel.Sel.Name == "TxRequest"
	}
	moneyField := map[string]bool{"Sweep": true, "Keep": true, "MinMaxFee": true, "MinPriority": true}
	requests := map[string]bool{}
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.Field:
			if isTxRequest(n.Type) {
				for _, id := range n.Names {
					requests[id.Name] = true
				}
			}
		case *ast.ValueSpec:
			for i, id := range n.Names {
				if isTxRequest(n.Type) || i < len(n.Values) && isTxRequest(n.Values[i]) {
					requests[id.Name] = true
				}
			}
		case *ast.AssignStmt:
			for i, r := range n.Rhs {
				if id, ok := n.Lhs[min(i, len(n.Lhs)-1)].(*ast.Ident); ok && isTxRequest(r) {
					requests[id.Name] = true
				}
			}
		}
		return true
	})
	var out []string
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.ValueSpec:
			if isAuditEntry(n.Type) {
				out = append(out, fset.Position(n.Pos()).String()+" declares an audit.Entry")
			}
		case *ast.SelectorExpr:
			if id, ok := n.X.(*ast.Ident); ok && requests[id.Name] && moneyField[n.Sel.Name] {
				out = append(out, fset.Position(n.Pos()).String()+" sets a request's "+n.Sel.Name)
			}
		case *ast.CompositeLit:
			if isAuditEntry(n.Type) {
				out = append(out, fset.Position(n.Pos()).String()+" builds an audit.Entry")
			}
			if !isTxRequest(n) {
				return true
			}
			for _, el := range n.Elts {
				if kv, ok := el.(*ast.KeyValueExpr); ok {
					if k, ok := kv.Key.(*ast.Ident); ok && moneyField[k.Name] {
						out = append(out, fset.Position(kv.Pos()).String()+" builds a request with "+k.Name)
					}
				}
			}
		}
		return true
	})
	return out
}

// runEs lists the RunE functions of f whose last statement is not `return
// cmdutil.Run(…)`.
func runEs(fset *token.FileSet, f *ast.File) []string {
	var out []string
	ast.Inspect(f, func(n ast.Node) bool {
		kv, ok := n.(*ast.KeyValueExpr)
		if !ok {
			return true
		}
		if k, ok := kv.Key.(*ast.Ident); !ok || k.Name != "RunE" {
			return true
		}
		good := false
		if fn, ok := kv.Value.(*ast.FuncLit); ok && len(fn.Body.List) > 0 {
			if ret, ok := fn.Body.List[len(fn.Body.List)-1].(*ast.ReturnStmt); ok && len(ret.Results) == 1 {
				if call, ok := ret.Results[0].(*ast.CallExpr); ok {
					if sel, ok := call.Fun.(*ast.SelectorExpr); ok {
						pkg, ok := sel.X.(*ast.Ident)
						good = ok && pkg.Name == "cmdutil" && sel.Sel.Name == "Run"
					}
				}
			}
		}
		if !good {
			out = append(out, fset.Position(kv.Pos()).String())
		}
		return true
	})
	return out
}

func isAuditEntry(e ast.Expr) bool {
	sel, ok := e.(*ast.SelectorExpr)
	if !ok {
		return false
	}
	pkg, ok := sel.X.(*ast.Ident)
	return ok && pkg.Name == "audit" && sel.Sel.Name == "Entry"
}

// Commands move no money and change no key themselves: they call txflow and keyops,
// which write the audit log and hold the drain and the replacement-fee rule. And
// every command's RunE ends in cmdutil.Run, so --timeout and the tests' runF apply
// to all of them.
func TestCommandsLeaveOperationsToWorkflows(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", "{{.Dir}}{{range .GoFiles}} {{.}}{{end}}", module+"pkg/cli/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	files := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		for _, name := range fields[1:] {
			fset := token.NewFileSet()
			f, err := parser.ParseFile(fset, filepath.Join(fields[0], name), nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			files++
			for _, v := range operationUses(fset, f) {
				t.Errorf("%s: commands call the operation layer (txflow, keyops) instead", v)
			}
			for _, v := range runEs(fset, f) {
				t.Errorf("%s: a command's RunE ends in cmdutil.Run (the --timeout bound, then the test's runF or xRun)", v)
			}
		}
	}
	if files < 50 {
		t.Fatalf("only %d files under pkg/cli: the check would prove nothing", files)
	}
}

func TestOperationRules(t *testing.T) {
	src := `package p
func a(l *audit.Log) { _ = l.Append(audit.Entry{Command: "key promote"}) }
func b() chain.TxRequest { return chain.TxRequest{To: x, Sweep: true, Keep: k} }
func c(r *chain.TxRequest) { r.MinMaxFee = bump(x) }
func ok(l *audit.Log) (*txflow.Drained, error) {
	opts.Keep, opts.Sweep = "0", true
	return flow.Drain(ctx, txflow.DrainRequest{To: x, Keep: k, SecondSweep: opts.Sweep})
}
func d() { var e audit.Entry; _ = []audit.Entry{} }
func cmds() {
	_ = &cobra.Command{RunE: func(cmd *cobra.Command, args []string) error { return cmdutil.Run(cmd.Context(), nil, opts, runF, xRun) }}
	_ = &cobra.Command{RunE: func(cmd *cobra.Command, args []string) error { return run(opts) }}
}
`
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "p.go", src, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got := runEs(fset, f); len(got) != 1 || !strings.HasPrefix(got[0], "p.go:12:") {
		t.Errorf("RunEs not ending in cmdutil.Run: %q, want the one on line 12", got)
	}
	got := operationUses(fset, f)
	want := []string{"2:37 builds an audit.Entry", "3:58 builds a request with Sweep", "3:71 builds a request with Keep", "4:30 sets a request's MinMaxFee",
		"9:16 declares an audit.Entry"}
	if len(got) != len(want) {
		t.Fatalf("found %q, want %q", got, want)
	}
	for i := range want {
		if !strings.HasSuffix(got[i], want[i]) {
			t.Errorf("found %q, want %q", got[i], want[i])
		}
	}
}
