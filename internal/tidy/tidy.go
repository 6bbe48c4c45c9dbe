// Package tidy checks the house rules of govsr that the compiler and go vet
// do not: the determinism rules of the simulation code (no wall clock,
// goroutines, global randomness, or map order deciding anything), short
// functions, and comments that stay true (doc links and file names that
// resolve, no TODO without an issue). It reads the Go syntax tree and, for
// the determinism rules, the types; tidy_test.go runs every rule over the
// module, so `make test` enforces them.
//
// Each rule is a function from parsed sources to findings, so a test can run
// it over small synthetic sources (testdata/) and show that it fails.
package tidy

import (
	"fmt"
	"go/token"
	"sort"
)

// Rule names, as findings and the testdata's want: markers spell them.
const (
	RuleDeterminism = "determinism"
	RuleMapOrder    = "map-order"
	RuleLength      = "length"
	RuleDocLink     = "doclink"
	RuleFileRef     = "fileref"
	RuleTodo        = "todo"
)

// Finding is one place that breaks a rule.
type Finding struct {
	Pos     token.Position
	Rule    string
	Message string
}

func (f Finding) String() string {
	return fmt.Sprintf("%s:%d: %s: %s", f.Pos.Filename, f.Pos.Line, f.Rule, f.Message)
}

// sortFindings orders findings by file, line and rule, so reports are stable.
func sortFindings(findings []Finding) {
	sort.SliceStable(findings, func(i, j int) bool {
		a, b := findings[i], findings[j]
		if a.Pos.Filename != b.Pos.Filename {
			return a.Pos.Filename < b.Pos.Filename
		}
		if a.Pos.Line != b.Pos.Line {
			return a.Pos.Line < b.Pos.Line
		}
		return a.Rule < b.Rule
	})
}
