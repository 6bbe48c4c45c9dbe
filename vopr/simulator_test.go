package vopr

import (
	"strings"
	"testing"
)

func runSeed(t testing.TB, seed uint64) *Result {
	t.Helper()
	return runOptions(t, Draw(seed, nil))
}

// runSeedForced runs seed with the fault kinds force names forced.
func runSeedForced(t testing.TB, seed uint64, force Force) *Result {
	t.Helper()
	return runOptions(t, Draw(seed, force))
}

func runOptions(t testing.TB, o Options) *Result {
	t.Helper()
	s := mustNew(t, o)
	return s.Run()
}

// TestSeedsPass runs 50 consecutive seeds with the older fault kinds (the
// chaos kinds have tests of their own, chaos_test.go): all must pass (but
// for the bugs known_findings_test.go lists, which must fail as listed), each
// must give the same digest when run again (what --check-determinism
// checks), and over them every fault kind must actually have happened.
func TestSeedsPass(t *testing.T) {
	var total Stats
	drifting, brokenFired := 0, 0
	for seed := uint64(1); seed <= 50; seed++ {
		o := Draw(seed, chaosOff())
		res := runOptions(t, o)
		if res.Class != Pass && firesKnownBroken(res.Message) {
			brokenFired++
			o.Checks.Off = knownBrokenChecks()
			res = runOptions(t, o)
		}
		if want, known := knownFailures[seed]; known {
			if res.Class == Pass {
				t.Fatalf("seed %d passes now: remove it from knownFailures (it failed with %q)", seed, want)
			}
			if !strings.Contains(res.Message, want) {
				t.Fatalf("seed %d: %s: %s\nwant the known failure %q", seed, res.Class, firstLine(res.Message), want)
			}
		} else if res.Class != Pass {
			t.Fatalf("seed %d: %s: %s\nlast events: %v", seed, res.Class, res.Message, res.Recent)
		}
		if again := runOptions(t, o); again.Digest != res.Digest {
			t.Fatalf("seed %d ran twice with digests %s and %s", seed, res.Digest, again.Digest)
		}
		if Draw(seed, nil).Process.ClockDriftPpmMax > 0 {
			drifting++
		}
		n, tn := &res.Stats.Network, &total.Network
		tn.Dropped += n.Dropped - n.DroppedPartition - n.DroppedCapacity
		tn.DroppedPartition += n.DroppedPartition
		tn.DroppedCapacity += n.DroppedCapacity
		tn.Duplicated += n.Duplicated
		tn.Corrupted += n.Corrupted
		tn.Partitions += n.Partitions
		tn.Clogs += n.Clogs
		total.Pauses += res.Stats.Pauses
		total.Crashes += res.Stats.Crashes
		total.Restarts += res.Stats.Restarts
		total.StorageFaults += res.Stats.StorageFaults
		total.TornWrites += res.Stats.TornWrites
		total.Checkpoints += res.Stats.Checkpoints
		total.StateTransfers += res.Stats.StateTransfers
		total.ViewChanges += res.Stats.ViewChanges
		total.Replies += res.Stats.Replies
	}
	happened := map[string]uint64{
		"loss": total.Network.Dropped, "partition drops": total.Network.DroppedPartition,
		"capacity drops": total.Network.DroppedCapacity, "duplicate": total.Network.Duplicated,
		"corrupt": total.Network.Corrupted, "partition": total.Network.Partitions, "clog": total.Network.Clogs,
		"pause": total.Pauses, "drift": uint64(drifting), "view changes": total.ViewChanges, "replies": total.Replies,
		"crash": total.Crashes, "restart": total.Restarts, "storage faults": total.StorageFaults,
		"torn or lost writes": total.TornWrites, "checkpoints": total.Checkpoints, "state transfers": total.StateTransfers,
	}
	for kind, n := range happened {
		if n == 0 {
			t.Errorf("over 50 seeds, %s never happened", kind)
		}
	}
	if len(knownBroken) > 0 && brokenFired == 0 {
		t.Errorf("no seed failed the known-broken checkers %v: remove them from knownBroken", knownBrokenChecks())
	}
	t.Logf("over 50 seeds: %v; %d failed a known-broken checker", happened, brokenFired)
}

// mustNew builds a simulator for options o with no log, failing the test
// if the options are refused.
func mustNew(t testing.TB, o Options) *Simulator {
	t.Helper()
	s, err := New(o, nil, logNone)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
