package faults

import (
	"fmt"
	"math"
	"math/bits"
)

// ExponentialMeansMax caps an exponential draw at this many means. Beyond it
// lies probability e^-20 ≈ 2·10^-9; the cap keeps one unlucky draw from
// overflowing a timestamp or parking a message for the rest of the run.
const ExponentialMeansMax = 20

// ExponentialMeanMax is the largest mean Exponential accepts: the cap
// ExponentialMeansMax·mean must fit in a uint64.
const ExponentialMeanMax = math.MaxUint64 / ExponentialMeansMax

// fracBits is the number of fractional bits of the fixed-point logarithms
// (Q32): a resolution of 2^-32 ≈ 2.3·10^-10 of a mean.
const fracBits = 32

// ln2Q64 is ln 2 · 2^64, rounded to nearest (ln 2 = 0x0.B17217F7D1CF79ABC9E3…).
const ln2Q64 = 0xB17217F7D1CF79AC

// Exponential returns an exponentially distributed value with the given mean,
// in the mean's unit (nanoseconds, ticks), rounded to the nearest integer and
// capped at ExponentialMeansMax·mean. Its resolution is 2^-32 of the mean. It uses integer arithmetic only, so it
// gives the same value on every architecture, and it consumes exactly one
// draw, also for mean 0, which returns 0. It panics if mean is above
// ExponentialMeanMax.
func (p *PRNG) Exponential(mean uint64) uint64 {
	if mean > ExponentialMeanMax {
		panic(fmt.Sprintf("faults: Exponential(%d): mean above ExponentialMeanMax %d", mean, uint64(ExponentialMeanMax)))
	}
	return exponentialFrom(p.Uint64(), mean)
}

// exponentialFrom maps a uniform 64-bit x to mean·(-ln u), u = x/2^64, by
// inversion. x = 0 (u = 0, -ln u infinite) gives the cap. It computes
// scaleNegLn(negLnQ32(x), ...): from a bracket of the logarithm when both
// its ends give one value (dist_guess.go), else stopping the logarithm
// early once the bits left cannot change the value (dist_early.go).
func exponentialFrom(x, mean uint64) uint64 {
	valueMax := mean * ExponentialMeansMax
	if x == 0 || mean == 0 { // mean 0: the product below is 0 too, without the logarithm
		return valueMax
	}
	if value, ok := exponentialGuessed(x, mean, valueMax); ok {
		return value
	}
	return exponentialEarly(x, mean, valueMax)
}

// scaleNegLn returns mean·nlnQ32 rounded to an integer, capped at valueMax
// once nlnQ32 reaches ExponentialMeansMax. It never decreases as nlnQ32
// grows.
func scaleNegLn(nlnQ32, mean, valueMax uint64) uint64 {
	if nlnQ32 >= ExponentialMeansMax<<fracBits {
		return valueMax
	}
	// mean·nlnQ32 < valueMax·2^32 <= 2^96, so hi < 2^32 and the shift is exact.
	hi, lo := bits.Mul64(mean, nlnQ32)
	lo, carry := bits.Add64(lo, 1<<(fracBits-1), 0) // round to nearest
	value := (hi+carry)<<(64-fracBits) | lo>>fracBits
	if value > valueMax {
		panic(fmt.Sprintf("faults: exponential of mean %d produced %d above cap %d", mean, value, valueMax))
	}
	return value
}

// negLnQ32 returns -ln(x/2^64) in Q32 fixed point for x > 0, in (0, 44.37].
// With x = 2^k·m, m in [1, 2): -log2(x/2^64) = 64 - k - log2(m), where
// k = 63 - leading zeros of x; then -ln = -log2 · ln 2.
func negLnQ32(x uint64) uint64 {
	if x == 0 {
		panic("faults: negLnQ32(0): logarithm of zero")
	}
	lz := bits.LeadingZeros64(x)
	return lnOfLog2Q32(uint64(lz+1)<<fracBits - log2FracQ32(x<<lz))
}

// lnOfLog2Q32 turns a base-2 logarithm into a natural one (both Q32),
// rounded to nearest; it never decreases as its argument grows.
func lnOfLog2Q32(log2Q32 uint64) uint64 {
	hi, lo := bits.Mul64(log2Q32, ln2Q64)
	return hi + lo>>63
}

// log2FracQ32 returns log2(m) in Q32 for m = mant/2^63 in [1, 2), that is for
// mant with its top bit set. Each step squares m: if m² >= 2 the next bit of
// log2(m) is 1 and m²/2 carries on, else the bit is 0 and m² carries on.
// Products are truncated to 64 bits, so the result is within a few units of
// 2^-32 below the true value (pinned by TestNegLnMatchesLog).
func log2FracQ32(mant uint64) uint64 {
	if mant>>63 != 1 {
		panic(fmt.Sprintf("faults: log2FracQ32(%#x): mantissa not normalized", mant))
	}
	var frac, bit uint64
	for range fracBits {
		mant, bit = log2Step(mant)
		frac = frac<<1 | bit
	}
	return frac
}

// log2Step is one step of log2FracQ32: the next bit of the logarithm and
// the mantissa that carries on.
func log2Step(mant uint64) (next, bit uint64) {
	hi, lo := bits.Mul64(mant, mant) // m² · 2^126, m² in [1, 4)
	bit = hi >> 63                   // m² >= 2
	// bit 1: (m²/2)·2^63 = hi; bit 0: m²·2^63 = hi<<1 | lo>>63. The bit
	// is a coin flip the CPU cannot predict: the two candidates are
	// computed side by side and one is picked by a conditional move
	// (the branchy form measured twice as slow; selecting by a mask,
	// as before, kept the selection on the loop's critical path and
	// measured about 1.7 times slower). Same result bit for bit.
	next = hi<<1 | lo>>63
	if bit != 0 {
		next = hi
	}
	return next, bit
}

// Uniform returns a duration or size uniformly in [lo, hi], both ends
// included: Range under the name the latency options read best with. It
// panics if lo > hi.
func (p *PRNG) Uniform(lo, hi uint64) uint64 { return p.Range(lo, hi) }

// skewedDen is the denominator of the halving probability of Skewed.
const skewedDen = 256

// Skewed returns an index in [0, n) that favours low indices, for a workload
// that hits a few hot keys often. Starting from all n indices, it keeps the
// lower half (rounded up) with probability skew/256, repeatedly, until a
// halving is declined or one index is left; then it picks uniformly from what
// is left. So P(i) never increases with i: skew 0 is uniform, 128 gives index
// 0 probability log2(n)/(2n) + 1/n for n a power of two, and 255 almost always
// gives index 0. It makes at most ⌈log2 n⌉ Chance draws and one index draw.
// It panics if n <= 0.
func (p *PRNG) Skewed(n int, skew uint8) int {
	if n <= 0 {
		panic(fmt.Sprintf("faults: Skewed(%d, %d): n must be positive", n, skew))
	}
	halve := Ratio{Num: uint32(skew), Den: skewedDen}
	size := uint64(n)
	for size > 1 && p.Chance(halve) {
		size = (size + 1) / 2
	}
	return int(p.Uint64N(size))
}
