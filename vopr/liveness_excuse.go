package vopr

import (
	"fmt"
	"slices"

	"github.com/govsr/govsr/vsr"
)

// A liveness phase that runs out of time fails the run, unless storage
// faults explain the stall beyond what any protocol of this design could
// do (TigerBeetle's simulator excuses a core that lacks a prepare or cannot
// form a view-change quorum in the same way). The healed replicas are the
// core in core mode, every replica otherwise. Two excuses, each with proof:
//
//   - Too few to elect: fewer than a view-change quorum of the healed
//     replicas can take part in a view change, the rest recovering with a
//     faulty journal (a corrupt slot hides its head, a replaced disk knows
//     nothing): by design they wait for a primary, which none can elect.
//   - Data out of reach: an op the canonical history committed, above every
//     checkpoint the able replicas could transfer, of which no able replica
//     holds an intact copy on its disk or in its memory, while some healed
//     disk is one the fault atlas let faults strike (healthy disks lose
//     nothing acknowledged, so without a faulty disk a missing op is the
//     protocol's doing).
//   - Absence unprovable: an op in the able replicas' logs above their
//     commit and above every op the canonical history committed, whose
//     prepare none of them holds in memory or intact on disk, and which fewer than a nack
//     quorum of them may swear they never held (the others name it by a
//     header that survived a crash, so they may have acknowledged it, or
//     have a faulty slot), while some disk of the cluster is faulty or
//     replaced: whoever held the prepare lost it, and the protocol must
//     stall rather than guess (PAR, FAST'18).
//
// An uncommitted op nobody holds but a nack quorum could disown is never
// an excuse: the protocol must truncate it. An excuse passes the run,
// loudly: it is printed, logged, stored in the result and counted by the
// swarm.

// stalled ends a liveness phase that ran out of time.
func (s *Simulator) stalled() {
	if why := s.livenessExcuse(); why != "" {
		s.excuse = why
		s.logf(logShort, "liveness stall EXCUSED: %s", why)
		s.phase = phaseDone
		return
	}
	what := "cluster"
	if s.opts.Liveness.Core {
		what = "core " + s.coreList()
	}
	s.fail(Liveness, fmt.Sprintf("the healed %s did not converge within %d ticks to op %d (the highest committed):\n%s",
		what, s.opts.LivenessTicksMax, s.check.committed(), s.describe()))
}

// livenessExcuse returns why the healed replicas cannot converge through no
// fault of the protocol, or "".
func (s *Simulator) livenessExcuse() string {
	healed, able := s.healedAndAble()
	if why := s.tooFewToElect(healed, able); why != "" {
		return why
	}
	if why := s.dataOutOfReach(healed, able); why != "" {
		return why
	}
	return s.absenceUnprovable(healed, able)
}

func (s *Simulator) absenceUnprovable(healed, able []bool) string {
	everyone := make([]bool, len(s.replicas))
	for i := range everyone {
		everyone[i] = true
	}
	faulty := s.unhealthy(everyone) // the holders of the lost prepare may be outside the core
	if len(faulty) == 0 {
		return ""
	}
	var views []replicaView
	buf := make([]byte, s.replicas[0].storage.layout.PrepareSlotSize)
	for i, r := range s.replicas {
		if able[i] {
			rr, st := r.replica, r.storage
			views = append(views, replicaView{commit: rr.CommitMax(), head: rr.Op(), logView: rr.LogView(),
				nackable: rr.Nackable, names: rr.LogChecksum, parent: rr.LogParent,
				holds: func(op uint64, named []vsr.U128) bool {
					return holdsNamedInMemory(rr, op, named) || st.holdsNamedPrepare(op, named, buf)
				}})
		}
	}
	op, nackers := unprovableOp(views, s.check.committed(), s.opts.Replicas-vsr.QuorumReplication(s.opts.Replicas)+1)
	if op == 0 {
		return ""
	}
	return fmt.Sprintf("op %d (above every commit) has its prepare on no replica able to take part %v, and only %d of "+
		"them may swear they never held it; replicas %v have faulty or replaced disks", op, indexes(able), nackers, faulty)
}

// holdsNamedInMemory reports whether replica r holds in memory a prepare
// of op that is one of named (any prepare of op, if none is named).
func holdsNamedInMemory(r *vsr.Replica, op uint64, named []vsr.U128) bool {
	if len(named) == 0 {
		return r.HasPrepare(op)
	}
	for _, checksum := range named {
		if r.HoldsPrepare(op, checksum) {
			return true
		}
	}
	return false
}

// replicaView is what the unprovable-absence excuse asks of a replica.
type replicaView struct {
	commit, head uint64
	logView      uint32
	names        func(op uint64) (vsr.U128, bool) // the entry its log names at op, if any
	parent       func(op uint64) (vsr.U128, bool) // the parent its log's entry at op names, if any
	// holds reports whether it holds, in memory or intact on disk, a
	// prepare of op that is one of the entries named (any, if none is).
	holds    func(op uint64, named []vsr.U128) bool
	nackable func(op uint64) bool
}

