package faults

import (
	"math"
	"math/bits"
)

// exponentialGuessed returns exponentialEarly(x, mean, valueMax), found
// without the squarings when it can be: ok is false when it cannot, and
// the caller computes it. The squarings are some 25 dependent
// multiplications per draw, the costliest part of the simulator's
// latencies; this is a dozen operations and one math.Log.
//
// Floating point only guesses here; integer arithmetic decides. Let
// T = log2(m)·2^32 for the mantissa m = mant/2^63 in [1, 2), and F the
// fraction log2FracQ32 computes. Each squaring truncates the square by
// less than 2^-63 (m stays in [1, 2)), so it lowers log2 of the mantissa
// by less than 2^-62, and the next bit is exactly whether the square
// reached 2; unrolled over the 32 squarings, T = F + log2(m_32) + e with
// log2(m_32) in [0, 1) and e in [0, 2^-30): F is floor(T) or floor(T)-1.
// A float64 estimate t of T is off by some 2^-20 (the mantissa rounded to
// 53 bits, math.Log within a unit or two in the last place on every
// architecture, FMA or not); anything below 1 will do, and then F lies in
// [floor(t)-2, floor(t)+1]. The value is monotone in F (scaleNegLn and
// lnOfLog2Q32 never decrease as their argument grows, and the argument
// falls as F grows), so if both ends of that range give one value, F
// gives it too: the same value, bit for bit, on every machine. Otherwise
// (the range straddles a rounding boundary: odds of about mean·2^-31)
// ok is false. TestExponentialGuessBracketsFraction checks the bracket,
// TestExponentialEarlyMatchesFull the values.
func exponentialGuessed(x, mean, valueMax uint64) (value uint64, ok bool) {
	lz := bits.LeadingZeros64(x)
	mant := x << lz
	whole := uint64(lz+1) << fracBits // -log2(x/2^64) is whole - F/2^32
	low, high, ok := fractionBracket(mant)
	if !ok {
		return 0, false
	}
	value = scaleNegLn(lnOfLog2Q32(whole-low), mean, valueMax)
	if value != scaleNegLn(lnOfLog2Q32(whole-high), mean, valueMax) {
		return 0, false
	}
	return value, true
}

// fractionBracket returns a range [low, high] that holds
// log2FracQ32(mant), from a float64 estimate of log2(mant/2^63)·2^32;
// ok is false if the estimate is out of its range (it never is).
func fractionBracket(mant uint64) (low, high uint64, ok bool) {
	t := math.Log(float64(mant)*0x1p-63) * (0x1p32 / math.Ln2)
	if !(t >= 0 && t <= 0x1p32) { // false for NaN too
		return 0, 0, false
	}
	base := uint64(t) // floor: t >= 0
	low, high = max(base, 2)-2, min(base+1, 1<<fracBits-1)
	return low, high, true
}
