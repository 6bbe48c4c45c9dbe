package vsr

// Normal operation: request → prepare → prepare_ok → commit → execute →
// reply, with commit heartbeats (VR Revisited §4.1).

// enterNormal sets status normal and the timeouts of the replica's role.
func (r *Replica) enterNormal() {
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
}

// onRequest is the primary's intake of a client request. A request the
// primary cannot take now is dropped and the client retries after its
// timeout: that is the back-pressure of a full request queue.
func (r *Replica) onRequest(h *Header, body, message []byte) {
	if r.status != StatusNormal || !r.IsPrimary() {
		r.drop(h.Command, "not the primary")
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
	if r.opts.TestingBug == BugForgeRequest {
		forged := *h
		forged.Timestamp++
		n, _ := Encode(r.scratch, &forged, body)
		message = r.scratch[:n]
	}
	r.queue.push(h.Client, message)
	r.prepareQueued()
}

// admitRequest applies the session rules to a request at the primary. It
// answers duplicates from the reply cache and unknown clients with an
// eviction, and reports whether the request is new.
func (r *Replica) admitRequest(h *Header) bool {
	s := r.clients.get(h.Client)
	if s == nil {
		switch {
		case h.Operation == OperationRegister:
			return true
		case r.pipelineHasClient(h.Client):
			// A register of this client is prepared but not yet executed
			// (say, a new primary re-committing the old view's suffix).
			r.drop(h.Command, "no session yet; its register is in the pipeline")
		default:
			r.sendEviction(h.Client, 0)
			r.drop(h.Command, "no session for this client")
		}
		return false
	}
	switch {
	case h.Checksum == s.requestChecksum && r.opts.TestingBug == BugExecuteDuplicate:
		return true
	case h.Checksum == s.requestChecksum:
		// A retry of the session's latest request: the cached reply answers it.
		r.stats.MessagesSent++
		r.bus.SendToClient(h.Client, s.reply)
	case h.Operation == OperationRegister && h.Checksum == s.registerChecksum:
		r.drop(h.Command, "retry of a register already answered")
	case h.Operation == OperationRegister:
		// A client that was told (perhaps wrongly) its session was gone
		// registers again: its request numbers carry on, so the session's
		// record of its latest request stays (executeRegister).
		return true
	case h.Request < s.request:
		r.drop(h.Command, "request older than the session's latest")
	case h.Request == s.request:
		r.drop(h.Command, "request number reused with different contents")
	default:
		return true
	}
	return false
}

// sendEviction tells client its session is gone. Op carries the evicted
// session's number (the op of its register), or 0 when the primary has no
// session for the client at all, so a client can ignore the eviction of a
// session it no longer has.
func (r *Replica) sendEviction(client U128, session uint64) {
	h := Header{Command: CommandEviction, Client: client, View: r.view, Op: session}
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
		if msg == nil {
			panic("vsr: pipeline op missing from the primary's journal")
		}
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
	for r.queue.count > 0 && r.pipeline.count < r.opts.PipelineMax {
		if r.status != StatusNormal || !r.IsPrimary() {
			panic("vsr: prepareQueued outside a normal primary")
		}
		if r.op+1-r.commitMin >= uint64(r.opts.JournalSlots) || r.op+1 > r.journalLimit() {
			return // wait for execution, or for a checkpoint to free journal slots
		}
		body := r.packBatch()
		previous := r.timestamp
		r.timestamp = max(r.timestamp+1, r.ticks)
		h := Header{
			Command: CommandPrepare, View: r.view, Op: r.op + 1, Commit: r.commitMax,
			Parent: r.headChecksum(), Timestamp: r.timestamp, Request: uint32(r.batchCount(body)),
		}
		if r.opts.TestingBug == BugStampBackwards && h.Op%8 == 0 && previous > 0 {
			h.Timestamp = previous - 1
		}
		n := r.encode(&h, body)
		if !r.journal.putPrepare(&h, r.sendBuf[:n]) {
			panic("vsr: prepare larger than a journal slot")
		}
		r.op = h.Op
		if r.pipeline.empty() {
			r.timers.abdicate.reset()
		}
		r.pipeline.push(h.Op, h.Checksum)
		r.stats.Prepares++
		r.writePrepare(h.Op)
		r.broadcast(&h, body)
		if r.opts.TestingBug == BugReplyBeforeCommit {
			r.replyBeforeCommit(&h, body)
		}
	}
}

// replyBeforeCommit is BugReplyBeforeCommit: it tells each client of the
// batch "ok" at op before the op commits.
func (r *Replica) replyBeforeCommit(prepare *Header, batch []byte) {
	_ = BatchRequests(batch, r.opts.MessageSizeMax, func(rh *Header, _ []byte) {
		reply := Header{Command: CommandReply, View: r.view, Op: prepare.Op, Commit: prepare.Op,
			Client: rh.Client, Request: rh.Request, RequestChecksum: rh.Checksum, Operation: rh.Operation}
		n := r.encode(&reply, []byte{1})
		r.bus.SendToClient(rh.Client, r.sendBuf[:n])
	})
}

// packBatch moves queued requests into a batch body in r.scratch, as many
// as fit in one prepare (always at least one: onRequest refuses requests
// too large to fit alone).
func (r *Replica) packBatch() []byte {
	body := r.scratch[:0]
	limit := int(r.opts.MessageSizeMax) - HeaderSize
	for r.queue.count > 0 {
		m := r.queue.at(0).message
		if len(body)+len(m) > limit {
			break
		}
		body = append(body, m...)
		r.queue.pop()
	}
	if len(body) == 0 {
		panic("vsr: a queued request does not fit in a prepare")
	}
	return body
}

func (r *Replica) batchCount(body []byte) int {
	n := 0
	_ = BatchRequests(body, r.opts.MessageSizeMax, func(*Header, []byte) { n++ })
	return n
}

// headChecksum is the checksum of the prepare at the head of the log.
func (r *Replica) headChecksum() U128 {
	if r.op == r.commitMin {
		return r.commitChecksum
	}
	h := r.journal.header(r.op)
	if h == nil {
		panic("vsr: the head of the log is not in the journal")
	}
	return h.Checksum
}

// onPrepare routes a prepare: from the primary of the current view it
// extends the log; from elsewhere it may be a repair the replica asked for.
func (r *Replica) onPrepare(h *Header, message []byte) {
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
	if r.status == StatusNormal && !r.IsPrimary() && h.Op > r.commitMax && h.Op <= r.op &&
		r.journal.durable(h.Op, h.Checksum) && h.Op >= r.canonicalFloor() {
		// A new primary resends the old view's uncommitted prepares as they
		// were made; this replica holds this one in its log, so it acks it
		// in the current view.
		r.sendPrepareOk(h.Op, h.Checksum)
		return
	}
	r.drop(h.Command, "prepare not from the primary of this view, nor a wanted repair")
}

func (r *Replica) onPrepareFromPrimary(h *Header, message []byte) {
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
		if h.Op > r.op {
			r.op = h.Op
		}
		r.writePrepare(h.Op)
	}
	r.commitJournal()
}

