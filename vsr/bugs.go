package vsr

// Deliberate bugs (Options.TestingBug), for the checker tests only. Each is
// one method here, named after its Bug, called at the one point of the
// protocol path that the bug bends; with TestingBug zero, as in production,
// every method changes nothing. So a protocol path reads as the protocol,
// plus a call whose name says which planted bug may bend it there.

// bugLongestLogWins reports whether, under BugLongestLogWins, the new
// primary takes do_view_change d as the best log so far because it is the
// longest, whatever its log_view.
func (r *Replica) bugLongestLogWins(best int, d *dvcRecord) bool {
	assert(d.present, "only a do_view_change received is weighed")
	assert(best < int(r.opts.ReplicaCount), "the best so far is a replica of the cluster")
	return r.bugOn(BugLongestLogWins) && (best < 0 || d.op > r.viewChange.dvcs[best].op)
}

// bugOldStartView reports whether a normal backup installs a start_view
// of an older view (BugOldStartView) instead of dropping it as stale.
func (r *Replica) bugOldStartView() bool {
	assert(r.status != StatusRecovering, "a start_view is weighed outside recovery")
	return r.bugOn(BugOldStartView) && r.status == StatusNormal
}

// bugNoAdoptedLogRepair reports whether a new primary completing an
// adopted log leaves the entries below a gap nobody holds unrepaired
// (BugNoAdoptedLogRepair): repair as it was before seed 1012461, walking
// only the hash chain down from the head, which never gets past the gap.
func (r *Replica) bugNoAdoptedLogRepair() bool {
	assert(r.status == StatusViewChange && r.viewChange.installed, "an adopted log is repaired during its view change")
	return r.bugOn(BugNoAdoptedLogRepair)
}

// bugCheckpointCopiesBehind reports whether a checkpoint due while the
// superblock copies disagree is taken at once (BugCheckpointCopiesBehind)
// instead of after an update makes them agree: it goes to the area an
// older copy, perhaps the durable one, still names.
func (r *Replica) bugCheckpointCopiesBehind() bool {
	assert(r.super.copiesBehind, "asked only while the copies disagree")
	assert(!r.checkpoint.inFlight, "asked only with no checkpoint on its way")
	return r.bugOn(BugCheckpointCopiesBehind)
}

// bugOn reports whether the replica was told to have bug b.
func (r *Replica) bugOn(b Bug) bool {
	assert(b > BugNone, "a deliberate bug is a bug")
	assert(b < bugCount, "a deliberate bug is one of the list")
	return r.opts.TestingBug == b
}

// bugForgeRequest returns the request message the primary queues: under
// BugForgeRequest, a copy whose timestamp field is altered (in r.scratch).
func (r *Replica) bugForgeRequest(h *Header, body, message []byte) []byte {
	assert(h.Command == CommandRequest, "only a request is forged")
	assert(len(message) == int(h.Size), "a request is queued whole")
	if !r.bugOn(BugForgeRequest) {
		return message
	}
	forged := *h
	forged.Timestamp++
	n, _ := Encode(r.scratch, &forged, body)
	return r.scratch[:n]
}

// bugExecuteDuplicate reports whether a retry of a session's latest
// request is prepared and executed again (BugExecuteDuplicate) instead of
// answered from the reply cache.
func (r *Replica) bugExecuteDuplicate() bool {
	assert(r.clients.count() <= r.opts.ClientsMax, "the client table stays within its bound")
	return r.bugOn(BugExecuteDuplicate)
}

// bugStampBackwards stamps every eighth prepare below its predecessor,
// stamped previous, under BugStampBackwards.
func (r *Replica) bugStampBackwards(h *Header, previous uint64) {
	assert(h.Command == CommandPrepare, "only a prepare is stamped")
	assert(h.Op == r.op+1, "the prepare stamped extends the log")
	if r.bugOn(BugStampBackwards) && h.Op%8 == 0 && previous > 0 {
		h.Timestamp = previous - 1
	}
}

