package faults

import (
	"math"
	"strings"
	"testing"
)

// draw returns the next n Uint64s of p.
func draw(p *PRNG, n int) []uint64 {
	out := make([]uint64, n)
	for i := range out {
		out[i] = p.Uint64()
	}
	return out
}

func equalSeq(a, b []uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// mustPanic fails t unless f panics with a message containing want.
func mustPanic(t *testing.T, name, want string, f func()) {
	t.Helper()
	defer func() {
		t.Helper()
		r := recover()
		if r == nil {
			t.Errorf("%s: did not panic", name)
			return
		}
		var msg string
		switch v := r.(type) {
		case string:
			msg = v
		case error:
			msg = v.Error()
		}
		if !strings.Contains(msg, want) {
			t.Errorf("%s: panic %q does not mention %q", name, msg, want)
		}
	}()
	f()
}

// within fails t unless got is within tol of want; sigma documents the margin.
func within(t *testing.T, name string, got, want, tol float64) {
	t.Helper()
	if math.Abs(got-want) > tol {
		t.Errorf("%s = %.5f, want %.5f ± %.5f", name, got, want, tol)
	}
}

func TestSameSeedSameSequence(t *testing.T) {
	for _, seed := range []uint64{0, 1, 42, math.MaxUint64} {
		if !equalSeq(draw(New(seed), 1000), draw(New(seed), 1000)) {
			t.Errorf("seed %d: two New calls gave different sequences", seed)
		}
	}
}

func TestDifferentSeedsDiffer(t *testing.T) {
	seen := map[uint64]uint64{} // first draw → seed
	for seed := range uint64(1000) {
		first := New(seed).Uint64()
		if other, ok := seen[first]; ok {
			t.Fatalf("seeds %d and %d start with the same value %#x", other, seed, first)
		}
		seen[first] = seed
	}
}

func TestStreamsWithDifferentNamesDiffer(t *testing.T) {
	root := New(7)
	names := []string{"network", "storage", "storage/replica-0", "storage/replica-1", "client-5", "client-50"}
	seqs := make([][]uint64, len(names))
	for i, name := range names {
		seqs[i] = draw(root.Stream(name), 16)
	}
	rootSeq := draw(New(7), 16)
	for i := range names {
		if equalSeq(seqs[i], rootSeq) {
			t.Errorf("stream %q equals the root stream", names[i])
		}
		for j := i + 1; j < len(names); j++ {
			if equalSeq(seqs[i], seqs[j]) {
				t.Errorf("streams %q and %q are equal", names[i], names[j])
			}
		}
	}
	if equalSeq(draw(New(7).Stream("network"), 16), draw(New(8).Stream("network"), 16)) {
		t.Error("stream \"network\" is the same for seeds 7 and 8")
	}
}

// A stream depends on (seed, path) only: draws on its parent or its siblings,
// before or after it was made, never shift it.
func TestStreamUnaffectedByParentAndSiblings(t *testing.T) {
	want := draw(New(3).Stream("storage").Stream("replica-1"), 1000)

	root := New(3)
	early := root.Stream("storage").Stream("replica-1") // made before any draws
	draw(root, 1000)
	storage := root.Stream("storage")
	draw(storage, 1000)
	sibling := storage.Stream("replica-2")
	draw(sibling, 1000)
	late := storage.Stream("replica-1") // made after the parent and a sibling drew

	got := make([]uint64, 0, 1000)
	for range 1000 { // interleave the sibling with the stream under test
		got = append(got, late.Uint64())
		sibling.Uint64()
	}
	if !equalSeq(got, want) {
		t.Error("stream made after parent and sibling draws differs from a fresh one")
	}
	if !equalSeq(draw(early, 1000), want) {
		t.Error("stream made before parent draws differs from a fresh one")
	}
}

// Names compose as a path: Stream("a").Stream("b") is Stream("a/b").
func TestStreamPathComposition(t *testing.T) {
	root := New(11)
	chained := root.Stream("storage").Stream("replica-2")
	flat := root.Stream("storage/replica-2")
	if chained.Path() != "storage/replica-2" || flat.Path() != "storage/replica-2" {
		t.Fatalf("paths %q and %q, want storage/replica-2", chained.Path(), flat.Path())
	}
	if chained.Key() != flat.Key() || !equalSeq(draw(chained, 64), draw(flat, 64)) {
		t.Error("Stream(\"storage\").Stream(\"replica-2\") differs from Stream(\"storage/replica-2\")")
	}
	if equalSeq(draw(root.Stream("storage"), 64), draw(root.Stream("storage/replica-2"), 64)) {
		t.Error("a child stream equals its parent stream")
	}
	if chained.Seed() != 11 || root.Path() != "" {
		t.Errorf("Seed %d Path %q, want 11 and the root's empty path", chained.Seed(), root.Path())
	}
}

func TestStreamRejectsBadNames(t *testing.T) {
	root := New(1)
	for _, name := range []string{"", "/", "/a", "a/", "a//b"} {
		mustPanic(t, "Stream("+name+")", "stream name", func() { root.Stream(name) })
	}
	long := strings.Repeat("x", PathLenMax)
	root.Stream(long) // exactly the bound is allowed
	mustPanic(t, "Stream(long/x)", "PathLenMax", func() { root.Stream(long).Stream("x") })
}

func TestStringNamesStreamAndDraws(t *testing.T) {
	p := New(42).Stream("network")
	p.Uint64()
	p.Uint64()
	s := p.String()
	for _, want := range []string{"seed=42", "stream=network", "key=4bead23872090199", "draws=2"} {
		if !strings.Contains(s, want) {
			t.Errorf("String() = %q, missing %q", s, want)
		}
	}
	if s := New(42).String(); !strings.Contains(s, "stream=(root)") {
		t.Errorf("root String() = %q, missing stream=(root)", s)
	}
}

func TestDrawsCountsWords(t *testing.T) {
	p := New(5)
	p.Uint64()
	p.Uint32()
	p.Bool()
	p.IntN(10)
	if p.Draws() != 4 {
		t.Errorf("Draws() = %d after four one-word draws, want 4", p.Draws())
	}
}

// A modulo reduction x % n with n = 3·2^62 puts half of all draws below 2^62;
// an unbiased one puts a third there. σ ≈ 0.0015 over 100k draws.
func TestUint64NUnbiased(t *testing.T) {
	p := New(9)
	const draws, n = 100_000, 3 << 62
	low := 0
	for range draws {
		v := p.Uint64N(n)
		if v >= n {
			t.Fatalf("Uint64N(%d) = %d", uint64(n), v)
		}
		if v < 1<<62 {
			low++
		}
	}
	within(t, "fraction below 2^62", float64(low)/draws, 1.0/3, 0.01)
}

func TestIntNUniform(t *testing.T) {
	p := New(10)
	const draws, n = 120_000, 6
	var counts [n]int
	for range draws {
		counts[p.IntN(n)]++
	}
	for i, c := range counts { // σ ≈ 0.0011; tolerance ≈ 9σ
		within(t, "IntN(6) frequency of "+string(rune('0'+i)), float64(c)/draws, 1.0/n, 0.01)
	}
}

func TestPickAndIntNArguments(t *testing.T) {
	p := New(1)
	if p.Pick(1) != 0 || p.IntN(1) != 0 || p.Uint64N(1) != 0 {
		t.Error("a draw over one element returned a non-zero index")
	}
	mustPanic(t, "Uint64N(0)", "positive", func() { p.Uint64N(0) })
	mustPanic(t, "IntN(0)", "positive", func() { p.IntN(0) })
	mustPanic(t, "IntN(-1)", "positive", func() { p.IntN(-1) })
	mustPanic(t, "Pick(0)", "nothing to pick", func() { p.Pick(0) })
}

func TestRangeInclusive(t *testing.T) {
	p := New(12)
	var counts [3]int
	for range 30_000 {
		v := p.Range(5, 7)
		if v < 5 || v > 7 {
			t.Fatalf("Range(5, 7) = %d", v)
		}
		counts[v-5]++
	}
	for i, c := range counts {
		within(t, "Range(5, 7) frequency of "+string(rune('5'+i)), float64(c)/30_000, 1.0/3, 0.02)
	}
	if v := p.Range(9, 9); v != 9 {
		t.Errorf("Range(9, 9) = %d", v)
	}
	p.Range(0, math.MaxUint64) // the full span must not overflow
	mustPanic(t, "Range(2, 1)", "lo above hi", func() { p.Range(2, 1) })
}

func TestRangeIntInclusive(t *testing.T) {
	p := New(13)
	seen := map[int]int{}
	for range 10_000 {
		v := p.RangeInt(-2, 2)
		if v < -2 || v > 2 {
			t.Fatalf("RangeInt(-2, 2) = %d", v)
		}
		seen[v]++
	}
	for v := -2; v <= 2; v++ {
		within(t, "RangeInt(-2, 2) frequency", float64(seen[v])/10_000, 0.2, 0.03)
	}
	for range 1000 {
		p.RangeInt(math.MinInt, math.MaxInt) // full span: no overflow, no panic
		if v := p.RangeInt(math.MaxInt-1, math.MaxInt); v < math.MaxInt-1 {
			t.Fatalf("RangeInt(MaxInt-1, MaxInt) = %d", v)
		}
	}
	mustPanic(t, "RangeInt(1, 0)", "lo above hi", func() { p.RangeInt(1, 0) })
}

func TestBoolFair(t *testing.T) {
	p := New(14)
	trues := 0
	for range 100_000 {
		if p.Bool() {
			trues++
		}
	}
	within(t, "Bool() true fraction", float64(trues)/100_000, 0.5, 0.01)
}

// A biased shuffle (j drawn from all n instead of 0..i) gives some of the six
// permutations of 3 probability 4/27 and others 5/27; each must be 1/6 ± 1%.
func TestShuffleUniform(t *testing.T) {
	p := New(15)
	const rounds = 60_000
	counts := map[[3]int]int{}
	for range rounds {
		a := [3]int{0, 1, 2}
		p.Shuffle(len(a), func(i, j int) { a[i], a[j] = a[j], a[i] })
		counts[a]++
	}
	if len(counts) != 6 {
		t.Fatalf("saw %d permutations of 3, want 6: %v", len(counts), counts)
	}
	for perm, c := range counts {
		within(t, "frequency of permutation", float64(c)/rounds, 1.0/6, 0.01)
		if perm[0]+perm[1]+perm[2] != 3 || perm[0] == perm[1] || perm[1] == perm[2] || perm[0] == perm[2] {
			t.Errorf("%v is not a permutation of 0, 1, 2", perm)
		}
	}
	p.Shuffle(0, func(i, j int) { t.Error("Shuffle(0) called swap") })
	mustPanic(t, "Shuffle(-1)", "negative", func() { p.Shuffle(-1, func(i, j int) {}) })
}
