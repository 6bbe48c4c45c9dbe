package faults

import "testing"

// TestDrawExponentialMatches checks that a deferred draw takes the same
// draw as Exponential and gives the same value, whether or not its value
// is asked for, for means from 0 to the largest.
func TestDrawExponentialMatches(t *testing.T) {
	means := []uint64{0, 1, 7, 1_000, 250_000_000, 1 << 40, ExponentialMeanMax}
	a, b := New(99), New(99)
	for i := range 30000 {
		mean := means[i%len(means)]
		want := a.Exponential(mean)
		d := b.DrawExponential(mean)
		if i%3 == 0 {
			continue // value never computed: the streams must stay in step
		}
		if got := d.Value(); got != want {
			t.Fatalf("draw %d, mean %d: Value() = %d, Exponential = %d", i, mean, got, want)
		}
	}
	if x, y := a.Uint64(), b.Uint64(); x != y {
		t.Fatalf("streams diverged: next draws %d and %d", x, y)
	}
	defer func() {
		if recover() == nil {
			t.Fatal("DrawExponential accepted a mean above ExponentialMeanMax")
		}
	}()
	b.DrawExponential(ExponentialMeanMax + 1)
}
