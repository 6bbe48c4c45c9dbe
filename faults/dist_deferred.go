package faults

import "fmt"

// ExponentialDraw is an exponential draw whose random word is taken but
// whose value is not computed yet: the logarithm costs some 200 cycles,
// and a caller that draws a fault's duration every time (so that one
// fault's timing never shifts another's) but uses it only when the fault
// strikes need not pay for it otherwise.
type ExponentialDraw struct{ x, mean uint64 }

// DrawExponential takes the one draw Exponential(mean) would take, and
// panics as it would; Value then returns what Exponential would have.
func (p *PRNG) DrawExponential(mean uint64) ExponentialDraw {
	if mean > ExponentialMeanMax {
		panic(fmt.Sprintf("faults: DrawExponential(%d): mean above ExponentialMeanMax %d", mean, uint64(ExponentialMeanMax)))
	}
	return ExponentialDraw{x: p.Uint64(), mean: mean}
}

// Value returns the draw's exponentially distributed value (Exponential's).
func (d ExponentialDraw) Value() uint64 { return exponentialFrom(d.x, d.mean) }
