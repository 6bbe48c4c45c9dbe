package vopr

import "testing"

// Partition restarts strike (a replica reboots where only a stale primary
// answers) and the correct protocol passes them: its recovery waits for a
// quorum that meets the newer view. (Mutant 12-recovery-quorum-off-by-one,
// which recovers one answer short, fails seeds 33, 40 and 87 of 1-100
// with the kind and partitions forced on: the durability checker's
// recovery rule.)
func TestChaosPartitionRestartsStrikeAndPass(t *testing.T) {
	force := chaosOff(partitionRestartKind)
	force["partition"] = true
	var strikes uint64
	for i, res := range chaosRun(t, []uint64{33, 40, 87}, force, func(o *Options) { o.RequestsMax = 600 }) {
		if res.Class != Pass {
			t.Errorf("run %d: %s: %s", i, res.Class, firstLine(res.Message))
		}
		strikes += res.Stats.Chaos.PartitionRestarts
	}
	if strikes == 0 {
		t.Fatal("no partition restart struck")
	}
}
