package tidy

import (
	"fmt"
	"go/ast"
	"go/token"
	"go/types"
	"slices"
	"strings"
)

// wallClock is what package time offers that reads or waits on the wall
// clock. Durations and their constants stay allowed: they are numbers.
var wallClock = map[string]bool{
	"Now": true, "Since": true, "Until": true, "Sleep": true, "After": true,
	"AfterFunc": true, "NewTimer": true, "NewTicker": true, "Tick": true,
}

// CheckDeterminism reports, in one package's non-test files, every use of
// the wall clock, every go and select statement, every use of a global
// random source, and every range over a map whose order could decide
// something (see [mapRangeAllowed]). info must hold Uses and Types for the
// files.
func CheckDeterminism(fset *token.FileSet, files []*ast.File, info *types.Info) []Finding {
	var findings []Finding
	report := func(n ast.Node, rule, msg string) {
		findings = append(findings, Finding{Pos: fset.Position(n.Pos()), Rule: rule, Message: msg})
	}
	for _, f := range files {
		lines := commentLines(fset, f)
		judged := judgedIterators(f, info)
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.CallExpr:
				if mapIterator(n, info) && !judged[n] {
					report(n, RuleMapOrder, "maps.Keys, Values and All yield in random order: pass the iterator to slices.Sorted")
				}
			case *ast.GoStmt:
				report(n, RuleDeterminism, "go statement: the simulation runs on one goroutine")
			case *ast.SelectStmt:
				report(n, RuleDeterminism, "select statement: it picks among ready cases at random")
			case *ast.Ident:
				if msg := forbiddenUse(info.Uses[n]); msg != "" {
					report(n, RuleDeterminism, msg)
				}
			case *ast.BlockStmt:
				checkMapRanges(n.List, info, lines, fset, report)
			case *ast.CaseClause:
				checkMapRanges(n.Body, info, lines, fset, report)
			case *ast.CommClause:
				checkMapRanges(n.Body, info, lines, fset, report)
			}
			return true
		})
	}
	sortFindings(findings)
	return findings
}

// forbiddenUse returns why a use of obj breaks determinism, or "".
func forbiddenUse(obj types.Object) string {
	if obj == nil || obj.Pkg() == nil || obj.Parent() != obj.Pkg().Scope() {
		return "" // not a package-level object: methods and locals are fine
	}
	name := obj.Name()
	switch obj.Pkg().Path() {
	case "time":
		if wallClock[name] {
			return "time." + name + " reads the wall clock: count ticks or simulated nanoseconds"
		}
	case "math/rand", "math/rand/v2":
		if _, ok := obj.(*types.Func); ok && !strings.HasPrefix(name, "New") {
			return obj.Pkg().Path() + "." + name + " draws from the global source: draw from a seeded faults.PRNG stream"
		}
	case "crypto/rand":
		return "crypto/rand." + name + " is not reproducible: draw from a seeded faults.PRNG stream"
	}
	return ""
}

// checkMapRanges reports the ranges over maps among one block's statements
// that mapRangeAllowed does not allow.
func checkMapRanges(list []ast.Stmt, info *types.Info, lines map[int]string, fset *token.FileSet, report func(ast.Node, string, string)) {
	for i, stmt := range list {
		loop, ok := unlabel(stmt).(*ast.RangeStmt)
		if !ok || !(isMap(info.TypeOf(loop.X)) || mapIterator(loop.X, info)) {
			continue
		}
		line := fset.Position(loop.For).Line
		if reason, marked := unorderedMark(lines, line); marked {
			if reason == "" {
				report(loop, RuleMapOrder, "tidy:unordered needs a reason after it")
			}
			continue
		}
		if !mapRangeAllowed(loop, list[i+1:], info) {
			report(loop, RuleMapOrder, "range over a map: collect the keys and sort them, or say why order cannot matter with a tidy:unordered comment")
		}
	}
}

// unlabel returns the statement a label names, or s itself.
func unlabel(s ast.Stmt) ast.Stmt {
	for {
		l, ok := s.(*ast.LabeledStmt)
		if !ok {
			return s
		}
		s = l.Stmt
	}
}

// mapIterator reports whether e calls maps.Keys, maps.Values or maps.All,
// whose iterators yield in the map's random order.
func mapIterator(e ast.Expr, info *types.Info) bool {
	call, ok := e.(*ast.CallExpr)
	return ok && calls(call, info, "maps", "Keys", "Values", "All")
}

