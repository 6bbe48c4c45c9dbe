package tidy

import (
	"go/ast"
	"go/doc/comment"
	"go/token"
	"path"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// commentLine is one line of a comment, without its // or /* */ markers.
type commentLine struct {
	pos  token.Position
	text string
	code bool // a tab-indented line: a code block, where nothing is a link
}

// lines splits a file's comments into lines. A // comment loses the one
// space after its slashes, as go/doc strips it; a line indented by a tab is
// code.
func lines(fset *token.FileSet, f *ast.File) []commentLine {
	var out []commentLine
	for _, group := range f.Comments {
		for _, c := range group.List {
			pos := fset.Position(c.Slash)
			text := c.Text
			if strings.HasPrefix(text, "//") {
				text = strings.TrimPrefix(text[2:], " ")
				out = append(out, commentLine{pos: pos, text: text, code: strings.HasPrefix(text, "\t")})
				continue
			}
			text = strings.TrimSuffix(strings.TrimPrefix(text, "/*"), "*/")
			for i, line := range strings.Split(text, "\n") {
				p := pos
				p.Line += i
				out = append(out, commentLine{pos: p, text: line, code: strings.HasPrefix(line, "\t")})
			}
		}
	}
	return out
}

// notePattern matches a to-do note: TODO or FIXME opening a comment line,
// or followed by a colon or a parenthesis. The words in the middle of prose
// (as in this sentence) are no note.
var notePattern = regexp.MustCompile(`^\s*(TODO|FIXME)\b|\b(TODO|FIXME)[:(]`)

// noteForm is the one allowed form of a note, as in TODO(issue 7): what is
// left to do.
var noteForm = regexp.MustCompile(`\b(TODO|FIXME)\(issue [0-9]+\): \S`)

// CheckTodos reports every to-do note in a comment that does not name its
// issue in the form TODO(issue 7): what is left to do.
func CheckTodos(fset *token.FileSet, files []*ast.File) []Finding {
	var findings []Finding
	for _, f := range files {
		for _, line := range lines(fset, f) {
			notes := notePattern.FindAllStringIndex(line.text, -1)
			good := noteForm.FindAllStringIndex(line.text, -1)
			if len(notes) > len(good) {
				findings = append(findings, Finding{Pos: line.pos, Rule: RuleTodo,
					Message: "a to-do note names its issue: TODO(issue N): what is left to do"})
			}
		}
	}
	sortFindings(findings)
	return findings
}

// fileRefPattern matches what reads as a file name in prose: a path ending
// in an extension of the module's own sources and documents.
var fileRefPattern = regexp.MustCompile(`(?:\.\.?/)?[A-Za-z0-9][A-Za-z0-9_.-]*(?:/[A-Za-z0-9_.-]+)*\.(?:go|md|sh|ya?ml|mod)\b`)

// urlPattern matches a URL, whose path names files of other repositories.
var urlPattern = regexp.MustCompile(`[a-z][a-z0-9+.-]*://\S+`)

// CheckFileRefs reports file names in comments that name no file of the
// module. A name with a directory resolves from the module root or from the
// commenting file's directory; a bare name resolves in the commenting
// file's directory or, failing that, anywhere in the module. Names inside
// URLs are left alone, and so are the names in outside: documents kept
// beside the repository on purpose.
func CheckFileRefs(m *Module, files []*File, outside []string) []Finding {
	byBase := map[string]bool{}
	for _, name := range m.FileNames() {
		byBase[path.Base(name)] = true
	}
	for _, name := range outside {
		byBase[name] = true
	}
	var findings []Finding
	for _, f := range files {
		dir := path.Dir(f.Name)
		for _, line := range lines(m.Fset, f.AST) {
			text := urlPattern.ReplaceAllString(line.text, " ")
			for _, loc := range fileRefPattern.FindAllStringIndex(text, -1) {
				ref := text[loc[0]:loc[1]]
				if partOfWord(text[:loc[0]]) || resolvesFile(m, byBase, dir, ref) {
					continue
				}
				findings = append(findings, Finding{Pos: line.pos, Rule: RuleFileRef,
					Message: ref + " names no file of the module"})
			}
		}
	}
	sortFindings(findings)
	return findings
}

// partOfWord reports whether the text before a match ends in a character
// that could continue a file name, so the match is the tail of a longer
// word (a name that starts with an underscore) and no file name of its own.
func partOfWord(before string) bool {
	r, _ := utf8.DecodeLastRuneInString(before)
	return before != "" && (unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune("_.-/", r))
}

func resolvesFile(m *Module, byBase map[string]bool, dir, ref string) bool {
	if !strings.Contains(ref, "/") {
		return m.HasFile(path.Join(dir, ref)) || byBase[ref]
	}
	return m.HasFile(path.Clean(ref)) || m.HasFile(path.Join(dir, ref))
}

// symbols is what doc links in one package can name: its package-level
// identifiers, and per type its methods, fields and embedded types.
type symbols struct {
	top     map[string]bool
	members map[string]map[string]bool
	embeds  map[string][]string // a type's embedded types of the same package
	foreign map[string]bool     // a type that embeds one of another package
}

func newSymbols(files []*ast.File) *symbols {
	s := &symbols{top: map[string]bool{}, members: map[string]map[string]bool{},
		embeds: map[string][]string{}, foreign: map[string]bool{}}
	for _, f := range files {
		for _, decl := range f.Decls {
			s.addDecl(decl)
		}
	}
	return s
}

func (s *symbols) member(typ, name string) {
	if s.members[typ] == nil {
		s.members[typ] = map[string]bool{}
	}
	s.members[typ][name] = true
}

func (s *symbols) addDecl(decl ast.Decl) {
	switch d := decl.(type) {
	case *ast.FuncDecl:
		if d.Recv == nil || len(d.Recv.List) == 0 {
			s.top[d.Name.Name] = true
			return
		}
		if recv := typeName(d.Recv.List[0].Type); recv != "" {
			s.member(recv, d.Name.Name)
		}
	case *ast.GenDecl:
		for _, spec := range d.Specs {
			switch sp := spec.(type) {
			case *ast.TypeSpec:
				s.top[sp.Name.Name] = true
				s.addMembers(sp.Name.Name, sp.Type)
			case *ast.ValueSpec:
				for _, name := range sp.Names {
					s.top[name.Name] = true
				}
			}
		}
	}
}

// addMembers records the fields, interface methods and embedded types of
// the type typ, declared as t.
func (s *symbols) addMembers(typ string, t ast.Expr) {
	var fields *ast.FieldList
	switch x := t.(type) {
	case *ast.StructType:
		fields = x.Fields
	case *ast.InterfaceType:
		fields = x.Methods
	default:
		return
	}
	for _, field := range fields.List {
		for _, name := range field.Names {
			s.member(typ, name.Name)
		}
		if len(field.Names) > 0 {
			continue
		}
		if name := typeName(field.Type); name != "" {
			s.member(typ, name)
			s.embeds[typ] = append(s.embeds[typ], name)
		} else {
			s.foreign[typ] = true
		}
	}
}

// typeName returns the name of a type of this package written as T, *T,
// T[P] or *T[P], or "".
func typeName(e ast.Expr) string {
	switch x := e.(type) {
	case *ast.Ident:
		return x.Name
	case *ast.StarExpr:
		return typeName(x.X)
	case *ast.IndexExpr:
		return typeName(x.X)
	case *ast.IndexListExpr:
		return typeName(x.X)
	}
	return ""
}

// has reports whether recv.name (or name, when recv is "") names something.
func (s *symbols) has(recv, name string) bool {
	if recv == "" {
		return s.top[name]
	}
	return s.hasMember(recv, name, 0)
}

func (s *symbols) hasMember(typ, name string, depth int) bool {
	if s.members[typ][name] || s.foreign[typ] {
		return true
	}
	if depth > 8 {
		return false
	}
	for _, inner := range s.embeds[typ] {
		if s.hasMember(inner, name, depth+1) {
			return true
		}
	}
	return false
}

var linkPattern = regexp.MustCompile(`\[([^\[\]\s]+)\]`)

// CheckDocLinks reports doc links in the comments of the module's files
// that name nothing: a name in brackets, perhaps qualified by a type, a
// package, or both. Text reads as a link under go/doc's rules: a bracketed name set
// off by spaces or punctuation, outside code blocks, whose last element is
// capitalized or which names a known package. Links into the module's
// packages are checked against their declarations; links into other modules
// are taken on trust.
func CheckDocLinks(m *Module) []Finding {
	tables := map[string]*symbols{} // by import path
	byName := map[string]string{}   // module package name to import path
	for _, pkg := range m.Packages {
		var files []*ast.File
		for _, f := range pkg.Files {
			files = append(files, f.AST)
		}
		tables[pkg.ImportPath] = newSymbols(files)
		if pkg.Name != "" && pkg.Name != "main" {
			byName[pkg.Name] = pkg.ImportPath
		}
	}
	var findings []Finding
	for _, pkg := range m.Packages {
		for _, f := range pkg.Files {
			lookup := packageLookup(f.AST, byName)
			for _, line := range lines(m.Fset, f.AST) {
				for _, text := range linkTexts(line) {
					if msg := resolveLink(text, lookup, tables, pkg.ImportPath); msg != "" {
						findings = append(findings, Finding{Pos: line.pos, Rule: RuleDocLink, Message: msg})
					}
				}
			}
		}
	}
	sortFindings(findings)
	return findings
}

// linkTexts returns the bracketed texts of a comment line that go/doc could
// take for doc links: outside code, set off by space or punctuation, and
// not the label of a link definition ("[text]: URL").
func linkTexts(line commentLine) []string {
	if line.code {
		return nil
	}
	trimmed := strings.TrimSpace(line.text)
	var texts []string
	for _, loc := range linkPattern.FindAllStringSubmatchIndex(line.text, -1) {
		before, after := line.text[:loc[0]], line.text[loc[1]:]
		if loc[0] == strings.Index(line.text, trimmed) && strings.HasPrefix(after, ":") {
			continue // a link definition
		}
		if offText(before, true) && offText(after, false) {
			texts = append(texts, line.text[loc[2]:loc[3]])
		}
	}
	return texts
}

// offText reports whether the text next to a bracket sets it off: nothing,
// a space or a punctuation mark (go/doc's rule).
func offText(s string, before bool) bool {
	if s == "" {
		return true
	}
	var r rune
	if before {
		r, _ = utf8.DecodeLastRuneInString(s)
	} else {
		r, _ = utf8.DecodeRuneInString(s)
	}
	return unicode.IsPunct(r) || unicode.IsSpace(r)
}

// packageLookup returns how a file's comments name packages: its imports by
// name, the module's packages by name, and the standard library's
// single-element paths.
func packageLookup(f *ast.File, module map[string]string) func(string) (string, bool) {
	imports := map[string]string{}
	for _, spec := range f.Imports {
		p := strings.Trim(spec.Path.Value, `"`)
		name := path.Base(p)
		if isMajorVersion(name) {
			name = path.Base(path.Dir(p))
		}
		if spec.Name != nil {
			name = spec.Name.Name
		}
		imports[name] = p
	}
	return func(name string) (string, bool) {
		if p, ok := imports[name]; ok {
			return p, true
		}
		if p, ok := module[name]; ok {
			return p, true
		}
		return comment.DefaultLookupPackage(name)
	}
}

func isMajorVersion(elem string) bool {
	return len(elem) > 1 && elem[0] == 'v' && strings.Trim(elem[1:], "0123456789") == ""
}

// resolveLink returns why the link text names nothing, or "" when it names
// something or is no link at all.
func resolveLink(text string, lookup func(string) (string, bool), tables map[string]*symbols, self string) string {
	text = strings.TrimPrefix(text, "*")
	pkg, name, ok := splitDocName(text)
	var recv string
	if ok {
		pkg, recv, _ = splitDocName(pkg)
	}
	target := self
	if pkg != "" {
		p, known := lookup(pkg)
		if !known {
			return "" // not a link under go/doc's rules
		}
		target = p
	}
	table, inModule := tables[target]
	switch {
	case !inModule || name == "":
		return "" // another module, or a link to a whole package
	case !table.has(recv, name):
		return "[" + text + "] names nothing in " + target
	}
	return ""
}

// splitDocName splits text at its last dot when what follows is a
// capitalized identifier, as go/doc does: "pkg.Name" gives "pkg", "Name".
func splitDocName(text string) (before, name string, ok bool) {
	i := strings.LastIndex(text, ".")
	name = text[i+1:]
	if !isExported(name) {
		return text, "", false
	}
	if i >= 0 {
		before = text[:i]
	}
	return before, name, true
}

// isExported reports whether s is a Go identifier starting with a capital.
func isExported(s string) bool {
	for i, r := range s {
		if !unicode.IsLetter(r) && r != '_' && (i == 0 || !unicode.IsDigit(r)) {
			return false
		}
	}
	r, _ := utf8.DecodeRuneInString(s)
	return s != "" && unicode.IsUpper(r)
}
