package vsr

// Normal operation: request → prepare → prepare_ok → commit → execute →
// reply, with commit heartbeats (VR Revisited §4.1).

// enterNormal sets status normal and the timeouts of the replica's role.
func (r *Replica) enterNormal() {
	assert(r.logView == r.view, "a replica goes normal only in the view of its log")
	assert(r.status != StatusRecovering || r.open == nil, "a replica goes normal only once its data file is open")
	r.status = StatusNormal
	t := &r.timers
	t.viewChange.stop()
	t.viewChangeRetry.stop()
	if r.IsPrimary() {
		t.heartbeat.start(r.opts.HeartbeatTicks)
		t.prepareRetry.start(r.opts.PrepareRetryTicks)
		t.abdicate.start(r.opts.PrimaryAbdicateTicks)
		t.primary.stop()
	} else {
		t.heartbeat.stop()
		t.prepareRetry.stop()
		t.abdicate.stop()
		t.primary.start(r.opts.PrimaryTimeoutTicks + r.jitter())
	}
	assert(t.heartbeat.running == r.IsPrimary(), "only a primary sends heartbeats")
	assert(t.primary.running != r.IsPrimary(), "only a backup watches the primary")
}

// onRequest is the primary's intake of a client request. A request the
// primary cannot take now is dropped and the client retries after its
// timeout: that is the back-pressure of a full request queue.
func (r *Replica) onRequest(h *Header, body, message []byte) {
	if r.status != StatusNormal {
		r.drop(h.Command, "request while not normal")
		return
	}
	if !r.IsPrimary() {
		r.onRequestAtBackup(h, message)
		return
	}
	if len(message) > int(r.opts.MessageSizeMax)-HeaderSize {
		r.drop(h.Command, "request too large to fit in a prepare")
		return
	}
	if !r.admitRequest(h) {
		return
	}
	if r.pipelineHasClient(h.Client) || r.queue.hasClient(h.Client) {
		r.drop(h.Command, "request of this client already in flight")
		return
	}
	if h.Operation != OperationRegister {
		if err := r.machine.InputValid(h.Operation, body); err != nil {
			r.dropErr(h.Command, err)
			return
		}
	}
	if r.queue.full() {
		r.drop(h.Command, "request queue full")
		return
	}
	assert(r.status == StatusNormal, "a request is taken only in normal status")
	assert(r.IsPrimary(), "a request is taken only by the primary")
	assert(len(message) == int(h.Size), "a request is taken whole")
	if r.queue.count == 0 && r.pipeline.empty() {
		r.timers.abdicate.reset() // from now, a request waits on this primary
	}
	message = r.bugForgeRequest(h, body, message)
	r.queue.push(h.Client, message)
	r.prepareQueued()
}

// onRequestAtBackup serves a client that tries every replica, as it does
// when the primary does not answer (say its link to the primary is cut
// while the primary still heartbeats its backups). A retry of the client's
// latest executed request is answered from this backup's reply cache (the
// same bytes on every replica); anything else is forwarded to the primary,
// once: a replica forwards a request only if it did not forward it lately,
// so that two replicas that each take the other for the primary cannot
// bounce it between them.
func (r *Replica) onRequestAtBackup(h *Header, message []byte) {
	assert(r.status == StatusNormal && !r.IsPrimary(), "a request at a normal backup")
	if s := r.clients.get(h.Client); s != nil && h.Checksum == s.requestChecksum {
		r.mark(MarkBackupReplyCached)
		r.stats.MessagesSent++
		r.bus.SendToClient(h.Client, s.reply)
		return
	}
	if !r.forwarded.add(h.Checksum) {
		r.drop(h.Command, "request at a backup, forwarded lately")
		return
	}
	r.mark(MarkRequestForwarded)
	r.stats.MessagesSent++
	r.bus.SendToReplica(r.primaryIndex(r.view), message)
}

// forwardedRing remembers the checksums of the requests a backup forwarded
// last, a bounded ring.
type forwardedRing struct {
	checksums [forwardedMax]U128
	next      int
}

// forwardedMax bounds the requests a backup remembers having forwarded.
const forwardedMax = 16

