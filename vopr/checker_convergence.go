package vopr

import (
	"fmt"

	"github.com/govsr/govsr/vsr"
)

// The convergence checker decides the end of the liveness phase: every
// client request completed, and every core replica (liveness.go) up,
// normal, in one view, executed to one op with one state digest. That op
// must be at least the highest op the canonical checker ever saw
// committed, not merely the highest commit the replicas still know of: a
// cluster that lost a committed tail and agrees on the shorter log fails.
//
// A core that stalls fails the run, unless the stall is excused: the core
// provably cannot have the data (coreExcuse). An excuse is reported in the
// result and the log, never silent.

// convergent is what the convergence checker reads of a replica.
type convergent interface {
	Status() vsr.Status
	View() uint32
	CommitMin() uint64
	CommitMax() uint64
	Digest() vsr.U128
}

// converged reports whether the liveness phase's work is done.
func (s *Simulator) converged() bool {
	for _, c := range s.clients {
		if c.client.Busy() || !c.idle() {
			return false
		}
	}
	core := make([]convergent, 0, len(s.replicas))
	for i, r := range s.replicas {
		if !s.core[i] {
			continue
		}
		if r.down {
			return false
		}
		core = append(core, r.replica)
	}
	return replicasConverged(core, s.check.committed())
}

// replicasConverged reports whether replicas are all normal in one view,
// executed to one op at least target (and at least any commit they know
// of), with one state digest.
func replicasConverged(replicas []convergent, target uint64) bool {
	var view uint32
	commit := target
	for _, r := range replicas {
		commit = max(commit, r.CommitMax())
		view = max(view, r.View())
	}
	for _, r := range replicas {
		if r.Status() != vsr.StatusNormal || r.View() != view || r.CommitMin() != commit ||
			r.Digest() != replicas[0].Digest() {
			return false
		}
	}
	return true
}

// stalled ends a liveness phase that ran out of time: excused in core mode
// if the core provably lacks data, failed otherwise.
func (s *Simulator) stalled() {
	if s.opts.Liveness.Core {
		if why := s.coreExcuse(); why != "" {
			s.excuse = why
			s.logf(logShort, "liveness stall EXCUSED: %s", why)
			s.phase = phaseDone
			return
		}
	}
	what := "cluster"
	if s.opts.Liveness.Core {
		what = "core " + s.coreList()
	}
	s.fail(Liveness, fmt.Sprintf("the healed %s did not converge within %d ticks to op %d (the highest committed):\n%s",
		what, s.opts.LivenessTicksMax, s.check.committed(), s.describe()))
}

// coreExcuse returns why the core cannot converge through no fault of the
// protocol, or "". The one excuse: an op the canonical history committed,
// above every checkpoint a core replica could transfer, of which no core
// replica holds an intact copy, on its disk or in its memory; and some core
// disk is one the fault atlas let faults strike. Healthy disks lose nothing
// a replica acknowledged, and the core meets every replication quorum, so
// without a faulty disk in the core a missing op is the protocol's doing.
func (s *Simulator) coreExcuse() string {
	var faulty []int
	floor := uint64(0)
	for i, r := range s.replicas {
		if !s.core[i] {
			continue
		}
		if !s.diskHealthy(i) {
			faulty = append(faulty, i)
		}
		if !r.down && !r.replica.Opening() && r.replica.OpenError() == nil {
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
		if ok && !s.coreHolds(op, checksum, buf) {
			return fmt.Sprintf("committed op %d (above the core's checkpoints, at most op %d) has no intact copy on the disk or "+
				"in the memory of any core replica %s; core replicas %v have faulty disks", op, floor, s.coreList(), faulty)
		}
	}
	return ""
}

// coreHolds reports whether some core replica holds op's prepare with
// checksum, in its memory or intact in its disk's journal slot.
func (s *Simulator) coreHolds(op uint64, checksum vsr.U128, buf []byte) bool {
	for i, r := range s.replicas {
		if !s.core[i] {
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

// holdsPrepare reports whether the disk's journal slot for op holds op's
// prepare with checksum, intact.
func (st *simStorage) holdsPrepare(op uint64, checksum vsr.U128, buf []byte) bool {
	l := &st.layout
	st.Peek(l.PreparesOffset+op%l.JournalSlots*l.PrepareSlotSize, buf[:l.PrepareSlotSize])
	h, _, err := vsr.Decode(buf[:l.PrepareSlotSize], st.sim.opts.MessageSizeMax)
	return err == nil && h.Command == vsr.CommandPrepare && h.Op == op && h.Checksum == checksum
}
