package vsr

// Repair: a replica whose log has gaps — missing prepares, or entries of an
// older view where the canonical log has others — fetches them from peers.
// Everything fetched is checked against the hash chain that hangs from the
// head of the log, so a peer can only ever supply the op the chain names.

type repairState struct {
	// headOp and headChecksum name an op beyond this replica's head that the
	// primary reported committed; fetching it extends the log.
	headOp       uint64
	headChecksum U128
	round        uint64 // repair rounds so far; alternates whom to ask
	// stalled counts the repair rounds in a row in which the next op to
	// execute was committed but could not execute: its prepare missing, or
	// held below a gap in the log's hash chain that the round did not
	// narrow; executed and floor are commit_min and the chain's floor as
	// the last round saw them.
	stalled  int
	executed uint64
	floor    uint64
}

// repairRequestsMax bounds the prepares requested per repair round.
const repairRequestsMax = 16

// repairStalledRounds is how many repair rounds a committed op may stay
// missing before the replica also tries state transfer: its peers may have
// let the op go from their journals behind a checkpoint (a state transfer
// of their own, say), so that no peer can send the prepare any more.
const repairStalledRounds = 20

// windowMin is the lowest op the journal can hold alongside the head: the
// journal keeps only ops (op - JournalSlots, op], so that no two ops it holds
// share a slot. A replica whose next op to execute is below the window has
// fallen too far behind to repair from journals and needs state transfer
// (the durability issue); until then it still holds and acknowledges the
// newest part of the log.
func (r *Replica) windowMin() uint64 {
	slots := uint64(r.opts.JournalSlots)
	if r.op < slots {
		return 1
	}
	first := r.op - slots + 1
	assert(first > 0, "the journal window starts above the root")
	assert(r.op-first < slots, "the journal window is one journal long")
	return first
}

// NeedsStateTransfer reports whether the next op this replica must execute
// has fallen out of its journal window: no peer's journal can repair it
// either, so only state transfer (the durability issue) can catch it up.
func (r *Replica) NeedsStateTransfer() bool {
	return r.commitMin < r.commitMax && (r.commitMin+1 < r.windowMin() || r.repairProgress.stalled >= repairStalledRounds)
}

// noteRepairProgress counts the rounds in which repair did not bring the
// next committed op to execute.
func (r *Replica) noteRepairProgress() {
	missing := r.commitMin < r.commitMax && !r.journal.hasPrepare(r.commitMin+1)
	floor, belowGap := r.nextBelowGap()
	// Headers fetched down the chain are progress too: the gap narrows.
	stuckBelowGap := belowGap && floor >= r.repairProgress.floor
	r.repairProgress.floor = floor
	switch {
	case r.commitMin != r.repairProgress.executed || !(missing || stuckBelowGap):
		r.repairProgress.stalled = 0
	case r.repairProgress.stalled < repairStalledRounds:
		r.repairProgress.stalled++
		if r.repairProgress.stalled == repairStalledRounds {
			r.mark(MarkRepairFallbackTransfer)
		}
	}
	r.repairProgress.executed = r.commitMin
	assert(r.repairProgress.stalled <= repairStalledRounds, "the stall count is bounded")
}

// nextBelowGap returns the floor of the log's hash chain (canonicalFloor;
// 0 outside normal status) and whether the next committed op, its prepare
// held, waits below it: commitJournal executes only what the chain links
// to the head, so such an op waits for headers as much as a missing
// prepare waits for its body (seed 70050: a backup held op 1987, the only
// peer up had let go of the headers of 1994-1998, and it never fell back
// to state transfer).
func (r *Replica) nextBelowGap() (floor uint64, below bool) {
	if r.status != StatusNormal || r.commitMin >= r.commitMax || r.commitMin >= r.op || r.journal.header(r.op) == nil {
		return 0, false
	}
	floor = r.canonicalFloor()
	next := r.commitMin + 1
	assert(floor > r.commitMin, "the chain's floor is above the executed prefix")
	return floor, next < floor && r.journal.hasPrepare(next)
}

