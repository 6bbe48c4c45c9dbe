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
	expectStrikesAndPasses(t, []uint64{3, 7, 12}, stalePreparesKind, []counter{
		{"strikes", func(r *Result) uint64 { return r.Stats.Chaos.StalePrepareStrikes }},
		{"copies delivered", func(r *Result) uint64 { return r.Stats.Chaos.StalePrepareCopies }},
		{"lag episodes", func(r *Result) uint64 { return r.Stats.Chaos.StalePrepareLags }},
	})
}

// The kind's draws come from a stream of their own: turning it on or off
// changes no other option of a seed.
func TestStalePreparesDrawLeavesOtherOptions(t *testing.T) {
	expectDrawLeavesOtherOptions(t, stalePreparesKind, func(o *Options) bool { return o.Chaos.StalePrepares.Num > 0 },
		func(on, off *Options) {
			on.Chaos.StalePrepares, on.Chaos.StalePreparesNsMean = off.Chaos.StalePrepares, off.Chaos.StalePreparesNsMean
		})
}

// expectDrawLeavesOtherOptions checks, over seeds 1-20, that forcing kind
// on turns it on (on reports whether it is), forcing it off turns it off,
// and that the two draws differ in nothing else: copy sets the kind's own
// options of on to those of off.
func expectDrawLeavesOtherOptions(t *testing.T, kind string, on func(o *Options) bool, copyKind func(on, off *Options)) {
	t.Helper()
	for seed := uint64(1); seed <= 20; seed++ {
		with, without := Draw(seed, Force{kind: true}), Draw(seed, Force{kind: false})
		if !on(&with) || on(&without) {
			t.Fatalf("seed %d: forcing %s on and off: on %v, off %v", seed, kind, on(&with), on(&without))
		}
		copyKind(&with, &without)
		if !reflect.DeepEqual(with, without) {
			t.Fatalf("seed %d: the %s draw changed other options", seed, kind)
		}
	}
}
