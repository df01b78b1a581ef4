package lazy

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// eagerCalls are calls that build something costly: in a package-level variable's
// initialiser, or an init function, every command runs them before main.
var eagerCalls = map[string]map[string]string{
	"regexp": {"Compile": "compiles a regexp", "MustCompile": "compiles a regexp", "CompilePOSIX": "compiles a regexp",
		"MustCompilePOSIX": "compiles a regexp", "MatchString": "compiles a regexp", "Match": "compiles a regexp", "MatchReader": "compiles a regexp"},
	"github.com/ethereum/go-ethereum/accounts/abi": {"JSON": "parses an ABI", "NewType": "parses an ABI type",
		"NewMethod": "builds an ABI method", "NewEvent": "builds an ABI event", "NewError": "builds an ABI error"},
	"text/template": {"New": "builds a template", "Must": "parses a template", "ParseFiles": "parses a template",
		"ParseGlob": "parses a template", "ParseFS": "parses a template"},
	"encoding/json":      {"Unmarshal": "decodes JSON"},
	"go.yaml.in/yaml/v3": {"Unmarshal": "decodes YAML"},
}

// eagerInits reports, for the Go files of one package, every package-level
// variable initialiser and init function that makes one of eagerCalls before main:
// directly, through a function literal called on the spot, or through the
// package's own functions it calls (followed to any depth). A function literal
// that is only passed along (to sync.OnceValue, say) runs later and is not
// followed.
func eagerInits(fset *token.FileSet, files []*ast.File) []string {
	funcs := map[string]*ast.FuncDecl{}
	for _, f := range files {
		for _, d := range f.Decls {
			if fd, ok := d.(*ast.FuncDecl); ok && fd.Recv == nil && fd.Name.Name != "init" {
				funcs[fd.Name.Name] = fd
			}
		}
	}
	var out []string
	for _, f := range files {
		imports := map[string]string{} // local name -> import path
		for _, im := range f.Imports {
			p, _ := strconv.Unquote(im.Path.Value)
			name := p[strings.LastIndex(p, "/")+1:]
			if p == "go.yaml.in/yaml/v3" {
				name = "yaml"
			}
			if im.Name != nil {
				name = im.Name.Name
			}
			imports[name] = p
		}
		// find returns what the first eager call reachable from n does, and where.
		var find func(n ast.Node, seen map[string]bool) (what string, at token.Pos)
		find = func(n ast.Node, seen map[string]bool) (string, token.Pos) {
			var what string
			var at token.Pos
			ast.Inspect(n, func(n ast.Node) bool {
				if what != "" {
					return false
				}
				switch n := n.(type) {
				case *ast.FuncLit:
					return false // runs when called, not here
				case *ast.CallExpr:
					switch fun := n.Fun.(type) {
					case *ast.FuncLit: // func() T { ... }(): runs here
						what, at = find(fun.Body, seen)
					case *ast.SelectorExpr:
						if x, ok := fun.X.(*ast.Ident); ok {
							if w, ok := eagerCalls[imports[x.Name]][fun.Sel.Name]; ok {
								what, at = fmt.Sprintf("%s (%s.%s)", w, x.Name, fun.Sel.Name), n.Pos()
							}
						}
					case *ast.Ident:
						if fd, ok := funcs[fun.Name]; ok && !seen[fun.Name] && fd.Body != nil {
							seen[fun.Name] = true
							if w, p := find(fd.Body, seen); w != "" {
								what, at = w+" in "+fun.Name, p
							}
						}
					}
				}
				return what == ""
			})
			return what, at
		}
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				if d.Recv == nil && d.Name.Name == "init" && d.Body != nil {
					if what, at := find(d.Body, map[string]bool{}); what != "" {
						out = append(out, fmt.Sprintf("%s: func init %s", fset.Position(at), what))
					}
				}
			case *ast.GenDecl:
				if d.Tok != token.VAR {
					continue
				}
				for _, spec := range d.Specs {
					vs := spec.(*ast.ValueSpec)
					for _, v := range vs.Values {
						if what, at := find(v, map[string]bool{}); what != "" {
							out = append(out, fmt.Sprintf("%s: var %s %s", fset.Position(at), vs.Names[0].Name, what))
						}
					}
				}
			}
		}
	}
	return out
}