// unprovableOp returns the lowest op above every commit (the replicas' and
// the canonical history's) and at most the highest head, that no replica
// holds and fewer than nackQuorum may disown, with how many may; or 0.
// A prepare of op counts as held only if it is an entry some replica's log
// names there: a stale entry of an older view left on a disk (seed
// 9000150: a stacked tail's prepare under the header of a later view)
// cannot be served for the entry the view change needs. Where the logs of
// the newest log_view, the one a view change adopts, name op (by a header
// there or by the parent of the entry above), only the entries they name
// count: an older log's entry is no substitute (seed 8600025: the newest
// log had no header at 1034, its 1035 named a parent no able replica
// held, and an older log's different 1034 counted as held).
func unprovableOp(replicas []replicaView, committed uint64, nackQuorum int) (op uint64, nackers int) {
	commit, head := committed, uint64(0)
	var newest uint32
	for _, r := range replicas {
		commit, head, newest = max(commit, r.commit), max(head, r.head), max(newest, r.logView)
	}
	named := make([]vsr.U128, 0, len(replicas))
	for op := commit + 1; op <= head; op++ {
		named = namedByNewest(replicas, op, newest, named[:0])
		if len(named) == 0 {
			named = namedByAny(replicas, op, named)
		}
		held, nackers := false, 0
		for _, r := range replicas {
			held = held || r.holds(op, named)
			if r.nackable(op) {
				nackers++
			}
		}
		if !held && nackers < nackQuorum {
			return op, nackers
		}
	}
	return 0, 0
}

// namedByNewest appends to named the entries that the logs of log_view
// newest name at op, by a header there or by the parent of the entry above.
func namedByNewest(replicas []replicaView, op uint64, newest uint32, named []vsr.U128) []vsr.U128 {
	for _, r := range replicas {
		if r.logView != newest {
			continue
		}
		checksum, ok := r.names(op)
		if !ok && r.parent != nil && op < r.head {
			checksum, ok = r.parent(op + 1)
		}
		if ok && !slices.Contains(named, checksum) {
			named = append(named, checksum)
		}
	}
	return named
}

// namedByAny appends to named the entries any replica's log names at op.
func namedByAny(replicas []replicaView, op uint64, named []vsr.U128) []vsr.U128 {
	for _, r := range replicas {
		if checksum, ok := r.names(op); ok && !slices.Contains(named, checksum) {
			named = append(named, checksum)
		}
	}
	return named
}

// unhealthy returns the replicas of set whose disks the atlas let faults
// strike, or which were replaced.
func (s *Simulator) unhealthy(set []bool) []int {
	var out []int
	for i := range s.replicas {
		if set[i] && !s.diskHealthy(i) {
			out = append(out, i)
		}
	}
	return out
}

// healedAndAble returns which replicas the liveness phase healed, and of
// those which can take part in a view change (up, and not recovering with
// a faulty journal).
func (s *Simulator) healedAndAble() (healed, able []bool) {
	healed, able = make([]bool, len(s.replicas)), make([]bool, len(s.replicas))
	for i, r := range s.replicas {
		healed[i] = !s.opts.Liveness.Core || s.core[i]
		rr := r.replica
		able[i] = healed[i] && !r.down && !rr.Opening() && rr.OpenError() == nil &&
			!(rr.Status() == vsr.StatusRecovering && rr.JournalFaulty())
	}
	return healed, able
}

func (s *Simulator) tooFewToElect(healed, able []bool) string {
	n, waiting := 0, []int{}
	for i := range s.replicas {
		switch {
		case able[i]:
			n++
		case healed[i]:
			waiting = append(waiting, i)
		}
	}
	if n >= vsr.QuorumViewChange(s.opts.Replicas) || len(waiting) == 0 {
		return ""
	}
	return fmt.Sprintf("only %d healed replicas can take part in a view change; replicas %v recover with faulty journals "+
		"and wait for a primary", n, waiting)
}

func (s *Simulator) dataOutOfReach(healed, able []bool) string {
	faulty := s.unhealthy(healed)
	floor := uint64(0)
	for i, r := range s.replicas {
		if able[i] {
			op, _ := r.replica.DurableCheckpoint()
			floor = max(floor, op)
		}
	}
	if len(faulty) == 0 {
		return ""
	}
	buf := make([]byte, s.replicas[0].storage.layout.PrepareSlotSize)
	for op := floor + 1; op <= s.check.committed(); op++ {
		checksum, ok := s.check.canonical.checksum(op)
		if ok && !s.anyHolds(able, op, checksum, buf) {
			return fmt.Sprintf("committed op %d (above the able replicas' checkpoints, at most op %d) has no intact copy on the "+
				"disk or in the memory of any replica able to serve it %v; healed replicas %v have faulty disks",
				op, floor, indexes(able), faulty)
		}
	}
	return ""
}

// anyHolds reports whether some replica of set holds op's prepare with
// checksum, in its memory or intact in its disk's journal slot.
func (s *Simulator) anyHolds(set []bool, op uint64, checksum vsr.U128, buf []byte) bool {
	for i, r := range s.replicas {
		if !set[i] {
			continue
		}
		if !r.down && r.replica.HoldsPrepare(op, checksum) {
			return true
		}
		if r.storage.holdsPrepare(op, checksum, buf) {
			return true
		}
	}
	return false
}

func indexes(set []bool) []int {
	var out []int
	for i, in := range set {
		if in {
			out = append(out, i)
		}
	}
	return out
}
