package vsr

import "fmt"

// Checkpoints: once it has executed CheckpointInterval ops past its latest
// durable checkpoint, a replica writes its client table and state machine
// snapshot to the checkpoint area not holding that checkpoint, then names
// it in the superblock. Only then may the journal overwrite the ops the
// checkpoint covers. One checkpoint is in flight at a time; one that came
// due meanwhile is taken as soon as the previous is durable, so the durable
// checkpoint never falls more than an interval and a write behind. A replica that fell
// behind every journal takes a peer's checkpoint (state transfer), then
// repairs the suffix from journals.
//
// checkpoint_encode.go gives the layout of a checkpoint and how one is
// brought up to date in its area.

type checkpointState struct {
	announced checkpointRef // the durable checkpoint last reported
	written   checkpointRef // latest checkpoint whose area write completed
	writing   checkpointRef
	inFlight  bool
	// deferred: a checkpoint came due while the superblock copies were
	// behind (superblock.copiesBehind); it is taken once they are not.
	deferred bool
	// areas[i] holds the bytes of the checkpoint in area i: the durable
	// one is served to peers for state transfer.
	areas    [2]checkpointArea
	transfer transfer
	// pending counts the writes of the checkpoint in flight; failed says
	// one of them failed (the whole checkpoint is written again).
	pending int
	failed  bool
	// Scratch buffers of encodeCheckpoint, reused.
	sessions, scratch []byte
	changed           []int
	runs              []byteRun
}

// durableCheckpoint is the checkpoint the durable superblock names.
func (r *Replica) durableCheckpoint() checkpointRef { return r.super.durable.checkpoint }

// checkpointSizeMax is the largest checkpoint this replica can produce.
func (r *Replica) checkpointSizeMax() int {
	size := int(CheckpointSizeFor(r.opts.ClientsMax, r.opts.MessageSizeMax, r.machine.SnapshotSizeMax()))
	assert(size >= checkpointHeaderSize, "a checkpoint holds at least its header")
	return size
}

// CheckpointSizeFor is the largest checkpoint of a replica with clientsMax
// sessions, replies up to messageSizeMax, and a state machine whose
// snapshots take up to snapshotSizeMax bytes: the least
// Options.CheckpointSizeMax can be.
func CheckpointSizeFor(clientsMax int, messageSizeMax uint32, snapshotSizeMax int) uint64 {
	return uint64(checkpointHeaderSize+clientsMax*(sessionRecordSize+int(messageSizeMax))) + sectorCeil(uint64(snapshotSizeMax))
}

// maybeCheckpoint runs after executing op, and when a checkpoint becomes
// durable: if the replica executed an interval past its durable checkpoint
// and no checkpoint is on its way, it captures the state at op (its last
// executed op, whose prepare header is prepare) and writes it out.
func (r *Replica) maybeCheckpoint(op uint64, prepare *Header) {
	durable := r.durableCheckpoint()
	if op < durable.op+uint64(r.opts.CheckpointInterval) || r.checkpoint.inFlight || r.checkpoint.written != durable {
		return
	}
	if r.super.copiesBehind && !r.bugCheckpointCopiesBehind() {
		r.deferCheckpoint()
		return
	}
	assert(op == r.commitMin, "a checkpoint captures the state after the last executed op")
	assert(prepare.Op == op, "a checkpoint names its op's prepare")
	assert(prepare.Checksum == r.commitChecksum, "a checkpoint's prepare is the last executed")
	assert(op > durable.op, "checkpoints advance")
	area := 1 - durable.area
	if durable.op == 0 && durable.checksum.IsZero() {
		area = 0
	}
	assert(area <= 1, "one of the two checkpoint areas")
	ref, runs := r.encodeCheckpoint(area, op, prepare)
	if ref.size > r.opts.CheckpointSizeMax {
		panic(fmt.Sprintf("vsr: checkpoint of %d bytes exceeds checkpoint size max %d", ref.size, r.opts.CheckpointSizeMax))
	}
	r.writeCheckpointRuns(ref, runs)
}

// deferCheckpoint: a checkpoint came due while superblock copies name
// another checkpoint (superblock.copiesBehind). Every copy is made the
// newest first; onDurable then takes the checkpoint.
func (r *Replica) deferCheckpoint() {
	assert(r.super.copiesBehind, "a checkpoint waits only for copies behind")
	if !r.checkpoint.deferred {
		r.checkpoint.deferred = true
		r.super.persist()
	}
	assert(r.checkpoint.deferred, "a deferred checkpoint is remembered")
}

