package vopr

import (
	"slices"
	"strings"
	"testing"

	"github.com/govsr/govsr/vsr"
)

// fakeReplica is a replica's position, for the convergence rule alone.
type fakeReplica struct {
	status         vsr.Status
	view           uint32
	commitMin, max uint64
	digest         vsr.U128
}

func (f fakeReplica) Status() vsr.Status { return f.status }
func (f fakeReplica) View() uint32       { return f.view }
func (f fakeReplica) CommitMin() uint64  { return f.commitMin }
func (f fakeReplica) CommitMax() uint64  { return f.max }
func (f fakeReplica) Digest() vsr.U128   { return f.digest }

// TestLivenessConvergenceRule: replicas that agree with each other but
// stopped below the highest op that committed have lost a committed tail.
func TestLivenessConvergenceRule(t *testing.T) {
	at := func(commit uint64) fakeReplica {
		return fakeReplica{status: vsr.StatusNormal, view: 3, commitMin: commit, max: commit, digest: vsr.U128{Lo: commit}}
	}
	lagging := at(100)
	lagging.commitMin = 99
	for _, tc := range []struct {
		name     string
		replicas []convergent
		target   uint64
		want     bool
	}{
		{"all at the highest committed op", []convergent{at(100), at(100)}, 100, true},
		{"all agree, below the highest committed op", []convergent{at(95), at(95)}, 100, false},
		{"one has not executed what it knows committed", []convergent{at(100), lagging}, 100, false},
		{"ahead of what the canonical checker saw", []convergent{at(101), at(101)}, 100, true},
	} {
		if got := replicasConverged(tc.replicas, tc.target); got != tc.want {
			t.Errorf("%s: converged = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// staged runs o with stage run at the start of the liveness phase, once
// the core is chosen.
func staged(t *testing.T, o Options, setup, stage func(s *Simulator)) *Result {
	t.Helper()
	s := mustNew(t, o)
	if setup != nil {
		setup(s)
	}
	s.testAtLiveness = func() { stage(s) }
	return s.Run()
}

// shortRun is a three-replica run with a short safety phase and a short
// liveness bound, every checker on that today's code passes.
func shortRun(seed uint64, core bool, bug string) Options {
	force := chaosOff()
	force["storage"] = false
	for _, k := range storageFaultKinds {
		force[k] = false
	}
	o := Draw(seed, force)
	o.Replicas, o.RequestsMax, o.LivenessTicksMax = 3, 300, 3_000
	o.Liveness.Core, o.Bug = core, bug
	o.Checks.Off = knownBrokenChecks()
	return o
}

// crashAll crashes every replica at once: the core restarts from its disks
// as the liveness phase begins; the rest stay down.
func crashAll(s *Simulator) {
	for i, r := range s.replicas {
		if !r.down {
			s.crash(i, 0)
		}
	}
}

func TestLivenessCoreCatchesWaitForAll(t *testing.T) {
	// The primary waits for every replica: harmless while all of them
	// come back, fatal once the core must work without one.
	res := runWithBug(t, 4, "wait-for-all", func(o *Options) { o.Replicas, o.Liveness.Core = 3, true })
	expectFailure(t, res, Liveness, "the healed core")
	if res.Excuse != "" {
		t.Fatalf("excused: %s", res.Excuse)
	}
	res = runWithBug(t, 4, "wait-for-all", func(o *Options) { o.Replicas, o.Liveness.Core = 3, false })
	if res.Class != Pass {
		t.Fatalf("healing everything: %s: %q; want a pass", res.Class, firstLine(res.Message))
	}
}

func TestLivenessCatchesDroppedCommittedTail(t *testing.T) {
	// The whole cluster crashes as the liveness phase begins; the core
	// reopens. A replica that drops its committed tail at open leaves the
	// core without ops its disks still hold: a stall, and no excuse.
	res := staged(t, shortRun(7, true, "drop-committed-tail"), nil, crashAll) // seed 1 stopped stalling when checkpoints became incremental; 9 of seeds 1-60 stall, 7 first
	expectFailure(t, res, Liveness, "did not converge")
	if res.Excuse != "" {
		t.Fatalf("excused: %s", res.Excuse)
	}
	if res = staged(t, shortRun(1, true, ""), nil, crashAll); res.Class != Pass || res.Excuse != "" {
		t.Fatalf("without the bug: %s: %q (excuse %q); want a pass", res.Class, firstLine(res.Message), res.Excuse)
	}
}

func TestLivenessCoreExcusesLostData(t *testing.T) {
	// Every disk counts as faulty; the whole cluster crashes as the
	// liveness phase begins, and the core's disks lose every committed op
	// above their checkpoints. Only the replica left out holds them: the
	// core cannot converge, and the stall is excused, loudly.
	allFaulty := func(s *Simulator) {
		for _, r := range s.replicas {
			r.storage.faulty = true
		}
	}
	loseTail := func(s *Simulator) {
		floor := uint64(0)
		for i, r := range s.replicas {
			if s.core[i] && !r.down {
				op, _ := r.replica.DurableCheckpoint()
				floor = max(floor, op)
			}
		}
		crashAll(s)
		for i, r := range s.replicas {
			if !s.core[i] {
				continue
			}
			l := &r.storage.layout
			for op := floor + 1; op <= s.check.committed(); op++ {
				r.storage.FlipBit(l.PreparesOffset+op%l.JournalSlots*l.PrepareSlotSize, 8*40)
			}
		}
	}
	res := staged(t, shortRun(1, true, ""), allFaulty, loseTail)
	if res.Class != Pass || !strings.Contains(res.Excuse, "has no intact copy") {
		t.Fatalf("got %s: %q, excuse %q; want a pass excused for want of data", res.Class, firstLine(res.Message), res.Excuse)
	}
}

// absenceEntry is entry n of an op in the unprovable-absence tests.
func absenceEntry(n uint64) vsr.U128 { return vsr.U128{Lo: n} }

// absenceView is a replica whose log names entry 1 at each op up to head,
// holding entry 1 of the ops in held and only another entry (2) of the ops
// in stale.
func absenceView(commit, head uint64, held, stale, nackable []uint64) replicaView {
	in := func(set []uint64) func(uint64) bool {
		return func(op uint64) bool { return slices.Contains(set, op) }
	}
	holds := func(op uint64, named []vsr.U128) bool {
		return slices.Contains(held, op) ||
			slices.Contains(stale, op) && (len(named) == 0 || slices.Contains(named, absenceEntry(2)))
	}
	names := func(op uint64) (vsr.U128, bool) { return absenceEntry(1), op <= head }
	return replicaView{commit: commit, head: head, names: names, holds: holds, nackable: in(nackable)}
}

// The unprovable-absence rule: an op above every commit that nobody holds
// is excused only while fewer than a nack quorum may disown it (the others
// name it by headers that came back from a crash); one a nack quorum could
// disown is the protocol's to truncate, never an excuse, and neither is an
// op somebody holds or one the canonical history committed.
func TestLivenessUnprovableAbsenceRule(t *testing.T) {
	view := func(commit, head uint64, held, nackable []uint64) replicaView {
		return absenceView(commit, head, held, nil, nackable)
	}
	viewStale := absenceView
	const nackQuorum = 3 // five replicas
	cases := []struct {
		name      string
		replicas  []replicaView
		committed uint64
		want      uint64
	}{
		{"nobody holds 11, two may disown it", []replicaView{
			view(10, 12, nil, []uint64{11, 12}), view(10, 12, nil, nil), view(10, 12, nil, []uint64{11})}, 10, 11},
		{"a nack quorum may disown 11 and 12", []replicaView{
			view(10, 12, nil, []uint64{11, 12}), view(10, 12, nil, []uint64{11, 12}), view(10, 12, nil, []uint64{11, 12})}, 10, 0},
		{"somebody holds 11; 12 is unprovable", []replicaView{
			view(10, 12, []uint64{11}, nil), view(10, 12, nil, nil), view(10, 12, nil, nil)}, 10, 12},
		{"a disk holds only another entry of 11 than the logs name", []replicaView{
			viewStale(10, 12, nil, []uint64{11}, []uint64{11}), view(10, 12, nil, nil), view(10, 12, nil, []uint64{11})}, 10, 11},
		{"the canonical history committed 11 and 12", []replicaView{
			view(10, 12, nil, nil), view(10, 12, nil, nil), view(10, 12, nil, nil)}, 12, 0},
		{"a replica knows 11 committed", []replicaView{
			view(11, 11, nil, nil), view(10, 11, nil, nil), view(10, 11, nil, nil)}, 10, 0},
	}
	for _, c := range cases {
		if got, _ := unprovableOp(c.replicas, c.committed, nackQuorum); got != c.want {
			t.Errorf("%s: op %d, want %d", c.name, got, c.want)
		}
	}
}

// Where the newest log_view's logs name an op, only their entries count as
// held: here the newest log (log_view 7) has no header at 12 but names its
// entry (1) as the parent of 13, and an older log (log_view 5) holds
// another entry (2) of 12, which the view change cannot use (seed 8600025).
func TestLivenessUnprovableAbsenceNewestLog(t *testing.T) {
	newest := absenceView(10, 13, []uint64{11, 13}, nil, nil)
	newest.logView = 7
	newest.names = func(op uint64) (vsr.U128, bool) { return absenceEntry(1), op <= 13 && op != 12 }
	newest.parent = func(op uint64) (vsr.U128, bool) { return absenceEntry(1), op <= 13 && op != 12 }
	older := absenceView(10, 13, []uint64{11, 13}, []uint64{12}, nil)
	older.logView = 5
	older.names = func(op uint64) (vsr.U128, bool) {
		if op == 12 {
			return absenceEntry(2), true
		}
		return absenceEntry(1), op <= 13
	}
	if op, _ := unprovableOp([]replicaView{newest, older}, 10, 3); op != 12 {
		t.Errorf("an older log's other 12 counted as held: op %d, want 12", op)
	}
	older.logView = 7 // both newest: the entry one of them names at 12 is held
	if op, _ := unprovableOp([]replicaView{newest, older}, 10, 3); op != 0 {
		t.Errorf("both logs newest: op %d, want none", op)
	}
}