// add records checksum and reports whether it was not in the ring.
func (f *forwardedRing) add(checksum U128) bool {
	assert(!checksum.IsZero(), "a forwarded request has a checksum")
	for i := range f.checksums {
		if f.checksums[i] == checksum {
			return false
		}
	}
	f.checksums[f.next] = checksum
	f.next = (f.next + 1) % forwardedMax
	assert(f.next >= 0 && f.next < forwardedMax, "the ring's next slot is in the ring")
	return true
}

// admitRequest applies the session rules to a request at the primary. It
// answers a retry of a session's latest request from the reply cache, a
// request of a session the table does not hold with an eviction, and
// reports whether the request is new. executeRequest applies the same rules
// again at execution, on every replica.
func (r *Replica) admitRequest(h *Header) bool {
	assert(h.Command == CommandRequest, "admitRequest of a request")
	assert(r.IsPrimary(), "only the primary admits requests")
	s := r.clients.get(h.Client)
	register := h.Operation == OperationRegister
	switch {
	case s == nil && register:
		return true
	case s == nil && r.pipelineHasClient(h.Client):
		// A register of this client is prepared but not yet executed
		// (say, a new primary re-committing the old view's suffix).
		r.drop(h.Command, "no session yet; its register is in the pipeline")
	case s == nil:
		r.sendEviction(h.Client, h.Session)
		r.drop(h.Command, "no session for this client")
	case h.Checksum == s.requestChecksum && r.bugExecuteDuplicate():
		return true
	case h.Checksum == s.requestChecksum:
		// A retry of the session's latest request: the cached reply answers it.
		r.stats.MessagesSent++
		r.bus.SendToClient(h.Client, s.reply)
	case h.Request < s.request:
		r.drop(h.Command, "request older than the session's latest")
	case h.Request == s.request:
		r.drop(h.Command, "request number reused with different contents")
	case register:
		// A client told (perhaps wrongly) that its session was gone
		// registers again: the session is renewed under the new number.
		return true
	case h.Session != s.session:
		// A request of a session this client no longer has (replaced by a
		// later register): its client must learn the session is gone.
		r.mark(MarkStaleSessionRequest)
		r.sendEviction(h.Client, h.Session)
		r.drop(h.Command, "request of an earlier session")
	default:
		return true
	}
	return false
}

// sendEviction tells client its session is gone. The message names the
// session (the op of its register), or 0 when the primary has no session
// for the client at all, so a client can ignore the eviction of a session
// it no longer has.
func (r *Replica) sendEviction(client U128, session uint64) {
	assert(r.status == StatusNormal, "evictions are sent in normal status")
	assert(r.IsPrimary(), "evictions are sent by the primary")
	h := Header{Command: CommandEviction, Client: client, View: r.view, Session: session}
	n := r.encode(&h, nil)
	r.stats.MessagesSent++
	r.bus.SendToClient(client, r.sendBuf[:n])
}

// pipelineHasClient reports whether a prepare in the pipeline holds a
// request of client, so that a retry is not prepared twice.
func (r *Replica) pipelineHasClient(client U128) bool {
	for i := 0; i < r.pipeline.count; i++ {
		e := r.pipeline.at(i)
		msg := r.journal.prepare(e.op, e.checksum)
		assert(msg != nil, "a pipeline op is in the primary's journal")
		it := newBatchIterator(msg[HeaderSize:], r.opts.MessageSizeMax)
		for range len(msg)/HeaderSize + 1 {
			h, _, _, done, err := it.next()
			if done || err != nil {
				break
			}
			if h.Client == client {
				return true
			}
		}
	}
	return false
}