// calls reports whether call calls one of the functions names of package
// path.
func calls(call *ast.CallExpr, info *types.Info, path string, names ...string) bool {
	sel, ok := call.Fun.(*ast.SelectorExpr)
	if !ok {
		return false
	}
	fn, ok := info.ObjectOf(sel.Sel).(*types.Func)
	return ok && fn.Pkg() != nil && fn.Pkg().Path() == path && slices.Contains(names, fn.Name())
}

// judgedIterators returns the map iterators of f that another rule judges:
// those a range statement ranges over (the map-range rule), and those
// slices.Sorted and its kin put in order.
func judgedIterators(f *ast.File, info *types.Info) map[*ast.CallExpr]bool {
	judged := map[*ast.CallExpr]bool{}
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.RangeStmt:
			if call, ok := n.X.(*ast.CallExpr); ok {
				judged[call] = true
			}
		case *ast.CallExpr:
			if calls(n, info, "slices", "Sorted", "SortedFunc", "SortedStableFunc") && len(n.Args) > 0 {
				if call, ok := n.Args[0].(*ast.CallExpr); ok {
					judged[call] = true
				}
			}
		}
		return true
	})
	return judged
}

func isMap(t types.Type) bool {
	if t == nil {
		return false
	}
	_, ok := t.Underlying().(*types.Map)
	return ok
}

// unorderedMark finds a "tidy:unordered" comment on the loop's line or the
// line above and returns the reason written after it.
func unorderedMark(lines map[int]string, line int) (reason string, ok bool) {
	for _, l := range []int{line, line - 1} {
		text, found := lines[l]
		if !found {
			continue
		}
		if _, after, found := strings.Cut(text, "tidy:unordered"); found {
			return strings.TrimSpace(after), true
		}
	}
	return "", false
}

// commentLines maps each line of f that holds a comment to that comment's
// text.
func commentLines(fset *token.FileSet, f *ast.File) map[int]string {
	lines := map[int]string{}
	for _, group := range f.Comments {
		for _, c := range group.List {
			lines[fset.Position(c.Slash).Line] += c.Text
		}
	}
	return lines
}

// mapRangeAllowed reports whether the order in which loop visits its map
// cannot show. Two shapes qualify without a comment:
//
//   - collect then sort: every statement of the body appends to a slice
//     (optionally under an if whose condition calls nothing), and the
//     statements right after the loop sort every slice it appended to (a
//     comparator given to sort.Slice or slices.SortFunc must tell every two
//     elements apart, or ties keep the map's order: that, the rule cannot
//     check);
//   - commutative: every statement deletes from a map, stores into a map at
//     the range key, or adds to an integer, under conditions that call
//     nothing, so any order gives the same result.
func mapRangeAllowed(loop *ast.RangeStmt, after []ast.Stmt, info *types.Info) bool {
	b := body{info: info, written: writtenPlaces(loop.Body, info)}
	collected := map[types.Object]bool{}
	if b.collects(loop.Body.List, collected) && len(collected) > 0 {
		return sortedAfter(collected, after, info)
	}
	if key, ok := loop.Key.(*ast.Ident); ok {
		b.key = info.ObjectOf(key)
	}
	return b.commutes(loop.Body.List)
}

// body is what the shape checks of one loop body share: the places the body
// writes, which no condition or stored value may read (a condition on a
// running total makes the total depend on order), and the range key.
type body struct {
	info    *types.Info
	written [][]string
	key     types.Object
}

// clean reports whether e is pure and reads no place the body writes.
func (b body) clean(e ast.Expr) bool {
	if !pure(e, b.info) {
		return false
	}
	ok := true
	b.reads(e, func(read []string) {
		for _, w := range b.written {
			if overlaps(read, w) {
				ok = false
			}
		}
	})
	return ok
}

// overlaps reports whether one place path contains the other (s and s.f do,
// s.f and s.g do not).
func overlaps(a, b []string) bool {
	n := min(len(a), len(b))
	return n > 0 && slices.Equal(a[:n], b[:n])
}

// writtenPlaces returns the place paths of everything the body assigns,
// increments or deletes from.
func writtenPlaces(n ast.Node, info *types.Info) [][]string {
	var written [][]string
	add := func(e ast.Expr) {
		if p, ok := placePath(e, info); ok {
			written = append(written, p)
		}
	}
	ast.Inspect(n, func(n ast.Node) bool {
		switch s := n.(type) {
		case *ast.AssignStmt:
			for _, lhs := range s.Lhs {
				add(lhs)
			}
		case *ast.IncDecStmt:
			add(s.X)
		case *ast.CallExpr:
			if isBuiltin(s.Fun, info, "delete") && len(s.Args) > 0 {
				add(s.Args[0])
			}
		}
		return true
	})
	return written
}

