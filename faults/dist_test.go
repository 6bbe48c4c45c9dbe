package faults

import (
	"math"
	"slices"
	"testing"
)

// negLnQ32 against float64 math.Log (fine in a test: it is the reference, not
// the simulator). Every power of two and its neighbours, plus random values at
// every magnitude. Measured worst error: 1.2 units of 2^-32.
func TestNegLnMatchesLog(t *testing.T) {
	const tolQ32 = 3.0 / (1 << 32)
	check := func(x uint64) {
		got := float64(negLnQ32(x)) / (1 << 32)
		want := 64*math.Ln2 - math.Log(float64(x))
		if math.Abs(got-want) > tolQ32 {
			t.Fatalf("-ln(%#x/2^64) = %.12f, want %.12f", x, got, want)
		}
	}
	for k := range 64 {
		for d := -64; d <= 64; d++ {
			if x := uint64(1)<<k + uint64(d); x != 0 {
				check(x)
			}
		}
	}
	p := New(30)
	for range 200_000 {
		if x := p.Uint64() >> p.IntN(64); x != 0 {
			check(x)
		}
	}
}

// A larger uniform value means a shorter wait: exponentialFrom must never
// increase with x, or the fixed-point steps are not monotone.
func TestExponentialMonotoneInUniform(t *testing.T) {
	p := New(31)
	xs := []uint64{0, 1, 2, 3, math.MaxUint64 - 1, math.MaxUint64}
	for range 20_000 {
		xs = append(xs, p.Uint64()>>p.IntN(64))
	}
	slices.Sort(xs)
	for _, mean := range []uint64{1, 1000, 1_000_000, ExponentialMeanMax} {
		prev := uint64(math.MaxUint64)
		for _, x := range xs {
			v := exponentialFrom(x, mean)
			if v > prev {
				t.Fatalf("mean %d: exponentialFrom(%#x) = %d above the value %d for a smaller x", mean, x, v, prev)
			}
			prev = v
		}
	}
}

func TestExponentialEdges(t *testing.T) {
	const mean = 1_000_000
	if v := exponentialFrom(0, mean); v != ExponentialMeansMax*mean {
		t.Errorf("x = 0 (u = 0): %d, want the cap %d", v, ExponentialMeansMax*mean)
	}
	if v := exponentialFrom(1, mean); v != ExponentialMeansMax*mean {
		t.Errorf("x = 1 (-ln u ≈ 44): %d, want the cap %d", v, ExponentialMeansMax*mean)
	}
	if v := exponentialFrom(math.MaxUint64, mean); v != 0 {
		t.Errorf("x = 2^64-1 (u ≈ 1): %d, want 0", v)
	}
	if v := exponentialFrom(1<<63, mean); v != 693147 { // u = 1/2: mean·ln 2
		t.Errorf("x = 2^63 (u = 1/2): %d, want 693147", v)
	}
	// The largest mean, no overflow: -ln(1/2) in Q32 is round(ln 2 · 2^32) =
	// 2977044472, and the result is round(mean · 2977044472 / 2^32); the
	// resolution is 2^-32 of a mean (6·10^-11 relative here).
	if v := exponentialFrom(1<<63, ExponentialMeanMax); v != 639315432298879385 {
		t.Errorf("x = 2^63, largest mean: %d, want 639315432298879385", v)
	}
	mustPanic(t, "Exponential(ExponentialMeanMax+1)", "above ExponentialMeanMax",
		func() { New(1).Exponential(ExponentialMeanMax + 1) })
}

func TestExponentialNeverExceedsCap(t *testing.T) {
	p := New(32)
	for _, mean := range []uint64{0, 1, 2, 3, 7, 1_000_000, ExponentialMeanMax} {
		for range 50_000 {
			if v := p.Exponential(mean); v > ExponentialMeansMax*mean {
				t.Fatalf("Exponential(%d) = %d above the cap %d", mean, v, ExponentialMeansMax*mean)
			}
		}
	}
	before := p.Draws()
	if v := p.Exponential(0); v != 0 || p.Draws() != before+1 {
		t.Errorf("Exponential(0) = %d using %d draws, want 0 using 1", v, p.Draws()-before)
	}
}

// Sample statistics of 100k draws. Margins in σ of the estimate: mean ±3% is
// ~9σ; P(X > mean) = e^-1 ±2% relative is ~5σ; P(X > 3·mean) = e^-3 ±7%
// relative is ~5σ. Mean 10 checks the rounding: truncating would lose 5%.
func TestExponentialStatistics(t *testing.T) {
	const draws = 100_000
	for _, mean := range []uint64{10, 1_000_000, 1 << 40} {
		p := New(33)
		var sum float64
		var above1, above3 int
		for range draws {
			v := p.Exponential(mean)
			sum += float64(v)
			if v > mean {
				above1++
			}
			if v > 3*mean {
				above3++
			}
		}
		m := float64(mean)
		within(t, "sample mean / mean", sum/draws/m, 1, 0.03)
		if mean >= 1_000_000 { // for mean 10, "> mean" counts whole units: skip
			within(t, "P(X > mean) / e^-1", float64(above1)/draws/math.Exp(-1), 1, 0.02)
			within(t, "P(X > 3·mean) / e^-3", float64(above3)/draws/math.Exp(-3), 1, 0.07)
		}
	}
}

