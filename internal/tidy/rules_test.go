package tidy

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// The tests below run each rule over synthetic sources in testdata/, where
// a comment "want:RULE" marks each line that must break RULE. Every marked
// line must be reported and nothing else: the rules can fail, and the
// shapes they allow stay allowed.

var wantPattern = regexp.MustCompile(`want:([a-z-]+)`)

// wants returns, per "file:line", the rules the files' markers expect.
func wants(fset *token.FileSet, files []*ast.File) map[string][]string {
	want := map[string][]string{}
	for _, f := range files {
		for _, group := range f.Comments {
			for _, c := range group.List {
				for i, line := range strings.Split(c.Text, "\n") {
					pos := fset.Position(c.Slash)
					key := fmt.Sprintf("%s:%d", filepath.Base(pos.Filename), pos.Line+i)
					for _, m := range wantPattern.FindAllStringSubmatch(line, -1) {
						want[key] = append(want[key], m[1])
					}
				}
			}
		}
	}
	return want
}

// compareWants fails t for every marker without its finding and every
// finding without its marker.
func compareWants(t *testing.T, fset *token.FileSet, files []*ast.File, findings []Finding) {
	t.Helper()
	want := wants(fset, files)
	if len(want) == 0 {
		t.Fatal("the synthetic sources mark nothing: the test would prove nothing")
	}
	got := map[string][]string{}
	for _, f := range findings {
		key := fmt.Sprintf("%s:%d", filepath.Base(f.Pos.Filename), f.Pos.Line)
		got[key] = append(got[key], f.Rule)
	}
	for _, key := range sortedKeys(want, got) {
		w, g := want[key], got[key]
		slices.Sort(w)
		slices.Sort(g)
		if !slices.Equal(w, g) {
			t.Errorf("%s: want %v, got %v", key, w, g)
		}
	}
	for _, f := range findings {
		t.Log(f)
	}
}

func sortedKeys(maps ...map[string][]string) []string {
	var keys []string
	for _, m := range maps {
		for k := range m {
			if !slices.Contains(keys, k) {
				keys = append(keys, k)
			}
		}
	}
	slices.Sort(keys)
	return keys
}

func parseDir(t *testing.T, dir string) (*token.FileSet, []*ast.File) {
	t.Helper()
	fset := token.NewFileSet()
	names, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil || len(names) == 0 {
		t.Fatalf("no Go files in %s: %v", dir, err)
	}
	var files []*ast.File
	for _, name := range names {
		f, err := parser.ParseFile(fset, name, nil, parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	return fset, files
}

func TestDeterminismRules(t *testing.T) {
	fset, files := parseDir(t, "testdata/determinism")
	imp, err := ExportImporter(fset, ".", "crypto/rand", "maps", "math/rand", "math/rand/v2", "slices", "sort", "time")
	if err != nil {
		t.Fatal(err)
	}
	info, err := TypeCheckFiles(fset, "determinism", files, imp)
	if err != nil {
		t.Fatal(err)
	}
	compareWants(t, fset, files, CheckDeterminism(fset, files, info))
}

func TestLengthRule(t *testing.T) {
	fset, files := parseDir(t, "testdata/length")
	compareWants(t, fset, files, CheckLength(fset, files))
}

func TestCommentRules(t *testing.T) {
	m, err := LoadModule("testdata/comments")
	if err != nil {
		t.Fatal(err)
	}
	files, asts := allFiles(m)
	var findings []Finding
	findings = append(findings, CheckDocLinks(m)...)
	findings = append(findings, CheckFileRefs(m, files, []string{"DESIGN.md"})...)
	findings = append(findings, CheckTodos(m.Fset, asts)...)
	compareWants(t, m.Fset, asts, findings)
}

func TestRatchet(t *testing.T) {
	if err := Ratchet("f", 3, 3); err != nil {
		t.Errorf("an unchanged count: %v", err)
	}
	if err := Ratchet("f", 3, 4); err == nil || !strings.Contains(err.Error(), "may only fall") {
		t.Errorf("a rise must fail, saying so: %v", err)
	}
	if err := Ratchet("f", 3, 2); err == nil || !strings.Contains(err.Error(), "lower the number in the file to 2") {
		t.Errorf("a fall must fail, asking to lower the number: %v", err)
	}
}
