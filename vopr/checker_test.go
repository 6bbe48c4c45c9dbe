package vopr

import (
	"strings"
	"testing"
)

// Each checker must be seen failing: these runs break the system on
// purpose and expect the named checker to catch it.

func runWithBug(t *testing.T, seed uint64, bug string, edit func(o *Options)) *Result {
	t.Helper()
	o := Draw(seed, Force{})
	o.Bug = bug
	if edit != nil {
		edit(&o)
	}
	s, err := New(o, nil, logNone)
	if err != nil {
		t.Fatal(err)
	}
	return s.Run()
}

func expectFailure(t *testing.T, res *Result, class Class, text string) {
	t.Helper()
	if res.Class != class || !strings.Contains(res.Message, text) {
		t.Fatalf("got %s: %q; want %s mentioning %q", res.Class, firstLine(res.Message), class, text)
	}
}

// expectCaughtOnSomeSeed runs a bug over seeds 1 to 12 (a bug bites only
// when the faults it needs happen): every run that fails must fail as
// class, and at least one must fail with text, from the checker under test.
func expectCaughtOnSomeSeed(t *testing.T, bug string, edit func(o *Options), class Class, text string) {
	t.Helper()
	var got []string
	for seed := uint64(1); seed <= 12; seed++ {
		res := runWithBug(t, seed, bug, edit)
		if res.Class == Pass {
			continue
		}
		if res.Class != class {
			t.Fatalf("seed %d: got %s: %q; want %s", seed, res.Class, firstLine(res.Message), class)
		}
		if strings.Contains(res.Message, text) {
			return
		}
		got = append(got, firstLine(res.Message))
	}
	t.Fatalf("no seed failed with %q; failures: %q", text, got)
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// faultyThree is a three-replica cluster with partitions and loss on.
func faultyThree(o *Options) {
	o.Replicas, o.Clients = 3, 4
	o.Network.Partition = Draw(1, Force{"partition": true}).Network.Partition
	o.Network.Partition.Num *= 4
	o.Network.Loss = Draw(1, Force{"loss": true}).Network.Loss
}

func TestCheckerCanonicalChainCatchesCommitWithoutQuorum(t *testing.T) {
	expectCaughtOnSomeSeed(t, "commit-without-quorum", faultyThree, Correctness, "committed op")
}

func TestCheckerCanonicalChainCatchesForgedRequest(t *testing.T) {
	res := runWithBug(t, 1, "forge-request", nil)
	expectFailure(t, res, Correctness, "that no client sent")
}

func TestCheckerRepliesCatchReplyBeforeCommit(t *testing.T) {
	res := runWithBug(t, 1, "reply-before-commit", func(o *Options) { o.Replicas = 3 })
	expectFailure(t, res, Correctness, "which never committed")
}

func TestCheckerStateCatchesDivergence(t *testing.T) {
	res := runWithBug(t, 2, "diverge-state", func(o *Options) { o.Replicas = 3 })
	expectFailure(t, res, Correctness, "state digest")
}

func TestCheckerLinearizabilityCatchesStaleRead(t *testing.T) {
	res := runWithBug(t, 3, "stale-read", func(o *Options) {
		o.Workload.ReadPercent, o.Workload.WritePercent = 40, 60
		o.RequestsMax = 300
	})
	expectFailure(t, res, Correctness, "not linearizable")
	if res.Linearizability != "illegal" {
		t.Fatalf("linearizability verdict %q", res.Linearizability)
	}
	path := t.TempDir() + "/history.html"
	if err := res.WriteVisualization(path); err != nil {
		t.Fatal(err)
	}
}

func TestCheckerDurabilityCatchesStaleSuperblock(t *testing.T) {
	expectCaughtOnSomeSeed(t, "stale-superblock", func(o *Options) {
		faultyThree(o)
		o.Process.Crash = Draw(1, Force{"crash": true}).Process.Crash
		o.Process.Crash.Num *= 3
	}, Correctness, "were durable")
}

func TestCheckerCrashCatchesPanic(t *testing.T) {
	res := runWithBug(t, 4, "panic-at-op-50", nil)
	expectFailure(t, res, Crash, "panic at op 50")
}

func TestCheckerLivenessCatchesIgnoredStartView(t *testing.T) {
	res := runWithBug(t, 5, "ignore-start-view", faultyThree)
	expectFailure(t, res, Liveness, "did not converge")
}