func TestUniformInclusive(t *testing.T) {
	p := New(34)
	lo, hi := uint64(100), uint64(103)
	seen := map[uint64]bool{}
	for range 1000 {
		v := p.Uniform(lo, hi)
		if v < lo || v > hi {
			t.Fatalf("Uniform(%d, %d) = %d", lo, hi, v)
		}
		seen[v] = true
	}
	if len(seen) != 4 {
		t.Errorf("Uniform(%d, %d) drew %d distinct values, want 4", lo, hi, len(seen))
	}
	mustPanic(t, "Uniform(2, 1)", "lo above hi", func() { p.Uniform(2, 1) })
}

// skewedProbabilities is Skewed's documented distribution, computed exactly:
// level j keeps the first ⌈n/2^j⌉ indices and is where halving stops with
// probability q^j·(1-q), q = skew/256 (the last level takes the rest).
func skewedProbabilities(n int, skew uint8) []float64 {
	q := float64(skew) / 256
	probs := make([]float64, n)
	reach := 1.0 // probability of reaching the current level
	for size := n; ; size = (size + 1) / 2 {
		stop := reach
		if size > 1 {
			stop = reach * (1 - q)
		}
		for i := range size {
			probs[i] += stop / float64(size)
		}
		if size == 1 {
			return probs
		}
		reach *= q
	}
}

func skewedFrequencies(p *PRNG, n int, skew uint8, draws int) []float64 {
	counts := make([]float64, n)
	for range draws {
		i := p.Skewed(n, skew)
		if i < 0 || i >= n {
			panic("Skewed out of range")
		}
		counts[i]++
	}
	for i := range counts {
		counts[i] /= float64(draws)
	}
	return counts
}

// Observed frequencies match the documented distribution within 5σ, and that
// distribution never increases with the index.
func TestSkewedDistribution(t *testing.T) {
	const draws = 200_000
	for _, n := range []int{1, 2, 10, 16, 100} {
		for _, skew := range []uint8{0, 64, 128, 200, 255} {
			want := skewedProbabilities(n, skew)
			got := skewedFrequencies(New(35), n, skew, draws)
			for i := range n {
				sigma := math.Sqrt(want[i] * (1 - want[i]) / draws)
				if math.Abs(got[i]-want[i]) > 5*sigma+1e-9 {
					t.Errorf("Skewed(%d, %d): P(%d) = %.5f, want %.5f ± %.5f", n, skew, i, got[i], want[i], 5*sigma)
				}
				if i > 0 && want[i] > want[i-1]+1e-12 {
					t.Errorf("Skewed(%d, %d): P(%d) = %g above P(%d) = %g", n, skew, i, want[i], i-1, want[i-1])
				}
			}
		}
	}
}

// Closed forms that do not go through skewedProbabilities: skew 0 is uniform;
// n = 16, skew 128 gives P(0) = 4·(1/32) + 1/16 = 3/16 and P(15) = 1/32; a
// larger skew always makes index 0 hotter.
func TestSkewedFavoursLowIndices(t *testing.T) {
	const draws = 200_000
	for i, f := range skewedFrequencies(New(36), 8, 0, draws) {
		within(t, "Skewed(8, 0) frequency of index "+string(rune('0'+i)), f, 1.0/8, 0.005)
	}
	f := skewedFrequencies(New(36), 16, 128, draws)
	within(t, "Skewed(16, 128) P(0)", f[0], 3.0/16, 0.005)
	within(t, "Skewed(16, 128) P(15)", f[15], 1.0/32, 0.003)
	prev := 0.0
	for _, skew := range []uint8{0, 32, 64, 128, 192, 255} {
		p0 := skewedFrequencies(New(37), 100, skew, draws)[0]
		if p0 <= prev {
			t.Errorf("Skewed(100, %d): P(0) = %.4f not above %.4f of a smaller skew", skew, p0, prev)
		}
		prev = p0
	}
}

func TestSkewedArguments(t *testing.T) {
	p := New(38)
	for range 1000 {
		if v := p.Skewed(1, 200); v != 0 {
			t.Fatalf("Skewed(1, 200) = %d", v)
		}
		if v := p.Skewed(math.MaxInt, 100); v < 0 {
			t.Fatalf("Skewed(MaxInt, 100) = %d", v)
		}
	}
	mustPanic(t, "Skewed(0, 1)", "positive", func() { p.Skewed(0, 1) })
}
