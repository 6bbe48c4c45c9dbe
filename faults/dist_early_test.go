package faults

import (
	"math"
	"testing"
)

// exponentialFull is exponentialFrom as it was: all 32 squarings, then
// scale. exponentialEarly must agree with it on every input.
func exponentialFull(x, mean uint64) uint64 {
	valueMax := mean * ExponentialMeansMax
	if x == 0 || mean == 0 {
		return valueMax
	}
	return scaleNegLn(negLnQ32(x), mean, valueMax)
}

// TestExponentialEarlyMatchesFull compares the early-stopping draw with the
// full computation for means of every magnitude (each power of two and its
// neighbours, the simulator's option ranges, the largest mean) and x
// random at every magnitude, near powers of two, and at the ends.
func TestExponentialEarlyMatchesFull(t *testing.T) {
	means := []uint64{1, 2, 3, 100_000, 500_000, 1_000_000, 5_000_000, 20_000_000, 50_000_000,
		2_000_000_000, 60_000_000_000, ExponentialMeanMax}
	for k := range 60 {
		means = append(means, 1<<k-1, 1<<k, 1<<k+1)
	}
	xs := []uint64{1, 2, 3, math.MaxUint64 - 1, math.MaxUint64}
	for k := range 64 {
		xs = append(xs, 1<<k, 1<<k+1, 1<<k-1)
	}
	p := New(77)
	check := func(x, mean uint64) {
		if got, want := exponentialFrom(x, mean), exponentialFull(x, mean); got != want {
			t.Fatalf("exponentialFrom(%#x, %d) = %d, the full computation gives %d", x, mean, got, want)
		}
	}
	for _, mean := range means {
		for _, x := range xs {
			check(x, mean)
		}
		for range 3000 {
			check(p.Uint64(), mean)
			check(p.Uint64()>>p.IntN(64), mean)
		}
	}
	for range 300_000 { // random means too
		check(p.Uint64(), p.Uint64N(ExponentialMeanMax+1)>>p.IntN(64))
	}
}

// TestExponentialGuessBracketsFraction checks what exponentialGuessed rests
// on: the bracket fractionBracket finds from a float64 estimate holds the
// fraction the squarings compute, for mantissas random, near powers of two
// (of the fraction: m just above 1, just below 2, and around each 2^(k/2^j)
// that makes a fraction bit flip), and at the ends.
func TestExponentialGuessBracketsFraction(t *testing.T) {
	check := func(mant uint64) {
		mant |= 1 << 63
		low, high, ok := fractionBracket(mant)
		if f := log2FracQ32(mant); !ok || f < low || f > high {
			t.Fatalf("mantissa %#x: fraction %d outside the bracket [%d, %d] (ok %v)", mant, f, low, high, ok)
		}
	}
	for d := range uint64(5000) {
		check(1<<63 + d)
		check(math.MaxUint64 - d)
	}
	// Mantissas whose true fraction is within a few units of a multiple
	// of 2^-32: m = 2^(n/2^32), rounded, for n spread over the range.
	for n := uint64(0); n < 1<<32; n += 1<<32/9973 + 1 {
		m := math.Exp2(float64(n) / (1 << 32))
		base := uint64(m * (1 << 63))
		for d := range uint64(64) {
			check(base - 32 + d)
		}
	}
	p := New(78)
	for range 2_000_000 {
		check(p.Uint64())
	}
}

// TestExponentialGuessedDeclines: where the bracket straddles a rounding
// boundary (large means, where a unit of the fraction moves the value),
// the guess declines and the caller's computation decides; where it does
// not decline, it agrees with the full computation.
func TestExponentialGuessedDeclines(t *testing.T) {
	p := New(79)
	declined := 0
	for range 100_000 {
		x, mean := p.Uint64(), uint64(1)<<40
		value, ok := exponentialGuessed(x, mean, mean*ExponentialMeansMax)
		if !ok {
			declined++
			continue
		}
		if want := exponentialFull(x, mean); value != want {
			t.Fatalf("exponentialGuessed(%#x, %d) = %d, the full computation gives %d", x, mean, value, want)
		}
	}
	if declined == 0 {
		t.Fatal("a mean of 2^40 never declined: the fallback is untested")
	}
}
