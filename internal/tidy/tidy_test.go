package tidy

import (
	"go/ast"
	"path/filepath"
	"strings"
	"testing"
)

// simulationDirs are the packages that must replay one seed exactly: the
// protocol core, its example state machine, the fault model and the
// simulator. vsr/bus and vsr/storage are the real environment around the
// core and may use the clock and goroutines; cmd/ may read the wall clock
// for reporting.
var simulationDirs = []string{"vsr", "vsr/kv", "faults", "vopr"}

// moduleRoot is where this package sits: internal/tidy.
const moduleRoot = "../.."

func loadModule(t *testing.T) *Module {
	t.Helper()
	m, err := LoadModule(moduleRoot)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// reportFindings fails t with each finding, its file named from the
// module root.
func reportFindings(t *testing.T, m *Module, findings []Finding) {
	t.Helper()
	for _, f := range findings {
		t.Error(strings.TrimPrefix(f.String(), m.Root+string(filepath.Separator)))
	}
}

// TestDeterminism checks the simulation packages' non-test files for the
// wall clock, goroutines, global randomness and map order.
func TestDeterminism(t *testing.T) {
	m := loadModule(t)
	patterns := make([]string, len(simulationDirs))
	for i, dir := range simulationDirs {
		patterns[i] = "./" + dir
	}
	imp, err := ExportImporter(m.Fset, m.Root, patterns...)
	if err != nil {
		t.Fatal(err)
	}
	for _, dir := range simulationDirs {
		pkg := m.Package(dir)
		if pkg == nil {
			t.Fatalf("no package in %s", dir)
		}
		info, err := m.TypeCheck(pkg, imp)
		if err != nil {
			t.Fatalf("%s: %v", dir, err)
		}
		reportFindings(t, m, CheckDeterminism(m.Fset, nonTestFiles(pkg), info))
	}
}

func nonTestFiles(pkg *Package) []*ast.File {
	var files []*ast.File
	for _, f := range pkg.Files {
		if !f.Test {
			files = append(files, f.AST)
		}
	}
	return files
}

func allFiles(m *Module) ([]*File, []*ast.File) {
	var files []*File
	var asts []*ast.File
	for _, pkg := range m.Packages {
		for _, f := range pkg.Files {
			files = append(files, f)
			asts = append(asts, f.AST)
		}
	}
	return files, asts
}

// TestComments checks every comment of the module: doc links and file names
// resolve, and each TODO names its issue.
func TestComments(t *testing.T) {
	m := loadModule(t)
	files, asts := allFiles(m)
	reportFindings(t, m, CheckDocLinks(m))
	reportFindings(t, m, CheckFileRefs(m, files, outsideDocs))
	reportFindings(t, m, CheckTodos(m.Fset, asts))
}

// outsideDocs are the documents comments may name that live beside the
// repository, not in it (README.md, "Design": the design document and the
// style notes are kept in shared/).
var outsideDocs = []string{"DESIGN.md", "STYLE.md"}

// lengthRatchet records how many functions of the module are over
// FunctionLinesMax lines.
const lengthRatchet = "functions_over_70_lines.txt"

// TestLength counts the module's functions over FunctionLinesMax lines: the
// count may only fall.
func TestLength(t *testing.T) {
	m := loadModule(t)
	_, asts := allFiles(m)
	findings := CheckLength(m.Fset, asts)
	recorded, err := ReadRatchet(lengthRatchet)
	if err != nil {
		t.Fatal(err)
	}
	if err := Ratchet(lengthRatchet, recorded, len(findings)); err != nil {
		for _, f := range findings {
			t.Log(strings.TrimPrefix(f.String(), m.Root+string(filepath.Separator)))
		}
		t.Error(err)
	}
}
