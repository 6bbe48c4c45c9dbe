package vopr

import (
	"reflect"
	"testing"
)

// Head losses strike (the holders of a just-committed op lose power, one
// of them losing the op's slot in both copies) and the correct protocol
// passes them: the damaged replica's recovery waits for a primary, and a
// holder brings the op back. (Mutant 13-faulty-journal-falls-back, whose
// recovery falls back to a view change on such a journal, loses the op:
// seed 67 of the swarm, and the scenario
// par_power_loss_takes_the_head_replica_waits_for_a_holder.)
func TestChaosHeadLossStrikesAndPasses(t *testing.T) {
	force := chaosOff(headLossKind)
	force["slot-loss"] = true
	var strikes, lost uint64
	for i, res := range chaosRun(t, []uint64{5, 11, 67}, force, func(o *Options) { o.RequestsMax = 400 }) {
		if res.Class != Pass {
			t.Errorf("run %d: %s: %s", i, res.Class, firstLine(res.Message))
		}
		strikes += res.Stats.Chaos.HeadLosses
		lost += res.Stats.Chaos.HeadLossSlotsLost
	}
	if strikes == 0 || lost == 0 {
		t.Fatalf("head losses %d, of them with both copies lost %d: want some of each", strikes, lost)
	}
}

// The kind's draws come from a stream of their own: turning it on or off
// changes no other option of a seed.
func TestHeadLossDrawLeavesOtherOptions(t *testing.T) {
	for seed := uint64(1); seed <= 20; seed++ {
		on, off := Draw(seed, Force{headLossKind: true}), Draw(seed, Force{headLossKind: false})
		if on.Chaos.HeadLoss.Num == 0 || off.Chaos.HeadLoss.Num != 0 {
			t.Fatalf("seed %d: forcing the kind on and off: %v and %v", seed, on.Chaos.HeadLoss, off.Chaos.HeadLoss)
		}
		on.Chaos.HeadLoss, on.Chaos.HeadLossNsMean = off.Chaos.HeadLoss, off.Chaos.HeadLossNsMean
		if !reflect.DeepEqual(on, off) {
			t.Fatalf("seed %d: the head-loss draw changed other options", seed)
		}
	}
}