// placePath names the variable place e denotes: the variable, then the field
// names selected from it; an index stands for its whole container (a[i].f
// is a). ok is false when e is no variable place.
func placePath(e ast.Expr, info *types.Info) (path []string, ok bool) {
	switch x := e.(type) {
	case *ast.Ident:
		v, isVar := info.ObjectOf(x).(*types.Var)
		if !isVar {
			return nil, false
		}
		return []string{fmt.Sprintf("%s@%d", v.Name(), v.Pos())}, true
	case *ast.SelectorExpr:
		sel, found := info.Selections[x]
		if !found { // a qualified identifier: pkg.Var
			return placePath(x.Sel, info)
		}
		if sel.Kind() != types.FieldVal {
			return nil, false
		}
		inner, ok := placePath(x.X, info)
		return append(inner, x.Sel.Name), ok
	case *ast.IndexExpr:
		return placePath(x.X, info)
	case *ast.StarExpr:
		return placePath(x.X, info)
	case *ast.ParenExpr:
		return placePath(x.X, info)
	}
	return nil, false
}

// reads calls add with the path of every variable place e reads.
func (b body) reads(e ast.Expr, add func([]string)) {
	ast.Inspect(e, func(n ast.Node) bool {
		switch x := n.(type) {
		case *ast.Ident, *ast.SelectorExpr:
			if p, ok := placePath(x.(ast.Expr), b.info); ok {
				add(p)
				return false
			}
		case *ast.IndexExpr:
			if p, ok := placePath(x.X, b.info); ok {
				add(p)
				b.reads(x.Index, add)
				return false
			}
		}
		return true
	})
}

// collects reports whether every statement appends to a slice variable (the
// append's first argument is the variable assigned), and records the
// variables.
func (b body) collects(list []ast.Stmt, into map[types.Object]bool) bool {
	for _, stmt := range list {
		switch s := stmt.(type) {
		case *ast.IfStmt:
			if s.Init != nil || !b.clean(s.Cond) || !b.collects(s.Body.List, into) {
				return false
			}
			if s.Else != nil && !b.collects([]ast.Stmt{s.Else}, into) {
				return false
			}
		case *ast.BlockStmt:
			if !b.collects(s.List, into) {
				return false
			}
		case *ast.AssignStmt:
			obj := b.appendTarget(s)
			if obj == nil {
				return false
			}
			into[obj] = true
		default:
			return false
		}
	}
	return true
}

// appendTarget returns v for `v = append(v, ...)`, or nil.
func (b body) appendTarget(s *ast.AssignStmt) types.Object {
	if s.Tok != token.ASSIGN || len(s.Lhs) != 1 || len(s.Rhs) != 1 {
		return nil
	}
	lhs, ok := s.Lhs[0].(*ast.Ident)
	call, isCall := s.Rhs[0].(*ast.CallExpr)
	if !ok || !isCall || !isBuiltin(call.Fun, b.info, "append") || len(call.Args) < 2 || call.Ellipsis.IsValid() {
		return nil
	}
	first, ok := call.Args[0].(*ast.Ident)
	if !ok || b.info.ObjectOf(first) != b.info.ObjectOf(lhs) {
		return nil
	}
	for _, arg := range call.Args[1:] {
		if !b.clean(arg) {
			return nil
		}
	}
	return b.info.ObjectOf(lhs)
}

// sortedAfter reports whether the statements that open after sort every
// variable of want, before anything else runs.
func sortedAfter(want map[types.Object]bool, after []ast.Stmt, info *types.Info) bool {
	sorted := map[types.Object]bool{}
	for _, stmt := range after {
		obj := sortCallTarget(stmt, info)
		if obj == nil {
			break
		}
		sorted[obj] = true
	}
	for obj := range want { // tidy:unordered only tests membership
		if !sorted[obj] {
			return false
		}
	}
	return true
}

// sortFuncs are the calls that put a slice (their first argument) in order.
var sortFuncs = map[string]bool{
	"sort.Strings": true, "sort.Ints": true, "sort.Float64s": true,
	"sort.Slice": true, "sort.SliceStable": true,
	"slices.Sort": true, "slices.SortFunc": true, "slices.SortStableFunc": true,
}

