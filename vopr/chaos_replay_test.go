package vopr

import (
	"reflect"
	"testing"
)

// Client replays strike (an evicted client drops off while its session's
// register and requests are replayed to the primary) and the correct
// protocol passes them: the replayed register opens a new session, and
// the replayed requests, which name the evicted one, are refused. (Mutant
// 18-session-number-unchecked, which trusts the request number alone,
// runs a replayed request twice: seeds 26 and 86 of the swarm.)
func TestChaosClientReplayStrikesAndPasses(t *testing.T) {
	squeeze := func(o *Options) {
		// Fewer sessions than clients: evictions all along.
		o.Clients, o.ClientsMax, o.RequestsMax = 8, 4, 400
		o.Workload.Keys = max(o.Workload.Keys, 8)
	}
	var strikes uint64
	for i, res := range chaosRun(t, []uint64{1, 2, 3}, chaosOff(clientReplayKind), squeeze) {
		if res.Class != Pass {
			t.Errorf("run %d: %s: %s", i, res.Class, firstLine(res.Message))
		}
		strikes += res.Stats.Chaos.ClientReplays
	}
	if strikes == 0 {
		t.Fatal("no client replay struck")
	}
}

// The kind's draws come from a stream of their own: turning it on or off
// changes no other option of a seed.
func TestClientReplayDrawLeavesOtherOptions(t *testing.T) {
	for seed := uint64(1); seed <= 20; seed++ {
		on, off := Draw(seed, Force{clientReplayKind: true}), Draw(seed, Force{clientReplayKind: false})
		if on.Chaos.ClientReplay.Num == 0 || off.Chaos.ClientReplay.Num != 0 {
			t.Fatalf("seed %d: forcing the kind on and off: %v and %v", seed, on.Chaos.ClientReplay,
				off.Chaos.ClientReplay)
		}
		on.Chaos.ClientReplay, on.Chaos.ClientReplayNsMean = off.Chaos.ClientReplay, off.Chaos.ClientReplayNsMean
		if !reflect.DeepEqual(on, off) {
			t.Fatalf("seed %d: the client-replay draw changed other options", seed)
		}
	}
}
