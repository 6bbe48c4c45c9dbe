package vsr

import (
	"fmt"
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
const assertionDensityFloor = 1.6

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

// TestCheckpointChunkOfImpossibleSize: a checkpoint chunk naming a
// checkpoint smaller than a checkpoint's own header is refused as a
// violation (one reason per size check). Before the filter, a chunk naming
// size 0 (or below 16) made finishTransfer slice past its buffer: a message
// from the wire crashed the replica.
func TestCheckpointChunkOfImpossibleSize(t *testing.T) {
	net := newTestNet(t, 3, func(o *Options) { o.JournalSlots = 32; o.PipelineMax = 4 })
	c := net.addClient(1)
	net.register(c)
	net.crash(2)
	for i := range 80 { // more than the journal holds: r2 needs state transfer
		net.submit(c, fmt.Sprintf("y%d", i))
	}
	wiped := newTestStorage(net.options[2], 999)
	wiped.Load(mustRejoinFormat(t, net.options[2]))
	net.storages[2] = wiped
	net.restart(2)
	net.drop = func(p *packet) bool { return Command(p.data[offCommand]) == CommandCheckpoint }
	r := net.replicas[2]
	net.run(3000, "r2 needs state transfer", func() bool { return r.Status() == StatusNormal && r.NeedsStateTransfer() })
	for _, size := range []uint64{0, 15, checkpointHeaderSize - 1} {
		before := r.Stats().Violations
		h := Header{Command: CommandCheckpoint, Cluster: testCluster, Replica: 0, View: r.View(), Op: r.CommitMax(),
			Context: U128{Lo: 1}, Timestamp: size}
		buf := make([]byte, HeaderSize)
		if _, err := Encode(buf, &h, nil); err != nil {
			t.Fatal(err)
		}
		r.Receive(buf)
		if r.Stats().Violations != before+1 {
			t.Fatalf("a chunk of a %d-byte checkpoint was not refused as a violation", size)
		}
	}
}

// TestAssertionsDoNotAllocate: a passing assertion costs a comparison, not an
// allocation, so the codec (which asserts its postconditions) still encodes
// and decodes without allocating.
func TestAssertionsDoNotAllocate(t *testing.T) {
	buf := make([]byte, 2*HeaderSize)
	h := Header{Command: CommandPrepareOk, Cluster: testCluster, Op: 1, View: 1}
	allocs := testing.AllocsPerRun(100, func() {
		assert(h.Op == 1, "a passing assertion")
		n, err := Encode(buf, &h, nil)
		if err != nil {
			panic(err)
		}
		if _, _, err := Decode(buf[:n], MessageSizeMaxLimit); err != nil {
			panic(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("encode, decode and a passing assertion allocate %.1f times per run", allocs)
	}
}