// inWindow reports whether the journal may hold op next to the head.
func (r *Replica) inWindow(op uint64) bool {
	return op >= r.windowMin() && op <= r.op
}

// canonicalFloor returns the lowest op whose entry is linked to the head of
// the log by parent checksums, through ops all held here: (floor-1 .. op]
// is a chain. It returns op+1 when the log is empty above commitMin.
func (r *Replica) canonicalFloor() uint64 {
	if r.op <= r.commitMin {
		return r.op + 1
	}
	h := r.journal.header(r.op)
	assert(h != nil, "the head of the log is in the journal")
	op, bottom := r.op, max(r.commitMin+1, r.windowMin())
	assert(bottom <= r.op, "the head is within the window above the executed prefix")
	for op > bottom {
		below := r.journal.header(op - 1)
		if below == nil || below.Checksum != h.Parent {
			break
		}
		op, h = op-1, below
	}
	assert(op >= bottom, "the chain stops at the window or the executed prefix")
	assert(r.journal.header(op) != nil, "the lowest linked op is in the journal")
	return op
}

// logConnected reports whether the log is one chain from the last executed
// op to the head.
func (r *Replica) logConnected() bool {
	floor := r.canonicalFloor()
	if floor > r.op {
		assert(r.op <= r.commitMin, "only a log with nothing above the executed prefix has no floor")
		return true
	}
	assert(r.journal.header(floor) != nil, "the lowest linked op is in the journal")
	return floor == r.commitMin+1 && r.journal.header(floor).Parent == r.commitChecksum
}

// logComplete reports whether the log is connected and every prepare of it
// above the last executed op is held here.
func (r *Replica) logComplete() bool {
	if !r.logConnected() {
		return false
	}
	assert(r.op >= r.commitMin, "a connected log reaches the executed prefix")
	for op := r.commitMin + 1; op <= r.op; op++ {
		if !r.journal.hasPrepare(op) {
			return false
		}
	}
	return true
}

// repairing reports whether this replica's log is one it may repair: a
// backup's in normal status, or the new primary's once it adopted a log.
func (r *Replica) repairing() bool {
	switch r.status {
	case StatusNormal:
		return !r.IsPrimary()
	case StatusViewChange:
		return r.viewChange.installed
	}
	return false
}

// repairPeer chooses whom to ask: on even rounds the replica most likely
// to hold the log (the primary, or the replica whose log the new primary
// adopted), on odd rounds another peer at random.
func (r *Replica) repairPeer() uint8 {
	assert(r.opts.ReplicaCount > 1, "a peer to ask exists")
	r.repairProgress.round++
	first := r.primaryIndex(r.view)
	if r.status == StatusViewChange {
		first = r.viewChange.best
	}
	if r.repairProgress.round%2 == 0 && first != r.opts.Replica {
		return first
	}
	peer := uint8(r.random.Uint64() % uint64(r.opts.ReplicaCount-1))
	if peer >= r.opts.Replica {
		peer++
	}
	assert(peer != r.opts.Replica, "a replica asks a peer, not itself")
	assert(peer < r.opts.ReplicaCount, "a replica asks a replica of its cluster")
	return peer
}

// repair asks peers for what the log lacks: the committed op beyond the
// head, the header below the lowest linked entry, and missing prepares.
func (r *Replica) repair() {
	if !r.repairing() || r.opts.ReplicaCount == 1 {
		return
	}
	r.noteRepairProgress()
	if r.NeedsStateTransfer() {
		r.retryStateTransfer()
		if r.commitMin+1 < r.windowMin() {
			return // the journals cannot help: only a checkpoint can
		}
	}
	assert(r.repairing(), "repair of a log this replica may repair")
	r.rereadLostBody()
	peer := r.repairPeer()
	if r.repairProgress.headOp > r.op {
		r.requestPrepare(peer, r.repairProgress.headOp, r.repairProgress.headChecksum)
	}
	floor := r.canonicalFloor()
	bottom := max(r.commitMin+1, r.windowMin())
	if floor <= r.op && floor > bottom {
		assert(r.journal.header(floor) != nil, "the lowest linked op is in the journal")
		parent := r.journal.header(floor).Parent
		r.requestPrepare(peer, floor-1, parent)
		h := Header{Command: CommandRequestHeaders, View: r.view, Commit: bottom, Op: floor - 1}
		r.stats.RepairRequests++
		r.send(peer, &h, nil)
	}
	requested := 0
	for op := r.commitMin + 1; op <= r.op && requested < repairRequestsMax; op++ {
		if checksum, ok := r.repairTarget(op, floor); ok {
			r.requestPrepare(peer, op, checksum)
			requested++
		}
	}
}