// No package the binary links compiles a regexp, parses an ABI or a template, or
// decodes embedded data before main: every command would pay for it, `vrwxctl
// version` included (docs/ARCHITECTURE.md, Start-up). Build it on first use:
// &lazy.Regexp{Expr: ...}, or sync.OnceValue. (The binary's own start-up figures,
// measured, are in `make bench`; scripts/bench's tests hold its package init to a
// budget whatever builds it.)
func TestNothingIsBuiltAtInit(t *testing.T) {
	cmd := exec.Command("go", "list", "-deps", "-f",
		`{{if .Module}}{{if eq .Module.Path "github.com/vrwx/vrwxctl"}}{{.Dir}}|{{join .GoFiles ","}}{{end}}{{end}}`,
		"github.com/vrwx/vrwxctl/cmd/vrwxctl")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var found []string
	pkgs := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		dir, names, ok := strings.Cut(line, "|")
		if !ok || names == "" {
			continue
		}
		pkgs++
		fset := token.NewFileSet()
		var files []*ast.File
		for _, n := range strings.Split(names, ",") {
			f, err := parser.ParseFile(fset, filepath.Join(dir, n), nil, parser.SkipObjectResolution)
			if err != nil {
				t.Fatal(err)
			}
			files = append(files, f)
		}
		found = append(found, eagerInits(fset, files)...)
	}
	if pkgs < 20 {
		t.Fatalf("go list found %d of vrwxctl's packages in the binary; the scan would prove nothing:\n%s", pkgs, out)
	}
	sort.Strings(found)
	for _, f := range found {
		t.Errorf("%s at start-up; build it on first use (sync.OnceValue; a regexp: &lazy.Regexp{Expr: ...})", f)
	}
}

// The scan finds eager calls however they are dressed, and leaves lazy ones alone.
func TestEagerInitsFindsWhatRunsBeforeMain(t *testing.T) {
	src := `package p

import (
	"regexp"
	"sync"
	ethabi "github.com/ethereum/go-ethereum/accounts/abi"
)

var direct = regexp.MustCompile("a")
var viaHelper = must("b")
var viaLiteral = func() *regexp.Regexp { return regexp.MustCompile("c") }()
var inComposite = []*regexp.Regexp{nil, helper2()}
var renamed, _ = ethabi.NewType("uint256", "", nil)

var lazyOnce = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile("d") })
var lazyStruct = &struct{ expr string }{"e"}
var plain = len("f")

func must(s string) *regexp.Regexp { return regexp.MustCompile(s) }
func helper2() *regexp.Regexp    { return must("g") }
func later() *regexp.Regexp      { return regexp.MustCompile("h") }

func init() { _ = must("i") }
`
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "p.go", src, 0)
	if err != nil {
		t.Fatal(err)
	}
	got := eagerInits(fset, []*ast.File{f})
	want := []string{
		"var direct compiles a regexp (regexp.MustCompile)",
		"var viaHelper compiles a regexp (regexp.MustCompile) in must",
		"var viaLiteral compiles a regexp (regexp.MustCompile)",
		"var inComposite compiles a regexp (regexp.MustCompile) in must in helper2",
		"var renamed parses an ABI type (ethabi.NewType)",
		"func init compiles a regexp (regexp.MustCompile) in must",
	}
	if len(got) != len(want) {
		t.Fatalf("found %d, want %d:\n%s", len(got), len(want), strings.Join(got, "\n"))
	}
	for i, w := range want {
		if _, rest, _ := strings.Cut(got[i], ": "); rest != w {
			t.Errorf("finding %d: %q, want %q", i, got[i], w)
		}
	}
}
