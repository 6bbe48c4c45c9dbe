package tidy

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"go/ast"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

// Module is every Go file of one module, parsed with comments, grouped by
// directory. Directories named testdata, hidden directories and nested
// modules (a directory with a go.mod of its own) are left out, as the go
// command leaves them out.
type Module struct {
	Root     string // absolute directory holding go.mod
	Path     string // the module path go.mod declares
	Fset     *token.FileSet
	Packages []*Package // sorted by Dir
	files    map[string]bool
}

// Package is the Go files of one directory: its own package and, when there
// is one, the external test package beside it.
type Package struct {
	Dir        string // relative to the module root, "." for the root
	ImportPath string
	Name       string // the package name of the non-test files
	Files      []*File
}

// File is one parsed source file.
type File struct {
	Name string // relative to the module root, slash-separated
	AST  *ast.File
	Test bool // a _test.go file
}

// LoadModule parses every Go file of the module rooted at root.
func LoadModule(root string) (*Module, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, err
	}
	path, err := modulePath(filepath.Join(abs, "go.mod"))
	if err != nil {
		return nil, err
	}
	m := &Module{Root: abs, Path: path, Fset: token.NewFileSet(), files: map[string]bool{}}
	byDir := map[string]*Package{}
	err = filepath.WalkDir(abs, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel := filepath.ToSlash(mustRel(abs, p))
		if d.IsDir() {
			if p != abs && skipDir(p, d.Name()) {
				return filepath.SkipDir
			}
			return nil
		}
		m.files[rel] = true
		if !strings.HasSuffix(d.Name(), ".go") {
			return nil
		}
		return m.addFile(byDir, rel)
	})
	if err != nil {
		return nil, err
	}
	for _, pkg := range byDir { // tidy:unordered sorted by Dir just below
		m.Packages = append(m.Packages, pkg)
	}
	sort.Slice(m.Packages, func(i, j int) bool { return m.Packages[i].Dir < m.Packages[j].Dir })
	return m, nil
}

// addFile parses the file rel and files it under its directory's package.
func (m *Module) addFile(byDir map[string]*Package, rel string) error {
	f, err := parser.ParseFile(m.Fset, filepath.Join(m.Root, filepath.FromSlash(rel)), nil, parser.ParseComments)
	if err != nil {
		return err
	}
	dir := filepath.ToSlash(filepath.Dir(filepath.FromSlash(rel)))
	pkg := byDir[dir]
	if pkg == nil {
		importPath := m.Path
		if dir != "." {
			importPath += "/" + dir
		}
		pkg = &Package{Dir: dir, ImportPath: importPath}
		byDir[dir] = pkg
	}
	test := strings.HasSuffix(rel, "_test.go")
	if !test {
		pkg.Name = f.Name.Name
	}
	pkg.Files = append(pkg.Files, &File{Name: rel, AST: f, Test: test})
	return nil
}

// HasFile reports whether the module holds a file (of any kind) at the
// slash-separated path rel from its root.
func (m *Module) HasFile(rel string) bool { return m.files[rel] }

// FileNames returns every file path of the module, relative to its root.
func (m *Module) FileNames() []string {
	names := make([]string, 0, len(m.files))
	for name := range m.files { // tidy:unordered sorted just below
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// Package returns the package in the directory dir, or nil.
func (m *Module) Package(dir string) *Package {
	for _, pkg := range m.Packages {
		if pkg.Dir == dir {
			return pkg
		}
	}
	return nil
}

// skipDir reports whether the walk leaves the directory p (named name) out.
func skipDir(p, name string) bool {
	if name == "testdata" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") {
		return true
	}
	_, err := os.Stat(filepath.Join(p, "go.mod"))
	return err == nil
}

func mustRel(base, p string) string {
	rel, err := filepath.Rel(base, p)
	if err != nil {
		panic(err) // p comes from walking base
	}
	return rel
}

// modulePath reads the module directive of a go.mod file.
func modulePath(gomod string) (string, error) {
	data, err := os.ReadFile(gomod)
	if err != nil {
		return "", err
	}
	for line := range strings.Lines(string(data)) {
		fields := strings.Fields(line)
		if len(fields) == 2 && fields[0] == "module" {
			return strings.Trim(fields[1], `"`), nil
		}
	}
	return "", fmt.Errorf("%s: no module directive", gomod)
}

// TypeCheck type-checks the non-test files of pkg with imports from imp.
func (m *Module) TypeCheck(pkg *Package, imp types.Importer) (*types.Info, error) {
	var files []*ast.File
	for _, f := range pkg.Files {
		if !f.Test {
			files = append(files, f.AST)
		}
	}
	return TypeCheckFiles(m.Fset, pkg.ImportPath, files, imp)
}

// TypeCheckFiles type-checks one package's files and returns what the
// checks need: the object each identifier uses and the type of each
// expression.
func TypeCheckFiles(fset *token.FileSet, path string, files []*ast.File, imp types.Importer) (*types.Info, error) {
	info := &types.Info{
		Types:      map[ast.Expr]types.TypeAndValue{},
		Uses:       map[*ast.Ident]types.Object{},
		Selections: map[*ast.SelectorExpr]*types.Selection{},
		Defs:       map[*ast.Ident]types.Object{},
	}
	var errs []error
	conf := types.Config{Importer: imp, Error: func(err error) { errs = append(errs, err) }}
	if _, err := conf.Check(path, fset, files, info); err != nil {
		return nil, errors.Join(errs...)
	}
	return info, nil
}

// ExportImporter returns an importer that reads the compiler's export data
// of patterns and everything they depend on, as `go list -export` in dir
// reports it; the go command builds what is missing. Reading export data
// keeps a check of one package from type-checking the standard library from
// source.
func ExportImporter(fset *token.FileSet, dir string, patterns ...string) (types.Importer, error) {
	args := append([]string{"list", "-e", "-export", "-deps", "-f", "{{.ImportPath}}\t{{.Export}}"}, patterns...)
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list -export: %v: %s", err, strings.TrimSpace(stderr.String()))
	}
	exports := map[string]string{}
	scanner := bufio.NewScanner(bytes.NewReader(out))
	for scanner.Scan() {
		path, file, ok := strings.Cut(scanner.Text(), "\t")
		if ok && file != "" {
			exports[path] = file
		}
	}
	lookup := func(path string) (io.ReadCloser, error) {
		file, ok := exports[path]
		if !ok {
			return nil, fmt.Errorf("no export data for %q", path)
		}
		return os.Open(file)
	}
	return importer.ForCompiler(fset, "gc", lookup), nil
}