// repairTarget names the prepare missing at op that the log identifies:
// an entry linked to the head, or, while a new primary completes an
// adopted log, an entry of the adopted view or the parent of one. The
// latter matter when nobody holds some op of the log: the chain from the
// head never gets past it, yet the ops below it must be held (or nacked)
// before the view change can prove it absent and truncate there.
func (r *Replica) repairTarget(op, floor uint64) (U128, bool) {
	if r.journal.hasPrepare(op) {
		return U128{}, false
	}
	if op >= floor {
		assert(r.journal.header(op) != nil, "an op linked to the head is in the journal")
		return r.journal.header(op).Checksum, true
	}
	if r.status != StatusViewChange || !r.viewChange.installed || r.bugNoAdoptedLogRepair() {
		return U128{}, false
	}
	if r.established(op) {
		return r.journal.header(op).Checksum, true
	}
	if op+1 < floor && r.established(op+1) {
		return r.journal.header(op + 1).Parent, true // floor-1 is asked for with the headers
	}
	return U128{}, false
}

func (r *Replica) requestPrepare(peer uint8, op uint64, checksum U128) {
	assert(op > r.commitMin, "repair asks for an op not executed")
	h := Header{Command: CommandRequestPrepare, View: r.view, Op: op, Context: checksum}
	r.stats.RepairRequests++
	r.send(peer, &h, nil)
}

// onRequestPrepare answers with the prepare of op if this replica holds it
// with the asked checksum. The prepare goes out exactly as stored, so its
// checksum still proves what it is.
func (r *Replica) onRequestPrepare(h *Header) {
	head := r.journal.header(h.Op)
	if head == nil {
		r.drop(h.Command, "requested op not in the journal")
		return
	}
	if !h.Context.IsZero() && head.Checksum != h.Context {
		r.drop(h.Command, "requested prepare not the one held for the op")
		return
	}
	msg := r.journal.prepare(h.Op, head.Checksum)
	if msg == nil {
		r.drop(h.Command, "requested prepare's body not held")
		return
	}
	assert(h.Replica != r.opts.Replica, "a prepare is sent to a peer")
	assert(h.Replica < r.opts.ReplicaCount, "a prepare is sent to a replica of the cluster")
	assert(len(msg) == int(head.Size), "a prepare is sent whole")
	r.noteEncoded(head, msg)
	r.stats.MessagesSent++
	r.bus.SendToReplica(h.Replica, msg)
}

// onRequestHeaders answers with the headers this replica holds for ops
// [commit, op] from the top down, as many as a message carries. They may
// include entries of old views; the asker keeps only those that chain.
func (r *Replica) onRequestHeaders(h *Header) {
	limit := (int(r.opts.MessageSizeMax) - HeaderSize) / HeaderSize
	body := r.scratch[:0]
	for op := h.Op; op >= h.Commit && op > 0 && len(body)/HeaderSize < limit; op-- {
		if hh := r.journal.header(op); hh != nil {
			var b [HeaderSize]byte
			hh.put(b[:])
			body = append(body, b[:]...)
		}
		if h.Op-op >= uint64(r.opts.JournalSlots) {
			break
		}
	}
	if len(body) == 0 {
		r.drop(h.Command, "no requested headers held")
		return
	}
	assert(h.Commit <= h.Op, "headers are asked for a range of ops")
	assert(len(body) <= limit*HeaderSize, "the headers fit a message")
	reply := Header{Command: CommandHeaders, View: r.view, Op: h.Op, Commit: h.Commit}
	r.send(h.Replica, &reply, body)
}

