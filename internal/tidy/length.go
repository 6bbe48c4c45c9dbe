package tidy

import (
	"fmt"
	"go/ast"
	"go/token"
	"os"
	"strconv"
	"strings"
)

// FunctionLinesMax is the longest a function may be, counted from its func
// line to its closing brace.
const FunctionLinesMax = 70

// CheckLength reports every function or method declaration longer than
// FunctionLinesMax lines.
func CheckLength(fset *token.FileSet, files []*ast.File) []Finding {
	var findings []Finding
	for _, f := range files {
		for _, decl := range f.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if !ok || fn.Body == nil {
				continue
			}
			start, end := fset.Position(fn.Type.Func), fset.Position(fn.Body.Rbrace)
			if lines := end.Line - start.Line + 1; lines > FunctionLinesMax {
				findings = append(findings, Finding{Pos: start, Rule: RuleLength,
					Message: fmt.Sprintf("%s is %d lines, over %d", fn.Name.Name, lines, FunctionLinesMax)})
			}
		}
	}
	sortFindings(findings)
	return findings
}

// Ratchet compares today's count of something that may only fall with the
// number recorded in file, and says what to do when they differ: a rise is
// a failure to fix in the code, a fall is a number to lower in the file so
// the gain is kept.
func Ratchet(file string, recorded, count int) error {
	switch {
	case count > recorded:
		return fmt.Errorf("%d now, %d recorded in %s: it may only fall; shorten what rose", count, recorded, file)
	case count < recorded:
		return fmt.Errorf("%d now, %d recorded in %s: lower the number in the file to %d to keep the gain", count, recorded, file, count)
	}
	return nil
}

// ReadRatchet reads the number a ratchet file records: its one line that is
// not blank and not a # comment.
func ReadRatchet(file string) (int, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(string(data)) {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		n, err := strconv.Atoi(line)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("%s: %q is not a count", file, line)
		}
		return n, nil
	}
	return 0, fmt.Errorf("%s: no count", file)
}