// checkpointDue takes a checkpoint that came due while the previous one was
// on its way, now that it is durable.
func (r *Replica) checkpointDue() {
	if h := r.journal.header(r.commitMin); h != nil && h.Checksum == r.commitChecksum {
		r.maybeCheckpoint(r.commitMin, h)
	}
}

// writeCheckpoint writes checkpoint b, whole, to area, padded to whole
// sectors; the area then holds no snapshot the state machine can update.
func (r *Replica) writeCheckpoint(area uint8, b []byte, ref checkpointRef) {
	assert(ref.size == uint64(len(b)), "a checkpoint written whole is all its bytes")
	a := &r.checkpoint.areas[area]
	if len(a.buf) == 0 || &b[0] != &a.buf[0] {
		r.growArea(a, len(b))
		copy(a.buf, b)
		clear(a.buf[len(b):sectorCeil(ref.size)])
	}
	a.mark = 0
	r.writeCheckpointRuns(ref, []byteRun{{0, sectorCeil(ref.size)}})
}

// writeCheckpointRuns writes the runs of the checkpoint ref's area's
// buffer to the area.
func (r *Replica) writeCheckpointRuns(ref checkpointRef, runs []byteRun) {
	assert(!r.checkpoint.inFlight, "one checkpoint write in flight at a time")
	assert(ref.op <= r.commitMin, "a checkpoint is of an executed op")
	assert(ref.size >= checkpointHeaderSize, "a checkpoint holds at least its header")
	assert(sectorCeil(ref.size) <= r.layout.CheckpointAreaSize, "a checkpoint fits its area")
	assert(len(runs) > 0, "a checkpoint write writes something")
	buf := r.checkpoint.areas[ref.area].buf
	r.checkpoint.writing, r.checkpoint.inFlight = ref, true
	r.checkpoint.pending, r.checkpoint.failed = len(runs), false
	for _, run := range runs {
		assert(run.start%SectorSize == 0 && run.end%SectorSize == 0, "a checkpoint write is whole sectors")
		assert(run.start < run.end && run.end <= sectorCeil(ref.size), "a checkpoint write lies inside the checkpoint")
		r.storage.Write(r.layout.checkpointOffset(ref.area)+run.start, buf[run.start:run.end], tag(tagCheckpoint, uint64(ref.area)))
	}
}

func (r *Replica) checkpointWriteDone(area uint64, err error) {
	c := &r.checkpoint
	assert(c.inFlight, "a checkpoint write completes a write in flight")
	assert(c.pending > 0, "a checkpoint write completes a write in flight")
	assert(uint64(c.writing.area) == area, "a checkpoint write completes in the area written")
	c.pending--
	c.failed = c.failed || err != nil
	if c.pending > 0 {
		return
	}
	c.inFlight = false
	if c.failed {
		// Write the whole checkpoint again, now: waiting for the next executed
		// op to try would wedge a replica whose execution already waits at
		// the journal's end for this very checkpoint.
		r.mark(MarkWriteErrorRetried)
		w := c.writing
		assert(w.op > c.written.op, "a checkpoint written again is still newer than the written one")
		r.writeCheckpoint(w.area, c.areas[w.area].buf[:w.size], w)
		return
	}
	assert(c.writing.op > c.written.op, "written checkpoints advance")
	c.written = c.writing
	r.super.persist()
}

// restoreCheckpoint replaces the client table and the state machine with
// checkpoint b (already checked against its checksum), and sets the
// executed prefix to end at its op.
func (r *Replica) restoreCheckpoint(b []byte) error {
	sum := CheckpointChecksum(b) // zero if the sizes the header names do not add up
	if sum.IsZero() || string(b[16:24]) != checkpointMagic || getU128(b[0:]) != sum {
		return fmt.Errorf("vsr: checkpoint of %d bytes fails its checksum or magic", len(b))
	}
	op, prepare, timestamp := le.Uint64(b[24:]), getU128(b[32:]), le.Uint64(b[48:])
	count, sessionsSize, snapshotSize := int(le.Uint32(b[56:])), int(le.Uint32(b[60:])), int(le.Uint64(b[320:]))
	head, err := DecodeHeader(b[64 : 64+HeaderSize])
	if err != nil || head.Command != CommandPrepare || head.Op != op || head.Checksum != prepare {
		return fmt.Errorf("vsr: checkpoint at op %d does not hold its prepare's header", op)
	}
	// CheckpointChecksum checked that the sizes add up to len(b).
	if err := r.clients.restore(b[len(b)-sessionsSize:], count); err != nil {
		return err
	}
	if err := r.machine.Restore(b[checkpointSnapshotOff : checkpointSnapshotOff+snapshotSize]); err != nil {
		return fmt.Errorf("vsr: checkpoint at op %d: %w", op, err)
	}
	// The state machine's marks start over: no area's snapshot is one it
	// can update.
	r.checkpoint.areas[0].mark, r.checkpoint.areas[1].mark = 0, 0
	r.commitMin, r.commitChecksum, r.commitTimestamp = op, prepare, timestamp
	r.commitMax = max(r.commitMax, op)
	r.timestamp = max(r.timestamp, timestamp)
	if r.op <= op || r.inWindow(op) {
		// The checkpoint's op may be the head of the log: the journal must
		// name it (a do_view_change or start_view begins with the head).
		r.op = max(r.op, op)
		r.journal.putHeader(&head)
	}
	assert(r.commitMin == op, "a restored checkpoint ends the executed prefix")
	assert(r.op >= r.commitMin, "the head is not below the restored checkpoint")
	return nil
}