// onHeaders extends the chain below the lowest linked entry with whichever
// of the headers fit it.
func (r *Replica) onHeaders(h *Header, body []byte) {
	if !r.repairing() {
		r.drop(h.Command, "headers while not repairing")
		return
	}
	assert(r.repairing(), "headers are taken only while repairing")
	installed := 0
	for i := 0; i+HeaderSize <= len(body); i += HeaderSize {
		hh, err := DecodeHeader(body[i : i+HeaderSize])
		if err != nil {
			r.violation(h.Command, "headers body holds an invalid header")
			return
		}
		if hh.Command != CommandPrepare {
			r.violation(h.Command, "headers body holds a header not a prepare's")
			return
		}
		if r.extendsChainDown(&hh) {
			r.installHeader(&hh)
			installed++
		}
	}
	if installed == 0 {
		r.drop(h.Command, "no header fits the chain")
		return
	}
	r.mark(MarkHeaderRepaired)
	r.afterRepair()
}

// extendsChainDown reports whether h is the entry the chain names just
// below its lowest linked op, and not yet held.
func (r *Replica) extendsChainDown(h *Header) bool {
	floor := r.canonicalFloor()
	if floor > r.op || floor <= max(r.commitMin+1, r.windowMin()) || h.Op != floor-1 {
		return false
	}
	assert(h.Op > r.commitMin, "the chain extends down to an op not executed")
	assert(r.journal.header(floor) != nil, "the lowest linked op is in the journal")
	return h.Checksum == r.journal.header(floor).Parent
}

// extendsAdoptedLog reports whether h is, during a view change, the entry
// an adopted-view entry just above it names as its parent (see
// repairTarget), and not yet held.
func (r *Replica) extendsAdoptedLog(h *Header) bool {
	if r.status != StatusViewChange || !r.viewChange.installed || h.Op >= r.op || r.journal.header(h.Op) != nil ||
		r.bugNoAdoptedLogRepair() {
		return false
	}
	assert(h.Op > r.commitMin, "the adopted log is repaired above the executed prefix")
	return r.established(h.Op+1) && r.journal.header(h.Op+1).Parent == h.Checksum
}

// repairAccept takes a prepare that is not the primary's normal traffic if
// it is one the log wants: the body of a held header, the entry just below
// the chain, or the committed op beyond the head. It reports whether the
// prepare was taken.
func (r *Replica) repairAccept(h *Header, message []byte) bool {
	if !r.repairing() || h.Op <= r.commitMin || h.Op < r.windowMin() {
		return false
	}
	assert(h.Command == CommandPrepare, "repair takes prepares")
	held := r.journal.header(h.Op)
	var mark Mark
	switch {
	case held != nil && held.Checksum == h.Checksum && r.inWindow(h.Op):
		if r.journal.hasPrepare(h.Op) {
			return false
		}
	case r.extendsChainDown(h):
		mark = MarkHeaderRepaired
	case r.extendsAdoptedLog(h):
		mark = MarkAdoptedLogRepaired
	case h.Op > r.op && h.Op == r.repairProgress.headOp && h.Checksum == r.repairProgress.headChecksum && r.status == StatusNormal:
		r.op = h.Op
		r.repairProgress.headOp, r.repairProgress.headChecksum = 0, U128{}
		mark = MarkCommitHeadFetched
	default:
		return false
	}
	damaged := r.journal.slotOf(h.Op).damaged
	if !r.journal.putPrepare(h, message) {
		return false
	}
	if mark != markNone {
		r.mark(mark)
	}
	if damaged {
		r.mark(MarkDamagedPrepareRepaired)
	}
	assert(r.journal.hasPrepare(h.Op), "a repaired prepare is held")
	assert(h.Op <= r.op, "a repaired prepare is not above the head")
	r.writePrepare(h.Op)
	r.afterRepair()
	return true
}

// afterRepair moves on with whatever the repaired entries allow.
func (r *Replica) afterRepair() {
	assert(r.repairing(), "repair moves on only while repairing")
	r.commitJournal()
	r.tryFinishViewChange()
}
