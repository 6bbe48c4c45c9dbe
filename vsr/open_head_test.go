package vsr

import "testing"

// TestReachableOp: the one op above a checkpoint that a slot can hold, the
// bound by which a corrupt slot below the head hides nothing above it.
func TestReachableOp(t *testing.T) {
	cases := []struct{ slot, slots, checkpoint, want uint64 }{
		{0, 8, 0, 8},
		{1, 8, 0, 1},
		{7, 8, 0, 7},
		{0, 8, 8, 16},
		{1, 8, 8, 9},
		{2, 91, 748, 821},  // 748 = 8*91 + 20: slot 2 is reached again at 821
		{20, 91, 748, 839}, // the checkpoint's own slot: its next lap, the limit
		{21, 91, 748, 749}, // the slot after the checkpoint's
		{752 % 91, 91, 748, 752},
	}
	for _, c := range cases {
		if got := reachableOp(c.slot, c.slots, c.checkpoint); got != c.want {
			t.Errorf("reachableOp(slot %d of %d, checkpoint %d) = %d, want %d", c.slot, c.slots, c.checkpoint, got, c.want)
		}
	}
}