// sortCallTarget returns v for a statement such as `sort.Slice(v, ...)` or
// `slices.Sort(v)`, or nil.
func sortCallTarget(stmt ast.Stmt, info *types.Info) types.Object {
	expr, ok := stmt.(*ast.ExprStmt)
	if !ok {
		return nil
	}
	call, ok := expr.X.(*ast.CallExpr)
	if !ok || len(call.Args) == 0 {
		return nil
	}
	sel, ok := call.Fun.(*ast.SelectorExpr)
	if !ok {
		return nil
	}
	fn, ok := info.ObjectOf(sel.Sel).(*types.Func)
	if !ok || fn.Pkg() == nil || !sortFuncs[fn.Pkg().Path()+"."+fn.Name()] {
		return nil
	}
	arg, ok := call.Args[0].(*ast.Ident)
	if !ok {
		return nil
	}
	return info.ObjectOf(arg)
}

// commutes reports whether every statement is one whose effects commute
// across iterations: delete(m, k), m[key] = v at the range key, or integer
// x++, x--, x += v (also -=, |=, &=, ^=), each perhaps under an if, where no
// condition or value calls anything or reads what the body writes.
func (b body) commutes(list []ast.Stmt) bool {
	for _, stmt := range list {
		if !b.commutesOne(stmt) {
			return false
		}
	}
	return true
}

func (b body) commutesOne(stmt ast.Stmt) bool {
	switch s := stmt.(type) {
	case *ast.IfStmt:
		if s.Init != nil || !b.clean(s.Cond) || !b.commutes(s.Body.List) {
			return false
		}
		return s.Else == nil || b.commutesOne(s.Else)
	case *ast.BlockStmt:
		return b.commutes(s.List)
	case *ast.ExprStmt:
		call, ok := s.X.(*ast.CallExpr)
		return ok && isBuiltin(call.Fun, b.info, "delete") && b.target(call.Args[0]) && b.clean(call.Args[1])
	case *ast.IncDecStmt:
		return isInteger(b.info.TypeOf(s.X)) && b.target(s.X)
	case *ast.AssignStmt:
		return b.commutingAssign(s)
	}
	return false
}

// commutingAssign reports whether s is m[key] = v at the range key, or an
// integer x op= v with op commutative over iterations.
func (b body) commutingAssign(s *ast.AssignStmt) bool {
	if len(s.Lhs) != 1 || len(s.Rhs) != 1 || !b.target(s.Lhs[0]) || !b.clean(s.Rhs[0]) {
		return false
	}
	switch s.Tok {
	case token.ADD_ASSIGN, token.SUB_ASSIGN, token.OR_ASSIGN, token.AND_ASSIGN, token.XOR_ASSIGN:
		return isInteger(b.info.TypeOf(s.Lhs[0]))
	case token.ASSIGN:
		index, ok := s.Lhs[0].(*ast.IndexExpr)
		if !ok || !isMap(b.info.TypeOf(index.X)) || b.key == nil {
			return false
		}
		k, ok := index.Index.(*ast.Ident)
		return ok && b.info.ObjectOf(k) == b.key
	}
	return false
}

// target reports whether e, written to, is a plain place: a variable, field
// or element whose selectors and indexes are pure and read nothing the body
// writes beyond the place's own root.
func (b body) target(e ast.Expr) bool {
	for {
		switch x := e.(type) {
		case *ast.Ident:
			return true
		case *ast.SelectorExpr:
			e = x.X
		case *ast.IndexExpr:
			if !b.clean(x.Index) {
				return false
			}
			e = x.X
		case *ast.StarExpr:
			e = x.X
		case *ast.ParenExpr:
			e = x.X
		default:
			return false
		}
	}
}

func isInteger(t types.Type) bool {
	if t == nil {
		return false
	}
	b, ok := t.Underlying().(*types.Basic)
	return ok && b.Info()&types.IsInteger != 0
}

func isBuiltin(fun ast.Expr, info *types.Info, name string) bool {
	id, ok := fun.(*ast.Ident)
	if !ok {
		return false
	}
	b, ok := info.Uses[id].(*types.Builtin)
	return ok && b.Name() == name
}

// pure reports whether evaluating e changes nothing: it calls only the
// builtins len, cap, min and max, and conversions, and receives from no
// channel.
func pure(e ast.Expr, info *types.Info) bool {
	ok := true
	ast.Inspect(e, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.CallExpr:
			if tv, found := info.Types[n.Fun]; found && tv.IsType() {
				return true // a conversion
			}
			if !isBuiltin(n.Fun, info, "len") && !isBuiltin(n.Fun, info, "cap") &&
				!isBuiltin(n.Fun, info, "min") && !isBuiltin(n.Fun, info, "max") {
				ok = false
			}
		case *ast.UnaryExpr:
			if n.Op == token.ARROW {
				ok = false
			}
		case *ast.FuncLit:
			ok = false
		}
		return ok
	})
	return ok
}