// prepareQueued packs queued requests into prepares while the pipeline has
// room and the journal can hold the op without overwriting one not yet
// executed.
func (r *Replica) prepareQueued() {
	assert(r.status == StatusNormal, "prepareQueued in normal status")
	assert(r.IsPrimary(), "prepareQueued at the primary")
	for r.queue.count > 0 && r.pipeline.count < r.opts.PipelineMax {
		if r.op+1-r.commitMin >= uint64(r.opts.JournalSlots) {
			return // wait for execution
		}
		if r.op+1 > r.journalLimit() {
			r.mark(MarkJournalWaitsCheckpoint)
			return // wait for a checkpoint to free journal slots
		}
		r.markPrepare()
		body, requests := r.packBatch()
		previous := r.timestamp
		r.timestamp = max(r.timestamp+1, r.headTimestamp()+1, r.ticks)
		assert(r.timestamp > r.headTimestamp(), "a prepare is stamped above the head it extends")
		h := Header{
			Command: CommandPrepare, View: r.view, Op: r.op + 1, Commit: r.commitMax,
			Parent: r.headChecksum(), Timestamp: r.timestamp, Request: uint32(requests),
		}
		r.bugStampBackwards(&h, previous)
		n := r.encode(&h, body)
		ok := r.journal.putPrepare(&h, r.sendBuf[:n])
		assert(ok, "a prepare fits a journal slot")
		r.op = h.Op
		if r.pipeline.empty() {
			r.timers.abdicate.reset()
		}
		r.pipeline.push(h.Op, h.Checksum)
		assert(uint64(r.pipeline.count) == r.op-r.commitMax, "the pipeline holds ops (commit_max, op]")
		r.stats.Prepares++
		r.writePrepare(h.Op)
		r.broadcastEncoded(&h, n) // r.sendBuf still holds the prepare
		r.bugReplyBeforeCommit(&h, body)
	}
}

// packBatch moves queued requests into a batch body in r.scratch, as many
// as fit in one prepare (always at least one: onRequest refuses requests
// too large to fit alone), and returns it with the number of requests.
func (r *Replica) packBatch() ([]byte, int) {
	body := r.scratch[:0]
	limit := int(r.opts.MessageSizeMax) - HeaderSize
	requests := 0
	for r.queue.count > 0 {
		m := r.queue.at(0).message
		if len(body)+len(m) > limit {
			break
		}
		body = append(body, m...)
		requests++
		r.queue.pop()
	}
	assert(requests > 0, "a prepare holds at least one queued request")
	assert(len(body) <= limit, "a batch fits a prepare")
	assert(batchSizesCount(body) == requests, "a batch is its requests back to back")
	return body, requests
}

// batchSizesCount counts the requests of a batch the primary packed by
// their size fields alone (each was decoded when it was queued), or
// returns -1 if the sizes do not tile the body exactly.
func batchSizesCount(body []byte) int {
	n := 0
	for off := 0; off < len(body); n++ {
		if len(body)-off < HeaderSize {
			return -1
		}
		size := int(le.Uint32(body[off+offSize:]))
		if size < HeaderSize || size > len(body)-off {
			return -1
		}
		off += size
	}
	assert(n > 0 || len(body) == 0, "a batch of bytes holds requests")
	return n
}

// headTimestamp is the timestamp of the prepare at the head of the log,
// which an inherited uncommitted suffix may put above anything executed.
func (r *Replica) headTimestamp() uint64 {
	if r.op == r.commitMin {
		return r.commitTimestamp
	}
	h := r.journal.header(r.op)
	assert(h != nil, "the head of the log is in the journal")
	return h.Timestamp
}

// headCommit is the commit number the head of the log carries: its primary
// had committed every op up to it in the log the head extends, so those ops
// are committed for good. A replica that restarted or adopted a log learns
// from it how far the uncommitted suffix can reach down (at most a pipeline
// below the head), whatever commit knowledge it lost.
func (r *Replica) headCommit() uint64 {
	if r.op == r.commitMin {
		return r.commitMin
	}
	h := r.journal.header(r.op)
	assert(h != nil, "the head of the log is in the journal")
	assert(h.Commit < h.Op, "a prepare's commit is below its op")
	return h.Commit
}

// headChecksum is the checksum of the prepare at the head of the log.
func (r *Replica) headChecksum() U128 {
	if r.op == r.commitMin {
		return r.commitChecksum
	}
	h := r.journal.header(r.op)
	assert(h != nil, "the head of the log is in the journal")
	return h.Checksum
}