// transfer is a state transfer in progress: a peer's checkpoint arriving
// chunk by chunk into buf.
type transfer struct {
	active   bool
	peer     uint8
	op       uint64
	checksum U128
	size     uint64
	received uint64
	progress uint64 // received, at the previous repair round
	stalls   int    // repair rounds in a row that brought no chunk
	buf      []byte // CheckpointSizeMax bytes, allocated on the first transfer
}

// transferStalledRounds is how many repair rounds in a row may bring no
// chunk before a transfer starts over with another peer. One round is no
// proof the peer went away: a chunk's round trip can outlast it, and a
// checkpoint of many chunks restarted on every slow round would never
// complete.
const transferStalledRounds = 4

// retryStateTransfer runs on the repair timer while this replica needs
// state transfer: it asks again, and if the transfer stalled since the
// last round, asks another peer from the start.
func (r *Replica) retryStateTransfer() {
	t := &r.checkpoint.transfer
	assert(r.NeedsStateTransfer(), "state transfer only while it is needed")
	assert(t.progress <= t.received, "a transfer's progress is what it received")
	switch {
	case !t.active || t.received != t.progress:
		t.stalls = 0
	case t.stalls+1 < transferStalledRounds:
		t.stalls++ // ask the same peer for the same chunk again
	default:
		t.active, t.stalls = false, 0 // the peer went quiet: start over elsewhere
		r.mark(MarkStateTransferRestarted)
	}
	t.progress = t.received
	r.requestCheckpoint()
}

// requestCheckpoint asks a peer for the next chunk of its latest
// checkpoint (from the start if no transfer is under way).
func (r *Replica) requestCheckpoint() {
	t := &r.checkpoint.transfer
	if !t.active {
		t.peer = r.repairPeer()
	}
	h := Header{Command: CommandRequestCheckpoint, View: r.view}
	if t.active {
		assert(t.received < t.size, "an active transfer still lacks bytes")
		h.Op, h.Commit, h.Context = t.op, t.received, t.checksum
	}
	r.stats.RepairRequests++
	r.send(t.peer, &h, nil)
}

// onRequestCheckpoint serves a chunk of this replica's durable checkpoint.
// The request names the checkpoint it is assembling (or none yet); a
// replica whose checkpoint moved on sends its new one from the start.
func (r *Replica) onRequestCheckpoint(h *Header) {
	cp := r.durableCheckpoint()
	if cp.checksum.IsZero() {
		r.drop(h.Command, "no checkpoint to serve")
		return
	}
	offset := h.Commit
	if h.Op != cp.op || h.Context != cp.checksum || offset >= cp.size {
		offset = 0
	}
	assert(offset < cp.size, "a chunk starts inside the checkpoint")
	chunk := min(cp.size-offset, uint64(r.opts.MessageSizeMax)-HeaderSize)
	assert(chunk > 0, "a chunk is not empty")
	area := r.checkpoint.areas[cp.area].buf
	assert(offset+chunk <= uint64(len(area)), "the durable checkpoint's bytes are held in its area")
	reply := Header{Command: CommandCheckpoint, View: r.view, Op: cp.op, Context: cp.checksum, Commit: offset}
	reply.SetCheckpointSize(cp.size)
	r.send(h.Replica, &reply, area[offset:offset+chunk])
}