// onPrepareDurable runs when op's prepare with checksum is on disk here.
func (r *Replica) onPrepareDurable(op uint64, checksum U128) {
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
	if op > r.commitMax && op <= r.op && op >= r.canonicalFloor() {
		r.sendPrepareOk(op, checksum)
	}
}

func (r *Replica) sendPrepareOk(op uint64, checksum U128) {
	if !r.viewDurable() || r.IsPrimary() {
		return
	}
	h := Header{Command: CommandPrepareOk, View: r.view, Op: op, Commit: r.commitMax, Context: checksum}
	r.send(r.primaryIndex(r.view), &h, nil)
}

// sendPrepareOks acknowledges every uncommitted op of the log held durably
// here: after a start_view, and once the new view is durable.
func (r *Replica) sendPrepareOks() {
	if r.status != StatusNormal || r.IsPrimary() || !r.viewDurable() {
		return
	}
	for op := max(r.commitMax+1, r.canonicalFloor()); op <= r.op; op++ {
		if h := r.journal.header(op); h != nil && r.journal.durable(op, h.Checksum) {
			r.sendPrepareOk(op, h.Checksum)
		}
	}
}

func (r *Replica) onPrepareOk(h *Header) {
	if r.status != StatusNormal || !r.IsPrimary() || h.View != r.view {
		r.drop(h.Command, "prepare_ok outside this view's primary")
		return
	}
	e := r.pipeline.find(h.Op)
	if e == nil || e.checksum != h.Context {
		r.drop(h.Command, "prepare_ok for an op not in the pipeline")
		return
	}
	e.oks |= 1 << h.Replica
	r.commitPipeline()
}

