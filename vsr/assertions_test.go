package vsr

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// assertionDensityFloor is the least number of assertions per function the
// package's non-test code may have. It is a ratchet: raise it when the
// density grows, never lower it (STYLE.md: at least one per function).
const assertionDensityFloor = 0.2

// TestAssertionDensity counts, over the package's non-test files, the
// functions with a body and the assertions in them (calls of assert and
// panic), and fails if their ratio falls below assertionDensityFloor.
//
//	go test ./vsr -run TestAssertionDensity -v
func TestAssertionDensity(t *testing.T) {
	names, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(names)
	fset := token.NewFileSet()
	var functions, assertions int
	for _, name := range names {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		f, a := 0, 0
		for _, decl := range file.Decls {
			if fn, ok := decl.(*ast.FuncDecl); ok && fn.Body != nil {
				f++
				a += assertionsIn(fn.Body)
			}
		}
		t.Logf("%-22s %3d functions %4d assertions", name, f, a)
		functions, assertions = functions+f, assertions+a
	}
	if functions == 0 {
		t.Fatal("no functions found: run from the package directory")
	}
	density := float64(assertions) / float64(functions)
	t.Logf("vsr: %d functions, %d assertions: %.2f assertions per function (floor %.1f)",
		functions, assertions, density, assertionDensityFloor)
	if density < assertionDensityFloor {
		t.Fatalf("assertion density %.2f fell below the floor %.1f", density, assertionDensityFloor)
	}
}

// assertionsIn counts the calls of assert and panic under node.
func assertionsIn(node ast.Node) int {
	n := 0
	ast.Inspect(node, func(x ast.Node) bool {
		call, ok := x.(*ast.CallExpr)
		if !ok {
			return true
		}
		if id, ok := call.Fun.(*ast.Ident); ok && (id.Name == "assert" || id.Name == "panic") {
			n++
		}
		return true
	})
	return n
}