// onCheckpoint takes a chunk of a peer's checkpoint while this replica
// needs state transfer, and restores the checkpoint once it is whole.
func (r *Replica) onCheckpoint(h *Header, body []byte) {
	if !r.checkpointWanted(h, body) {
		return
	}
	assert(r.NeedsStateTransfer(), "a checkpoint chunk is taken only in state transfer")
	assert(h.Op > r.commitMin, "a checkpoint chunk taken is beyond the executed prefix")
	assert(h.CheckpointSize() >= checkpointHeaderSize, "a checkpoint chunk taken names a checkpoint's size")
	t := &r.checkpoint.transfer
	if !t.active || t.op != h.Op || t.checksum != h.Context {
		if h.Commit != 0 {
			r.drop(h.Command, "chunk of a checkpoint not being assembled")
			return
		}
		if t.buf == nil {
			t.buf = r.buffers.make(int(r.opts.CheckpointSizeMax))
		}
		*t = transfer{active: true, peer: h.Replica, op: h.Op, checksum: h.Context, size: h.CheckpointSize(), buf: t.buf}
		r.mark(MarkStateTransferStarted)
	}
	if h.Commit != t.received {
		r.drop(h.Command, "checkpoint chunk out of order")
		return
	}
	assert(t.active, "a chunk is taken into an active transfer")
	assert(t.received+uint64(len(body)) <= uint64(len(t.buf)), "a chunk taken fits the transfer buffer")
	t.received += uint64(copy(t.buf[t.received:], body))
	if t.received < t.size {
		r.requestCheckpoint()
		return
	}
	r.finishTransfer()
}

// checkpointWanted filters a checkpoint chunk, one reason per rejection: it
// is taken only while this replica needs state transfer, only if the
// checkpoint is beyond what it executed and within reach of the journal, and
// only if the chunk lies inside a checkpoint of a possible size.
func (r *Replica) checkpointWanted(h *Header, body []byte) bool {
	switch {
	case r.status == StatusRecovering:
		r.drop(h.Command, "checkpoint while recovering")
	case !r.NeedsStateTransfer():
		r.drop(h.Command, "checkpoint while not in state transfer")
	case h.Op <= r.commitMin:
		r.drop(h.Command, "checkpoint not beyond the executed prefix")
	case h.Op+1 < r.windowMin():
		r.drop(h.Command, "checkpoint below the journal window")
	case h.CheckpointSize() > r.opts.CheckpointSizeMax:
		r.violation(h.Command, "checkpoint larger than checkpoint size max")
	case h.CheckpointSize() < checkpointHeaderSize:
		r.violation(h.Command, "checkpoint smaller than a checkpoint header")
	case h.Commit+uint64(len(body)) > h.CheckpointSize():
		r.violation(h.Command, "checkpoint chunk beyond its checkpoint's size")
	default:
		return true
	}
	return false
}

// finishTransfer restores a fully received checkpoint, then writes it to
// this replica's own checkpoint area.
func (r *Replica) finishTransfer() {
	t := &r.checkpoint.transfer
	assert(t.active, "a transfer finishes once")
	assert(t.received >= t.size, "a transfer finishes once every byte arrived")
	assert(t.size >= checkpointHeaderSize, "a transferred checkpoint holds at least its header")
	t.active = false
	b := t.buf[:t.size]
	if CheckpointChecksum(b) != t.checksum {
		r.violation(CommandCheckpoint, "state transfer: checkpoint does not match its checksum")
		return
	}
	if err := r.restoreCheckpoint(b); err != nil {
		r.violation(CommandCheckpoint, "state transfer: "+err.Error())
		return
	}
	assert(r.op >= r.commitMin, "state transfer leaves the head at or above the checkpoint")
	r.stats.StateTransfers++
	r.mark(MarkStateTransferFinished)
	if r.hook != nil {
		r.emit(Event{Kind: EventStateTransfer, Replica: r.opts.Replica, View: r.view, Op: r.commitMin,
			Digest: r.stateDigest()})
	}
	r.writeTransferredCheckpoint(b)
	r.commitJournal()
}

// writeTransferredCheckpoint stores a checkpoint received from a peer in
// the free checkpoint area, to be named by the superblock.
func (r *Replica) writeTransferredCheckpoint(b []byte) {
	if r.checkpoint.inFlight || r.checkpoint.written != r.durableCheckpoint() {
		return // a checkpoint of its own is on its way; the next interval writes this state
	}
	if r.super.copiesBehind {
		r.deferCheckpoint()
		return
	}
	assert(r.commitMin > r.durableCheckpoint().op, "a transferred checkpoint is newer than the durable one")
	area := 1 - r.durableCheckpoint().area
	r.writeCheckpoint(area, b, checkpointRef{op: r.commitMin, checksum: getU128(b[0:]), prepare: r.commitChecksum,
		size: uint64(len(b)), area: area})
}

// DurableCheckpoint returns the op and size in bytes of the replica's
// latest durable checkpoint.
func (r *Replica) DurableCheckpoint() (op, size uint64) {
	cp := r.durableCheckpoint()
	return cp.op, cp.size
}
