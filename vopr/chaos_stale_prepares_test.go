package vopr

import (
	"reflect"
	"testing"
)

// Stale prepares strike (late copies of older views' prepares reach
// replicas where their logs have holes, and lag episodes cut a backup from
// a new primary's prepares) and the correct protocol passes them.
// (Mutant 26-commit-head-by-op, which takes such a copy for the committed
// op a heartbeat named, fails seeds 3 and 36 with the kind forced on.)
func TestChaosStalePreparesStrikeAndPass(t *testing.T) {
	var strikes, copies, lags uint64
	for i, res := range chaosRun(t, []uint64{3, 7, 12}, chaosOff(stalePreparesKind), nil) {
		if res.Class != Pass {
			t.Errorf("run %d: %s: %s", i, res.Class, firstLine(res.Message))
		}
		strikes += res.Stats.Chaos.StalePrepareStrikes
		copies += res.Stats.Chaos.StalePrepareCopies
		lags += res.Stats.Chaos.StalePrepareLags
	}
	if strikes == 0 || copies == 0 || lags == 0 {
		t.Fatalf("strikes %d, copies delivered %d, lag episodes %d: want some of each", strikes, copies, lags)
	}
}

// The kind's draws come from a stream of their own: turning it on or off
// changes no other option of a seed.
func TestStalePreparesDrawLeavesOtherOptions(t *testing.T) {
	for seed := uint64(1); seed <= 20; seed++ {
		on, off := Draw(seed, Force{stalePreparesKind: true}), Draw(seed, Force{stalePreparesKind: false})
		if on.Chaos.StalePrepares.Num == 0 || off.Chaos.StalePrepares.Num != 0 {
			t.Fatalf("seed %d: forcing the kind on and off: %v and %v", seed, on.Chaos.StalePrepares, off.Chaos.StalePrepares)
		}
		on.Chaos.StalePrepares, on.Chaos.StalePreparesNsMean = off.Chaos.StalePrepares, off.Chaos.StalePreparesNsMean
		if !reflect.DeepEqual(on, off) {
			t.Fatalf("seed %d: the stale-prepares draw changed other options", seed)
		}
	}
}
