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

// textDecisions lists where src decides by an error's text: a look inside it
// (strings.Contains and its kin, bytes alike, a regexp match), an == with a literal
// or a switch on err.Error() — or on a variable that holds it (msg :=
// strings.ToLower(err.Error())). Each is "file:line func".
// Functions named in allowed ("pkg/chain.nodeSays") are left alone.
func textDecisions(fset *token.FileSet, pkg string, f *ast.File, allowed []string) []string {
	var out []string
	for _, d := range f.Decls {
		fn, ok := d.(*ast.FuncDecl)
		if !ok || fn.Body == nil || slices.Contains(allowed, pkg+"."+fn.Name.Name) {
			continue
		}
		tainted := map[string]bool{}
		holdsText := func(e ast.Expr) bool {
			found := false
			var look func(n ast.Node) bool
			look = func(n ast.Node) bool {
				switch n := n.(type) {
				case *ast.CallExpr:
					if sel, ok := n.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "Error" && len(n.Args) == 0 {
						found = true
					}
				case *ast.SelectorExpr:
					// x.name: only x can hold a variable; name is a field or method.
					ast.Inspect(n.X, look)
					return false
				case *ast.Ident:
					if tainted[n.Name] {
						found = true
					}
				}
				return !found
			}
			ast.Inspect(e, look)
			return found
		}
		report := func(n ast.Node) {
			out = append(out, fset.Position(n.Pos()).String()+" "+fn.Name.Name)
		}
		ast.Inspect(fn.Body, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.AssignStmt:
				for i, r := range n.Rhs {
					if i < len(n.Lhs) && holdsText(r) {
						if id, ok := n.Lhs[i].(*ast.Ident); ok {
							tainted[id.Name] = true
						}
					}
				}
			case *ast.ValueSpec:
				for i, v := range n.Values {
					if i < len(n.Names) && holdsText(v) {
						tainted[n.Names[i].Name] = true
					}
				}
			case *ast.CallExpr:
				if compares(n) && slices.ContainsFunc(n.Args, holdsText) {
					report(n)
				}
			case *ast.BinaryExpr:
				// Two messages compared (to say a change once) decide nothing by words;
				// a message compared with a literal does.
				if (n.Op == token.EQL || n.Op == token.NEQ) && (holdsText(n.X) && isLiteral(n.Y) || holdsText(n.Y) && isLiteral(n.X)) {
					report(n)
				}
			case *ast.SwitchStmt:
				if n.Tag != nil && holdsText(n.Tag) {
					report(n)
				}
			}
			return true
		})
	}
	return out
}

func isLiteral(e ast.Expr) bool {
	lit, ok := e.(*ast.BasicLit)
	return ok && lit.Kind == token.STRING
}

// compares reports whether call looks inside or compares strings: strings.Contains
// and its kin, the same in bytes, and any MatchString/FindString (regexp).
func compares(call *ast.CallExpr) bool {
	sel, ok := call.Fun.(*ast.SelectorExpr)
	if !ok {
		return false
	}
	name := sel.Sel.Name
	if strings.HasPrefix(name, "Match") || strings.HasPrefix(name, "Find") {
		return true
	}
	pkg, ok := sel.X.(*ast.Ident)
	if !ok || (pkg.Name != "strings" && pkg.Name != "bytes") {
		return false
	}
	for _, p := range []string{"Contains", "HasPrefix", "HasSuffix", "EqualFold", "Index", "LastIndex", "Count", "Cut", "Compare"} {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// No code that goes into the binary decides what to do by an error's words: errors
// have kinds (errs), sentinels and types, tested with errors.Is/As. The one place
// that must read words is pkg/chain's nodeSays: a node's JSON-RPC error is a code
// and a message, and nodes agree on the message more than on the code.
func TestNoDecisionByErrorText(t *testing.T) {
	cmd := exec.Command("go", "list", "-deps", "-json=ImportPath,Dir,GoFiles", module+"cmd/vrwxctl")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	files := 0
	for {
		var p struct {
			ImportPath, Dir string
			GoFiles         []string
		}
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		path, ok := strings.CutPrefix(p.ImportPath, module)
		if !ok {
			continue
		}
		for _, name := range p.GoFiles {
			fset := token.NewFileSet()
			f, err := parser.ParseFile(fset, filepath.Join(p.Dir, name), nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			files++
			for _, d := range textDecisions(fset, path, f, []string{"pkg/chain.nodeSays"}) {
				t.Errorf("%s decides by an error's text: test its kind (errs.KindOf), sentinel (errors.Is) or type (errors.As)", d)
			}
		}
	}
	if files < 100 {
		t.Fatalf("only %d files of the binary were read: the check would prove nothing", files)
	}
}

// The check finds what it is for, and leaves formatting alone.
func TestErrorTextRules(t *testing.T) {
	src := `package p
func bad1(err error) bool { return strings.Contains(err.Error(), "nothing to send") }
func bad2(err error) bool {
	msg := strings.ToLower(err.Error())
	return strings.HasPrefix(msg, "nonce")
}
func bad3(err error) bool { return err.Error() == "EOF" }
func changed(err error, last string) bool { return err.Error() != last }
func bad4(e error) int {
	switch e.Error() {
	case "x":
		return 1
	}
	return 0
}
func bad5(err error) bool { return re.MatchString(err.Error()) }
func allowed(err error) bool { return strings.Contains(err.Error(), "revert") }
func good(err error) string {
	msg := strings.Join(strings.Fields(err.Error()), " ")
	return strings.ReplaceAll(msg, "a", "b") + fmt.Sprintf("%v", errors.Is(err, io.EOF))
}
`
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "p.go", src, 0)
	if err != nil {
		t.Fatal(err)
	}
	got := textDecisions(fset, "p", f, []string{"p.allowed"})
	var funcs []string
	for _, g := range got {
		funcs = append(funcs, g[strings.LastIndex(g, " ")+1:])
	}
	if want := []string{"bad1", "bad2", "bad3", "bad4", "bad5"}; !slices.Equal(funcs, want) {
		t.Errorf("found %q, want one in each of %q", got, want)
	}
}