// bugReplyBeforeCommit tells each client of the batch "ok" at the
// prepare's op before the op commits, under BugReplyBeforeCommit.
func (r *Replica) bugReplyBeforeCommit(prepare *Header, batch []byte) {
	assert(prepare.Command == CommandPrepare, "replies are sent for a prepare")
	assert(r.IsPrimary(), "the primary prepares")
	if !r.bugOn(BugReplyBeforeCommit) {
		return
	}
	_ = BatchRequests(batch, r.opts.MessageSizeMax, func(rh *Header, _ []byte) {
		reply := Header{Command: CommandReply, View: r.view, Op: prepare.Op, Commit: prepare.Op,
			Client: rh.Client, Request: rh.Request, RequestChecksum: rh.Checksum, Operation: rh.Operation}
		n := r.encode(&reply, []byte{1})
		r.bus.SendToClient(rh.Client, r.sendBuf[:n])
	})
}

// bugQuorumReplication returns the replication quorum the primary commits
// with: one under BugCommitWithoutQuorum, every replica under
// BugWaitForAll, else quorum.
func (r *Replica) bugQuorumReplication(quorum int) int {
	assert(quorum >= 1, "a quorum has a replica")
	assert(quorum <= int(r.opts.ReplicaCount), "a quorum fits the cluster")
	if r.bugOn(BugCommitWithoutQuorum) {
		return 1
	}
	if r.bugOn(BugWaitForAll) {
		return int(r.opts.ReplicaCount)
	}
	return quorum
}

// bugPanicAtOp50 panics on executing op 50, under BugPanicAtOp50.
func (r *Replica) bugPanicAtOp50(op uint64) {
	assert(op <= r.commitMax, "an executed op is committed")
	if r.bugOn(BugPanicAtOp50) && op == 50 {
		panic("vsr: deliberate bug: panic at op 50")
	}
}

// bugStaleSession makes replica 1 forget the checksum of the request its
// session s just executed, under BugStaleSession.
func (r *Replica) bugStaleSession(s *session) {
	assert(s != nil, "a session executed the request")
	if r.bugOn(BugStaleSession) && r.opts.Replica == 1 {
		s.requestChecksum = U128{}
	}
}

// bugFirstSuperblockCopy reports whether the open keeps the first valid
// superblock copy rather than the newest (BugFirstSuperblockCopy).
func (r *Replica) bugFirstSuperblockCopy() bool {
	assert(r.open != nil, "superblock copies are chosen while opening")
	return r.bugOn(BugFirstSuperblockCopy)
}

// bugIgnoreRejoin reports whether the open ignores that the data file was
// formatted --rejoin (BugIgnoreRejoin).
func (r *Replica) bugIgnoreRejoin() bool {
	assert(r.open != nil, "the rejoin flag is read while opening")
	return r.bugOn(BugIgnoreRejoin)
}

// bugCorruptSlotBlank returns the class the open gives a slot it classed
// class: blank for a corrupt one under BugCorruptSlotBlank.
func (r *Replica) bugCorruptSlotBlank(class SlotClass) SlotClass {
	assert(class != SlotUnconfirmed, "the slot's class is decided")
	if class == SlotCorrupt && r.bugOn(BugCorruptSlotBlank) {
		return SlotBlank
	}
	return class
}

// bugDropCommittedTail returns the prepare the open restores for op: none
// above the durable checkpoint under BugDropCommittedTail.
func (r *Replica) bugDropCommittedTail(op uint64, message []byte) []byte {
	assert(r.open != nil, "slots are restored while opening")
	assert(message == nil || len(message) >= HeaderSize, "a restored prepare holds its header")
	if r.bugOn(BugDropCommittedTail) && op > r.super.durable.checkpoint.op {
		return nil
	}
	return message
}

// bugStaleSuperblock keeps the previous durable view and log_view in the
// copy about to be written, under BugStaleSuperblock.
func (s *superblock) bugStaleSuperblock(onDisk *superblockState) {
	assert(onDisk.sequence > s.durable.sequence, "the copy about to be written is newer")
	assert(onDisk.view >= s.durable.view, "the view wanted durable never goes back")
	if s.opts.TestingBug == BugStaleSuperblock {
		onDisk.view, onDisk.logView = s.durable.view, s.durable.logView
	}
}
