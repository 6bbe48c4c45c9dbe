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