// onPrepare routes a prepare: from the primary of the current view it
// extends the log; from elsewhere it may be a repair the replica asked for.
func (r *Replica) onPrepare(h *Header, message []byte) {
	assert(h.Command == CommandPrepare, "onPrepare of a prepare")
	assert(len(message) == int(h.Size), "a prepare is handled whole")
	switch {
	case h.View == r.view && r.status == StatusNormal && !r.IsPrimary() && h.Replica == r.primaryIndex(r.view):
		r.onPrepareFromPrimary(h, message)
		return
	case h.View > r.view && h.Replica == r.primaryIndex(h.View) && h.Replica != r.opts.Replica:
		r.jumpToView(h.View)
	case h.View == r.view && r.status == StatusViewChange && h.Replica == r.primaryIndex(r.view) &&
		r.primaryIndex(r.view) != r.opts.Replica:
		r.requestStartView()
	}
	if r.repairAccept(h, message) {
		return
	}
	if r.status == StatusNormal && !r.IsPrimary() && r.acknowledgeable(h.Op, h.Checksum) {
		// A new primary resends the old view's uncommitted prepares as they
		// were made; this replica holds this one in its log, so it acks it
		// in the current view (even if it knows the op committed: the new
		// primary may not).
		r.sendPrepareOk(h.Op, h.Checksum)
		return
	}
	switch {
	case r.status == StatusNormal && r.IsPrimary():
		r.drop(h.Command, "prepare at the primary")
	case h.View < r.view && !r.repairing():
		r.dropStale(h.Command, "prepare not from the primary of this view, while not repairing")
	case !r.repairing():
		r.drop(h.Command, "prepare not from the primary of this view, while not repairing")
	default:
		r.drop(h.Command, "prepare not wanted by repair")
	}
}

func (r *Replica) onPrepareFromPrimary(h *Header, message []byte) {
	assert(r.status == StatusNormal, "a prepare from the primary is taken in normal status")
	assert(!r.IsPrimary(), "a prepare from the primary is taken by a backup")
	assert(h.View == r.view, "a prepare from the primary is of this view")
	assert(h.Replica == r.primaryIndex(r.view), "a prepare from the primary is the primary's")
	r.timers.primary.reset()
	r.commitMax = max(r.commitMax, h.Commit)
	switch {
	case h.Op <= r.commitMin:
		r.drop(h.Command, "prepare already executed")
	case h.Op < r.windowMin():
		r.drop(h.Command, "prepare below the journal window")
	default:
		if existing := r.journal.header(h.Op); existing != nil && existing.Checksum == h.Checksum &&
			r.journal.hasPrepare(h.Op) {
			if r.journal.durable(h.Op, h.Checksum) {
				r.sendPrepareOk(h.Op, h.Checksum)
			}
		} else if !r.journal.putPrepare(h, message) {
			r.drop(h.Command, "prepare larger than a journal slot")
			return
		}
		if h.Op > r.op && h.Op == r.repairProgress.headOp && h.Checksum == r.repairProgress.headChecksum {
			r.mark(MarkCommitHeadFetched)
		}
		if h.Op > r.op {
			r.op = h.Op
		}
		assert(r.journal.hasPrepare(h.Op), "a prepare taken from the primary is held")
		assert(r.op >= h.Op, "a prepare taken is not above the head")
		r.writePrepare(h.Op)
	}
	r.commitJournal()
}

// onPrepareDurable runs when op's prepare with checksum is on disk here.
func (r *Replica) onPrepareDurable(op uint64, checksum U128) {
	assert(op > 0, "a durable prepare is of an op, not the root")
	assert(r.journal.durable(op, checksum), "onPrepareDurable of a durable prepare")
	if r.status != StatusNormal {
		return
	}
	if r.IsPrimary() {
		if e := r.pipeline.find(op); e != nil && e.checksum == checksum {
			e.oks |= 1 << r.opts.Replica
			r.commitPipeline()
		}
		return
	}
	if r.acknowledgeable(op, checksum) {
		r.sendPrepareOk(op, checksum)
	}
}

// acknowledgeable reports whether a backup may acknowledge op's prepare with
// checksum to the primary of its view: it holds it durably, and it is part
// of the log (executed, or linked to the head), within a pipeline of the
// head, where the primary's uncommitted ops lie (every prepare's commit is
// at most a pipeline below it). An op the backup knows committed is still
// acknowledged: a new primary may not know it.
func (r *Replica) acknowledgeable(op uint64, checksum U128) bool {
	assert(r.status == StatusNormal, "acknowledgements are sent in normal status")
	assert(op > 0, "an acknowledged op is not the root")
	if op > r.op || op+uint64(r.opts.PipelineMax) <= r.op || !r.journal.durable(op, checksum) {
		return false
	}
	return op <= r.commitMin || op >= r.canonicalFloor()
}

