package vopr

import (
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
// provably cannot have the data (liveness_excuse.go). An excuse is reported in the
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

// holdsAnyPrepare reports whether the disk's journal slot for op holds a
// prepare of op, intact, whatever its checksum.
func (st *simStorage) holdsAnyPrepare(op uint64, buf []byte) bool {
	l := &st.layout
	st.Peek(l.PreparesOffset+op%l.JournalSlots*l.PrepareSlotSize, buf[:l.PrepareSlotSize])
	h, _, err := vsr.Decode(buf[:l.PrepareSlotSize], st.sizeMax)
	return err == nil && h.Command == vsr.CommandPrepare && h.Op == op
}

// holdsNamedPrepare reports whether the disk's journal slot for op holds,
// intact, a prepare of op with one of the checksums named, or any prepare
// of op if none is named.
func (st *simStorage) holdsNamedPrepare(op uint64, named []vsr.U128, buf []byte) bool {
	if len(named) == 0 {
		return st.holdsAnyPrepare(op, buf)
	}
	for _, checksum := range named {
		if st.holdsPrepare(op, checksum, buf) {
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
	h, _, err := vsr.Decode(buf[:l.PrepareSlotSize], st.sizeMax)
	return err == nil && h.Command == vsr.CommandPrepare && h.Op == op && h.Checksum == checksum
}
