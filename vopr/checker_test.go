package vopr

import (
	"strings"
	"testing"

	"github.com/govsr/govsr/faults"
	"github.com/govsr/govsr/vsr"
)

var faultsNever = faults.Never

// Each checker must be seen failing: these runs break the system on
// purpose and expect the named checker to catch it.

func runWithBug(t *testing.T, seed uint64, bug string, edit func(o *Options)) *Result {
	t.Helper()
	o := Draw(seed, Force{})
	o.Bug = bug
	o.Checks.Off = knownBrokenChecks()
	if edit != nil {
		edit(&o)
	}
	s := mustNew(t, o)
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

// caughtEarlierBy names, for a bug, the checkers that catch it before the
// one a test is about: they are turned off there. A superblock that never
// records a new view breaks the promise of the first do_view_change sent
// after a view change (the promises checker), long before a restart shows
// the durability checker a view gone back.
var caughtEarlierBy = map[string][]string{"stale-superblock": {"promises"}}

func TestCheckerDurabilityCatchesStaleSuperblock(t *testing.T) {
	expectCaughtOnSomeSeed(t, "stale-superblock", func(o *Options) {
		o.Checks.Off = append(o.Checks.Off, caughtEarlierBy["stale-superblock"]...)
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

// calm turns off every fault that can start a view change, so that a run
// shows one planted bug and nothing else.
func calm(o *Options) {
	o.Network.Loss, o.Network.Duplicate, o.Network.Corrupt = faultsNever, faultsNever, faultsNever
	o.Network.Partition, o.Network.Clog = faultsNever, faultsNever
	o.Process.Pause, o.Process.Crash, o.Process.ClockDriftPpmMax = faultsNever, faultsNever, 0
	o.Storage.Faulty = false
}

func TestCheckerExactlyOnceCatchesDuplicateExecution(t *testing.T) {
	res := runWithBug(t, 1, "execute-duplicate", nil)
	expectFailure(t, res, Correctness, "it ran at op")
	// No other checker sees it: every replica runs the duplicate alike.
	res = runWithBug(t, 1, "execute-duplicate", func(o *Options) { o.Checks.Off = append(o.Checks.Off, "exactly-once") })
	if res.Class != Pass || res.Stats.IgnoredViolations == 0 {
		t.Fatalf("with the exactly-once checker off: %s (%q), %d violations ignored; want a pass with some ignored",
			res.Class, firstLine(res.Message), res.Stats.IgnoredViolations)
	}
}

// expectVerdicts checks a table case's failures: none if want is empty,
// else exactly one, mentioning want.
func expectVerdicts(t *testing.T, name string, failures []string, want string) {
	t.Helper()
	switch {
	case want == "" && len(failures) > 0:
		t.Errorf("%s: failed: %q", name, failures)
	case want != "" && (len(failures) != 1 || !strings.Contains(failures[0], want)):
		t.Errorf("%s: failures %q, want one mentioning %q", name, failures, want)
	}
}

// recordedVerdicts is a checker's verdicts kept for a unit test.
type recordedVerdicts struct{ failures []string }

func (v *recordedVerdicts) fail(_ Class, message string)  { v.failures = append(v.failures, message) }
func (v *recordedVerdicts) logf(LogLevel, string, ...any) {}

func TestCheckerExactlyOnceRules(t *testing.T) {
	type run struct {
		replica int
		client  uint64
		request uint32
		op      uint64
	}
	for _, tc := range []struct {
		name  string
		runs  []run
		fails string
	}{
		{"each once, on every replica", []run{{0, 1, 1, 5}, {1, 1, 1, 5}, {0, 2, 1, 6}, {0, 1, 2, 7}, {1, 2, 1, 6}}, ""},
		{"twice on one replica", []run{{0, 1, 1, 5}, {0, 1, 1, 9}}, "it ran at op 5 already"},
		{"at another op on another replica", []run{{0, 1, 1, 5}, {2, 1, 1, 6}}, "it ran at op 5 already"},
		{"out of order", []run{{0, 1, 3, 5}, {0, 1, 2, 8}}, "after its request 3 at op 5"},
		{"two clients' numbers apart", []run{{0, 1, 3, 5}, {0, 2, 2, 8}}, ""},
		// Numbers past the dense slices' bound follow the same rules.
		{"a huge number twice", []run{{0, 1, onceDenseMax + 4, 5}, {1, 1, onceDenseMax + 4, 6}}, "it ran at op 5 already"},
		{"a huge number, then a small one", []run{{0, 1, 1<<32 - 1, 5}, {0, 1, 7, 6}}, "after its request 4294967295 at op 5"},
		{"a huge number once on each replica", []run{{0, 1, 1<<32 - 1, 5}, {1, 1, 1<<32 - 1, 5}, {0, 2, 1, 6}}, ""},
	} {
		v := &recordedVerdicts{}
		c := newExactlyOnceChecker(v)
		for _, r := range tc.runs {
			c.onApplied(r.replica, &vsr.Event{Kind: vsr.EventApplied, Client: vsr.U128{Lo: r.client}, Request: r.request, Op: r.op})
		}
		expectVerdicts(t, tc.name, v.failures, tc.fails)
	}
}

func TestCheckerStateCatchesSessionDivergence(t *testing.T) {
	// Replica 1's store stays right; only its sessions differ.
	res := runWithBug(t, 1, "stale-session", func(o *Options) { o.Replicas = 3 })
	expectFailure(t, res, Correctness, "state digest")
}

func TestCheckerTimestampsCatchStampBackwards(t *testing.T) {
	quiet := func(o *Options) {
		calm(o)
		o.Replicas, o.RequestsMax, o.Checks.Off = 3, 200, nil
	}
	res := runWithBug(t, 1, "stamp-backwards", quiet)
	expectFailure(t, res, Correctness, "prepare timestamp")
	if res = runWithBug(t, 1, "", quiet); res.Class != Pass {
		t.Fatalf("without the bug: %s: %q", res.Class, firstLine(res.Message))
	}
}

// TestCheckerTimestampsDecodesNewBytes: a later commit of an op with the
// first commit's header bytes passes without a second decode, and one
// with other bytes is decoded again, so an undecodable copy still fails.
func TestCheckerTimestampsDecodesNewBytes(t *testing.T) {
	v := &recordedVerdicts{}
	c := timestampChecker{v: v}
	h := vsr.Header{Command: vsr.CommandPrepare, Op: 5, Operation: vsr.OperationRegister, Timestamp: 9}
	good := make([]byte, vsr.HeaderSize)
	if _, err := vsr.Encode(good, &h, nil); err != nil {
		t.Fatal(err)
	}
	bad := append([]byte(nil), good...)
	bad[100] ^= 1
	for i, prepare := range [][]byte{good, good, bad, good} {
		c.onCommitted(i%3, &vsr.Event{Kind: vsr.EventCommitted, Op: 5, Prepare: prepare})
	}
	if len(v.failures) != 1 || !strings.Contains(v.failures[0], "undecodable header") {
		t.Fatalf("failures %q, want one for the undecodable copy", v.failures)
	}
	if c.stamps[5] != 9 {
		t.Fatalf("op 5's timestamp is %d, want 9", c.stamps[5])
	}
}