func (r *Replica) sendPrepareOk(op uint64, checksum U128) {
	assert(r.status == StatusNormal, "prepare_ok is sent in normal status")
	assert(!r.IsPrimary(), "prepare_ok is sent by a backup")
	assert(op <= r.op, "prepare_ok of an op of the log")
	if !r.viewDurable() {
		return
	}
	assert(r.journal.durable(op, checksum), "prepare_ok of a durable prepare")
	h := Header{Command: CommandPrepareOk, View: r.view, Op: op, Commit: r.commitMax, Context: checksum}
	r.send(r.primaryIndex(r.view), &h, nil)
}

// sendPrepareOks acknowledges every uncommitted op of the log held durably
// here: after a start_view, and once the new view is durable.
func (r *Replica) sendPrepareOks() {
	if r.status != StatusNormal || r.IsPrimary() || !r.viewDurable() {
		return
	}
	assert(r.logView == r.view, "a normal backup's log is of its view")
	assert(r.super.durable.logView == r.view, "a backup acknowledges once its log_view is durable")
	for op := r.op - min(r.op, uint64(r.opts.PipelineMax)-1); op <= r.op && op > 0; op++ {
		if h := r.journal.header(op); h != nil && r.acknowledgeable(op, h.Checksum) {
			r.sendPrepareOk(op, h.Checksum)
		}
	}
}

func (r *Replica) onPrepareOk(h *Header) {
	switch {
	case r.status != StatusNormal:
		r.drop(h.Command, "prepare_ok while not normal")
		return
	case !r.IsPrimary():
		r.drop(h.Command, "prepare_ok at a backup")
		return
	case h.View < r.view:
		r.dropStale(h.Command, "prepare_ok of an older view")
		return
	case h.View > r.view:
		r.drop(h.Command, "prepare_ok of a newer view")
		return
	}
	assert(r.status == StatusNormal, "prepare_ok is taken in normal status")
	assert(r.IsPrimary(), "prepare_ok is taken by the primary")
	assert(h.View == r.view, "prepare_ok is taken in its view")
	assert(h.Replica != r.opts.Replica, "prepare_ok comes from a backup")
	// The backup's commit number is knowledge of the cluster's: ops up to
	// it committed (in an earlier view, say) whether or not this primary
	// gathers a quorum for them now.
	known := min(h.Commit, r.op)
	e := r.pipeline.find(h.Op)
	if e == nil {
		r.drop(h.Command, "prepare_ok for an op not in the pipeline")
		r.commitPipelineKnown(known)
		return
	}
	if e.checksum != h.Context {
		r.drop(h.Command, "prepare_ok for another prepare of the op")
		r.commitPipelineKnown(known)
		return
	}
	assert(e.op == h.Op, "prepare_ok counts for its own op")
	e.oks |= 1 << h.Replica
	r.commitPipelineKnown(known)
}

// commitPipeline commits the pipeline's oldest ops while each has a
// replication quorum, in op order only.
func (r *Replica) commitPipeline() {
	assert(r.status == StatusNormal, "the pipeline commits in normal status")
	assert(r.IsPrimary(), "the pipeline commits at the primary")
	r.commitPipelineKnown(0)
}

// commitPipelineKnown commits the pipeline's oldest ops while each has a
// replication quorum or is known committed (at or below known).
func (r *Replica) commitPipelineKnown(known uint64) {
	assert(r.status == StatusNormal, "the pipeline commits in normal status")
	assert(r.IsPrimary(), "the pipeline commits at the primary")
	assert(known <= r.op, "ops known committed are in the log")
	quorum := r.bugQuorumReplication(QuorumReplication(int(r.opts.ReplicaCount)))
	progressed := false
	for !r.pipeline.empty() && (popCount(r.pipeline.at(0).oks) >= quorum || r.pipeline.at(0).op <= known) {
		e := r.pipeline.pop()
		assert(e.op == r.commitMax+1, "the pipeline commits in op order")
		r.commitMax = e.op
		progressed = true
	}
	if progressed {
		r.timers.abdicate.reset()
		r.commitJournal()
		r.prepareQueued()
	}
}

