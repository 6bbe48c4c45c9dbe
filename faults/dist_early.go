package faults

import "math/bits"

// exponentialEarly returns scaleNegLn(negLnQ32(x), mean, valueMax) for
// x > 0, without always running all 32 squarings of the logarithm (some
// 200 cycles of dependent multiplications, the costliest part of a draw).
//
// After k squarings the logarithm's fraction F is known to lie in
// [F_k·2^(32-k), F_k·2^(32-k) + 2^(32-k) - 1], the bits still to come
// being anything. The value falls as F grows (a larger fraction is a
// smaller -log2, a smaller -ln, a smaller value: each step is monotone),
// so if both ends of that range give one value, every F in it gives that
// value, the one the full computation would give. The value's width
// across the range is about mean·ln2·2^-k, so the first check comes
// three bits past the mean's magnitude (about 9 in 10 pass), and a
// failed check is tried again four bits on.
func exponentialEarly(x, mean, valueMax uint64) uint64 {
	lz := bits.LeadingZeros64(x)
	mant := x << lz
	whole := uint64(lz+1) << fracBits // -log2 is whole - F/2^32
	check := bits.Len64(mean) + 3
	var frac, bit uint64
	for k := 1; k <= fracBits; k++ {
		mant, bit = log2Step(mant)
		frac = frac<<1 | bit
		if k == check && k < fracBits {
			low := frac << (fracBits - k)
			high := low | (1<<(fracBits-k) - 1)
			v := scaleNegLn(lnOfLog2Q32(whole-low), mean, valueMax)
			if v == scaleNegLn(lnOfLog2Q32(whole-high), mean, valueMax) {
				return v
			}
			check += 4
		}
	}
	return scaleNegLn(lnOfLog2Q32(whole-frac), mean, valueMax)
}
