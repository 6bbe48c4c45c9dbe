package vopr

import "testing"

// TestChaosStaleTailsHappen: episodes start, and some bring the oldest
// tail's holder back to lead a view change in which a nack quorum
// truncates the newer tail above it.
func TestChaosStaleTailsHappen(t *testing.T) {
	results := chaosRun(t, []uint64{1, 2, 3, 4, 5, 6, 7, 8}, chaosOff(tailsKind), short)
	st, _, _ := chaosSum(results)
	var truncations uint64
	for _, res := range results {
		truncations += res.MarkCount("nack_truncation")
	}
	expectHappened(t, map[string]uint64{"stale-tails episode": st.TailsEpisodes,
		"oldest tail back to lead": st.TailsReturns, "nack truncation": truncations})
}

// A new primary that adopts the longest log whatever its log_view is
// caught by stale tails alone: the oldest tail's holder leads a view
// change with a newer view's shorter log in hand (5 of seeds 1-30).
func TestChaosStaleTailsCatchLongestLogWins(t *testing.T) {
	expectCaughtOnSeeds(t, "longest-log-wins", []uint64{3, 4}, chaosOff(tailsKind), Correctness, "canonical")
}