func popCount(b uint8) int {
	n := 0
	for ; b != 0; b &= b - 1 {
		n++
	}
	return n
}

// commitJournal executes committed ops in op order, as far as the log
// holds them and is known to be the canonical one: linked by parent
// checksums from the head (which came from this view's primary) down to the
// last executed op.
func (r *Replica) commitJournal() {
	if r.status != StatusNormal || r.commitMin >= r.commitMax {
		return
	}
	assert(r.open == nil, "ops execute once the data file is open")
	floor := r.canonicalFloor()
	for r.commitMin < r.commitMax && r.commitMin < r.op {
		op := r.commitMin + 1
		assert(op <= r.op, "the op to execute is in the log")
		h := r.journal.header(op)
		if op < floor || h == nil || !r.journal.hasPrepare(op) {
			return // repair fetches it
		}
		if op > r.journalLimit() {
			// Execution never runs further ahead of the durable checkpoint
			// than the journal can hold: the next checkpoint must come first.
			r.mark(MarkJournalWaitsCheckpoint)
			return
		}
		if h.Parent != r.commitChecksum {
			r.violation(CommandPrepare, "canonical log does not extend the executed prefix")
			return
		}
		if h.Timestamp <= r.commitTimestamp {
			r.violation(CommandPrepare, "committed prepare timestamp not above the previous op's")
			return
		}
		r.execute(h)
	}
}

// execute applies the committed op h to the client table and the state
// machine, and replies if this replica is the primary.
func (r *Replica) execute(h *Header) {
	message := r.journal.prepare(h.Op, h.Checksum)
	assert(message != nil, "execute: the op's prepare is held")
	assert(h.Op == r.commitMin+1, "execute: the op is the next to execute")
	assert(h.Parent == r.commitChecksum, "execute: the op extends the executed prefix")
	assert(h.Timestamp > r.commitTimestamp, "execute: prepare timestamps grow along the log")
	assert(h.Op <= r.commitMax, "execute: the op is committed")
	assert(h.Op <= r.journalLimit(), "execute: the op is within a journal of the durable checkpoint")
	r.bugPanicAtOp50(h.Op)
	if r.hook != nil {
		r.emit(Event{Kind: EventCommitted, Replica: r.opts.Replica, View: r.view, Op: h.Op,
			Commit: r.commitMax, Checksum: h.Checksum, Parent: h.Parent, Prepare: message})
	}
	it := newBatchIterator(message[HeaderSize:], r.opts.MessageSizeMax)
	for range len(message)/HeaderSize + 1 {
		rh, body, _, done, err := it.next()
		if err != nil {
			r.violation(CommandPrepare, "committed prepare holds a malformed request")
			break
		}
		if done {
			break
		}
		r.executeRequest(h, &rh, body)
	}
	assert(r.commitMin+1 == h.Op, "execute: executing the op changed no position")
	r.commitMin = h.Op
	r.commitChecksum = h.Checksum
	r.commitTimestamp = h.Timestamp
	r.timestamp = max(r.timestamp, h.Timestamp)
	r.stats.Executed++
	if r.hook != nil {
		r.emit(Event{Kind: EventExecuted, Replica: r.opts.Replica, View: r.view, Op: h.Op,
			Digest: r.stateDigest()})
	}
	r.maybeCheckpoint(h.Op, h)
}

// executeRequest runs one request of a committed batch. The session rules
// are applied again here, deterministically on every replica: a request
// prepared twice (a retry across a view change) executes once, and a
// request runs only in the session it names.
func (r *Replica) executeRequest(prepare *Header, rh *Header, body []byte) {
	assert(rh.Command == CommandRequest, "a batch holds requests")
	assert(prepare.Op == r.commitMin+1, "a request executes with its prepare's op")
	if rh.Operation == OperationRegister {
		r.executeRegister(prepare, rh)
		return
	}
	s := r.clients.get(rh.Client)
	if s == nil {
		if r.status == StatusNormal && r.IsPrimary() {
			r.sendEviction(rh.Client, rh.Session)
		}
		return
	}
	if rh.Session != s.session || rh.Request < s.request || (rh.Request == s.request && !r.bugExecuteDuplicate()) {
		return
	}
	output := r.scratch[:int(r.opts.MessageSizeMax)-HeaderSize]
	n := r.machine.Apply(prepare.Op, prepare.Timestamp, rh.Operation, body, output)
	assert(n >= 0, "the state machine's reply has a length")
	assert(n <= len(output), "the state machine's reply fits its buffer")
	r.storeReply(s, prepare, rh, output[:n])
	assert(s.request == rh.Request, "the session records the request it executed")
	r.bugStaleSession(s)
	r.clients.touch(s)
	if r.hook != nil {
		r.emit(Event{Kind: EventApplied, Replica: r.opts.Replica, View: r.view, Op: prepare.Op,
			Client: rh.Client, Request: rh.Request})
	}
}