// commitPipeline commits the pipeline's oldest ops while each has a
// replication quorum, in op order only.
func (r *Replica) commitPipeline() {
	quorum := QuorumReplication(int(r.opts.ReplicaCount))
	if r.opts.TestingBug == BugCommitWithoutQuorum {
		quorum = 1
	}
	if r.opts.TestingBug == BugWaitForAll {
		quorum = int(r.opts.ReplicaCount)
	}
	progressed := false
	for !r.pipeline.empty() && popCount(r.pipeline.at(0).oks) >= quorum {
		e := r.pipeline.pop()
		if e.op != r.commitMax+1 {
			panic("vsr: pipeline commit out of order")
		}
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
	floor := r.canonicalFloor()
	for r.commitMin < r.commitMax && r.commitMin < r.op {
		op := r.commitMin + 1
		h := r.journal.header(op)
		if op < floor || h == nil || !r.journal.hasPrepare(op) {
			return // repair fetches it
		}
		if h.Parent != r.commitChecksum {
			r.violation(CommandPrepare, "canonical log does not extend the executed prefix")
			return
		}
		r.execute(h)
	}
}

// execute applies the committed op h to the client table and the state
// machine, and replies if this replica is the primary.
func (r *Replica) execute(h *Header) {
	message := r.journal.prepare(h.Op, h.Checksum)
	if message == nil || h.Op != r.commitMin+1 {
		panic("vsr: execute of an op that is not next or not held")
	}
	if r.opts.TestingBug == BugPanicAtOp50 && h.Op == 50 {
		panic("vsr: deliberate bug: panic at op 50")
	}
	if r.hook != nil {
		r.hook(&Event{Kind: EventCommitted, Replica: r.opts.Replica, View: r.view, Op: h.Op,
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
	r.commitMin = h.Op
	r.commitChecksum = h.Checksum
	r.timestamp = max(r.timestamp, h.Timestamp)
	r.stats.Executed++
	if r.hook != nil {
		r.hook(&Event{Kind: EventExecuted, Replica: r.opts.Replica, View: r.view, Op: h.Op,
			Digest: r.stateDigest()})
	}
	r.maybeCheckpoint(h.Op, h)
}

// executeRequest runs one request of a committed batch. The session rules
// are applied again here, deterministically on every replica: a request
// prepared twice (a retry across a view change) executes once.
func (r *Replica) executeRequest(prepare *Header, rh *Header, body []byte) {
	if rh.Operation == OperationRegister {
		r.executeRegister(prepare, rh)
		return
	}
	s := r.clients.get(rh.Client)
	if s == nil {
		if r.status == StatusNormal && r.IsPrimary() {
			r.sendEviction(rh.Client, 0)
		}
		return
	}
	if rh.Request < s.request || (rh.Request == s.request && r.opts.TestingBug != BugExecuteDuplicate) {
		return
	}
	output := r.scratch[:int(r.opts.MessageSizeMax)-HeaderSize]
	n := r.machine.Apply(prepare.Op, prepare.Timestamp, rh.Operation, body, output)
	if n < 0 || n > len(output) {
		panic("vsr: state machine returned a reply length outside its buffer")
	}
	r.storeReply(s, prepare, rh, output[:n])
	if r.opts.TestingBug == BugStaleSession && r.opts.Replica == 1 {
		s.requestChecksum = U128{}
	}
	r.clients.touch(s)
	if r.hook != nil {
		r.hook(&Event{Kind: EventApplied, Replica: r.opts.Replica, View: r.view, Op: prepare.Op,
			Client: rh.Client, Request: rh.Request})
	}
}

// executeRegister opens a session, or answers a client that registers
// again with the session it has (its latest request number unchanged, so
// old requests stay answered from the cache and are never run again).
func (r *Replica) executeRegister(prepare *Header, rh *Header) {
	s := r.clients.get(rh.Client)
	switch {
	case s == nil:
		opened, evicted := r.clients.open(rh.Client, prepare.Op)
		if !evicted.client.IsZero() {
			r.evicted(evicted.client, evicted.session)
		}
		opened.registerChecksum = rh.Checksum
		r.storeReply(opened, prepare, rh, nil)
		opened.request = registerFloor(rh)
		r.clients.touch(opened)
	case rh.Checksum == s.registerChecksum || rh.Checksum == s.requestChecksum:
		// The same register prepared twice (a retry across a view change).
	default:
		latest := max(s.request, registerFloor(rh))
		s.registerChecksum = rh.Checksum
		r.storeReply(s, prepare, rh, nil)
		s.request = latest
		r.clients.touch(s)
	}
}

// registerFloor is the latest request number a registering client had
// sent: its new session treats every request up to it as already done.
func registerFloor(rh *Header) uint32 {
	return uint32(min(rh.Commit, uint64(^uint32(0))))
}

func (r *Replica) evicted(client U128, session uint64) {
	r.stats.Evictions++
	if r.hook != nil {
		r.hook(&Event{Kind: EventEvicted, Replica: r.opts.Replica, View: r.view, Client: client})
	}
	if r.status == StatusNormal && r.IsPrimary() {
		r.sendEviction(client, session)
	}
}

// storeReply caches the reply to rh in its session and, at the primary,
// sends it.
func (r *Replica) storeReply(s *session, prepare *Header, rh *Header, output []byte) {
	reply := Header{
		Command: CommandReply, Cluster: r.opts.Cluster, Replica: r.opts.Replica,
		View: r.view, Op: prepare.Op, Commit: prepare.Op, Timestamp: prepare.Timestamp,
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
			r.hook(&Event{Kind: EventReply, Replica: r.opts.Replica, View: r.view, Op: prepare.Op,
				Client: rh.Client, Request: rh.Request})
		}
	}
}

// sendCommit is the primary's heartbeat: the commit number and the checksum
// of that op, so a backup can tell whether its log holds the right one.
func (r *Replica) sendCommit() {
	h := Header{Command: CommandCommit, View: r.view, Commit: r.commitMax, Context: r.checksumAt(r.commitMax)}
	r.broadcast(&h, nil)
}

// checksumAt returns the checksum of op in this replica's log (zero if
// unknown).
func (r *Replica) checksumAt(op uint64) U128 {
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
	case h.View != r.view || h.Replica != r.primaryIndex(r.view):
		r.drop(h.Command, "commit not from the primary of this view")
		return
	case r.status == StatusViewChange:
		r.requestStartView()
		return
	case r.status != StatusNormal:
		r.drop(h.Command, "commit while not normal")
		return
	}
	r.timers.primary.reset()
	if h.Commit > r.commitMax {
		r.commitMax = h.Commit
	}
	if h.Commit > r.op && !h.Context.IsZero() {
		// The log is behind the primary's commit: fetch that op, which
		// becomes the new head, and repair down from it.
		r.rep.headOp, r.rep.headChecksum = h.Commit, h.Context
	}
	r.commitJournal()
}

// retryPrepares resends each uncommitted prepare to the backups that have
// not acknowledged it.
func (r *Replica) retryPrepares() {
	for i := 0; i < r.pipeline.count; i++ {
		e := r.pipeline.at(i)
		msg := r.journal.prepare(e.op, e.checksum)
		for b := uint8(0); b < r.opts.ReplicaCount; b++ {
			if b != r.opts.Replica && e.oks&(1<<b) == 0 {
				r.stats.MessagesSent++
				r.bus.SendToReplica(b, msg)
			}
		}
	}
}

// abdicate: the primary's oldest prepare has stayed uncommitted too long, so
// it cannot reach a quorum; it starts a view change rather than hold the
// cluster.
func (r *Replica) abdicate() {
	if r.pipeline.empty() {
		return
	}
	r.startViewChange(r.view+1, "primary abdicates: pipeline stalled")
}
