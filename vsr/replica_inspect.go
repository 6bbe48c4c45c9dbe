package vsr

// Read-only views of a replica for the simulator, which asks them before it
// excuses a liveness stall; nothing here changes the replica or feeds it.

// JournalFaulty reports whether the open found that its head may be
// understated (a slot that may hide a higher op, or a --rejoin file): until
// it recovers from a primary, the replica takes no part in a view change
// on its own.
func (r *Replica) JournalFaulty() bool { return r.journalFaulty }

// HasPrepare reports whether the journal holds op's prepare (its body, not
// only its header): what this replica could send a peer that repairs it.
func (r *Replica) HasPrepare(op uint64) bool { return r.journal.hasPrepare(op) }

// Nackable reports whether this replica's do_view_change would swear it
// never held op's prepare (see nackMask): not if its journal names op by a
// header that survived a crash (it may have acknowledged op), not if the
// slot is faulty, not if its disk was replaced after op.
func (r *Replica) Nackable(op uint64) bool {
	assert(op > 0, "Nackable of an op, not the root")
	if r.open != nil || r.openErr != nil || r.journalFaulty || r.journal.faultyCount > 0 {
		return false // a faulty journal nacks nothing: a faulty slot may hold any op
	}
	return op > r.op || (r.journal.nackable(op) && op > r.rejoinOp)
}

// HoldsPrepare reports whether the replica's journal holds, in memory, the
// prepare of op with this checksum: the simulator asks it before it
// excuses a stall for want of an op (a copy in memory can still be served
// to peers even if the disk's copy is damaged).
func (r *Replica) HoldsPrepare(op uint64, checksum U128) bool {
	assert(op > 0, "HoldsPrepare of an op, not the root")
	return r.open == nil && r.openErr == nil && r.journal.prepare(op, checksum) != nil
}

// LogParent returns the parent checksum of the entry this replica's log
// names at op, and whether it names one: the entry its log needs at op-1,
// even where it has no header of its own there.
func (r *Replica) LogParent(op uint64) (U128, bool) {
	assert(op > 0, "LogParent of an op, not the root")
	if r.open != nil || r.openErr != nil || op > r.op {
		return U128{}, false
	}
	h := r.journal.header(op)
	if h == nil {
		return U128{}, false
	}
	assert(h.Op == op, "the journal names op by its own header")
	return h.Parent, true
}

// LogChecksum returns the checksum of the entry this replica's log names
// at op, by its header with or without the prepare, and whether it names
// one: the simulator asks before it excuses a stall for want of that
// entry (another prepare of the same op is no substitute for it).
func (r *Replica) LogChecksum(op uint64) (U128, bool) {
	assert(op > 0, "LogChecksum of an op, not the root")
	if r.open != nil || r.openErr != nil || op > r.op {
		return U128{}, false
	}
	h := r.journal.header(op)
	if h == nil {
		return U128{}, false
	}
	assert(h.Op == op && !h.Checksum.IsZero(), "the journal names op by a whole header")
	return h.Checksum, true
}