// executeRegister opens a session at this op, or renews a client's session
// for a register newer than its latest request. A register no newer (a
// retry, or a late copy of an earlier one) changes nothing: it must never
// replace the reply cached for the client's latest request.
func (r *Replica) executeRegister(prepare *Header, rh *Header) {
	assert(rh.Operation == OperationRegister, "executeRegister of a register")
	s := r.clients.get(rh.Client)
	switch {
	case s == nil:
		opened, evicted := r.clients.open(rh.Client, prepare.Op)
		if !evicted.client.IsZero() {
			r.evicted(evicted.client, evicted.session)
		}
		r.storeReply(opened, prepare, rh, nil)
		r.clients.touch(opened)
	case rh.Request <= s.request:
	default:
		r.mark(MarkSessionReregistered)
		s.session = prepare.Op
		r.storeReply(s, prepare, rh, nil)
		r.clients.touch(s)
	}
	assert(r.clients.get(rh.Client) != nil, "a register leaves its client a session")
}

func (r *Replica) evicted(client U128, session uint64) {
	assert(!client.IsZero(), "an evicted session names its client")
	assert(r.clients.get(client) == nil, "an evicted client has no session")
	r.stats.Evictions++
	r.mark(MarkEviction)
	if r.hook != nil {
		r.emit(Event{Kind: EventEvicted, Replica: r.opts.Replica, View: r.view, Client: client})
	}
	if r.status == StatusNormal && r.IsPrimary() {
		r.sendEviction(client, session)
	}
}

// storeReply caches the reply to rh in its session and, at the primary,
// sends it.
func (r *Replica) storeReply(s *session, prepare *Header, rh *Header, output []byte) {
	assert(s.client == rh.Client, "a reply is stored in its client's session")
	assert(rh.Request > s.request || r.bugExecuteDuplicate(), "a session's request numbers only grow")
	// The reply is the same bytes on every replica (the prepare's view, not
	// the executing replica's), so the cached replies agree cluster-wide.
	reply := Header{
		Command: CommandReply, Cluster: r.opts.Cluster, Replica: r.primaryIndex(prepare.View),
		View: prepare.View, Op: prepare.Op, Commit: prepare.Op, Timestamp: prepare.Timestamp,
		Client: rh.Client, Request: rh.Request, RequestChecksum: rh.Checksum, Operation: rh.Operation,
	}
	n, err := Encode(s.replyBuf, &reply, output)
	if err != nil {
		panic("vsr: reply does not encode: " + err.Error())
	}
	s.reply = s.replyBuf[:n]
	s.request, s.requestChecksum, s.lastOp = rh.Request, rh.Checksum, prepare.Op
	if r.status == StatusNormal && r.IsPrimary() {
		r.stats.MessagesSent++
		r.bus.SendToClient(rh.Client, s.reply)
		if r.hook != nil {
			r.emit(Event{Kind: EventReply, Replica: r.opts.Replica, View: r.view, Op: prepare.Op,
				Client: rh.Client, Request: rh.Request})
		}
	}
}

// sendCommit is the primary's heartbeat: the commit number and the checksum
// of that op, so a backup can tell whether its log holds the right one.
func (r *Replica) sendCommit() {
	assert(r.status == StatusNormal, "heartbeats are sent in normal status")
	assert(r.IsPrimary(), "heartbeats are sent by the primary")
	assert(r.commitMax <= r.op, "the primary's commit is in its log")
	h := Header{Command: CommandCommit, View: r.view, Commit: r.commitMax, Context: r.checksumAt(r.commitMax)}
	r.broadcast(&h, nil)
}

// checksumAt returns the checksum of op in this replica's log (zero if
// unknown).
func (r *Replica) checksumAt(op uint64) U128 {
	assert(op >= r.commitMin, "checksumAt of an op not below the executed prefix")
	if op == r.commitMin {
		return r.commitChecksum
	}
	if h := r.journal.header(op); h != nil {
		return h.Checksum
	}
	return U128{}
}

func (r *Replica) onCommit(h *Header) {
	switch {
	case h.View > r.view && h.Replica == r.primaryIndex(h.View):
		r.jumpToView(h.View)
		return
	case h.View < r.view:
		r.dropStale(h.Command, "commit of an older view")
		return
	case h.View > r.view:
		r.drop(h.Command, "commit of a newer view not from its primary")
		return
	case h.Replica != r.primaryIndex(r.view):
		r.drop(h.Command, "commit not from the primary of this view")
		return
	case r.status == StatusViewChange:
		r.requestStartView()
		return
	case r.status != StatusNormal:
		r.drop(h.Command, "commit while not normal")
		return
	}
	assert(r.status == StatusNormal, "a commit is taken in normal status")
	assert(h.View == r.view, "a commit is taken in its view")
	assert(h.Replica == r.primaryIndex(r.view), "a commit is taken from the primary")
	assert(!r.IsPrimary(), "a commit is taken by a backup")
	r.timers.primary.reset()
	if h.Commit > r.commitMax {
		r.commitMax = h.Commit
	}
	if h.Commit > r.op && !h.Context.IsZero() {
		// The log is behind the primary's commit: fetch that op, which
		// becomes the new head, and repair down from it.
		r.repairProgress.headOp, r.repairProgress.headChecksum = h.Commit, h.Context
	}
	r.commitJournal()
}

// retryPrepares resends each uncommitted prepare to the backups that have
// not acknowledged it.
func (r *Replica) retryPrepares() {
	assert(r.status == StatusNormal, "prepares are resent in normal status")
	assert(r.IsPrimary(), "prepares are resent by the primary")
	for i := 0; i < r.pipeline.count; i++ {
		e := r.pipeline.at(i)
		msg := r.journal.prepare(e.op, e.checksum)
		assert(msg != nil, "a pipeline op is in the primary's journal")
		noted := false
		for b := uint8(0); b < r.opts.ReplicaCount; b++ {
			if b != r.opts.Replica && e.oks&(1<<b) == 0 {
				if !noted {
					r.noteEncoded(r.journal.header(e.op), msg)
					noted = true
				}
				r.stats.MessagesSent++
				r.bus.SendToReplica(b, msg)
			}
		}
	}
}

// markPrepare marks the rare paths of the prepare the primary is about to
// make as op+1: a new lap of the journal ring, and a timestamp the head of
// the log forces above both the primary's clock and anything it stamped or
// executed (an inherited suffix from a primary whose clock ran ahead).
func (r *Replica) markPrepare() {
	assert(r.status == StatusNormal, "a prepare is made in normal status")
	assert(r.IsPrimary(), "a prepare is made by the primary")
	assert(r.queue.count > 0, "a prepare is made of queued requests")
	if r.hook == nil {
		return
	}
	slots := uint64(r.opts.JournalSlots)
	if r.op+1 > slots && (r.op+1)%slots == 1 {
		r.mark(MarkJournalWrap)
	}
	if head := r.headTimestamp(); head > r.timestamp && head >= r.ticks {
		r.mark(MarkTimestampClamp)
	}
}

// abdicate: the primary's oldest prepare has stayed uncommitted too long, so
// it cannot reach a quorum, or requests have waited as long while it could
// prepare none (its journal is full: no checkpoint became durable, say its
// disk stopped completing writes). Either way it starts a view change rather
// than hold the cluster with heartbeats.
func (r *Replica) abdicate() {
	assert(r.status == StatusNormal, "only a normal replica abdicates")
	assert(r.IsPrimary(), "only the primary abdicates")
	switch {
	case !r.pipeline.empty():
		r.mark(MarkAbdication)
		r.startViewChange(r.view+1, "primary abdicates: pipeline stalled")
	case r.queue.count > 0:
		r.mark(MarkAbdication)
		r.startViewChange(r.view+1, "primary abdicates: cannot prepare (journal full)")
	}
}
