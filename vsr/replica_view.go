package vsr

import "fmt"

// View change (VR Revisited §4.2): start_view_change → do_view_change →
// start_view. View and log_view are durable before a replica sends a
// do_view_change, a prepare_ok or a start_view that depends on them.

type viewChangeState struct {
	svcFrom   uint8 // replicas known to want this view, this one included
	dvcSent   bool
	dvcs      [ReplicasMax]dvcRecord // the new primary's collected do_view_changes
	installed bool                   // the new primary has adopted the chosen log
	best      uint8                  // whose log it adopted: the first to ask for repairs
}

type dvcRecord struct {
	present bool
	logView uint32
	op      uint64
	commit  uint64
	faulty  bool // the sender's journal has slots whose op it cannot know: it nacks nothing
	// nacks: bit i set says the sender never held the prepare of op - i,
	// though its log names it (do_view_change: the client field).
	nacks   U128
	headers []byte // the do_view_change body: headers from op downward
	buffer  []byte // MessageSizeMax bytes, allocated at start
}

func newViewChangeState(replicaCount uint8, messageSizeMax uint32, buffers *Buffers) viewChangeState {
	assert(replicaCount <= ReplicasMax, "a do_view_change record per replica")
	var vc viewChangeState
	for i := range replicaCount {
		vc.dvcs[i].buffer = buffers.makeWrittenFirst(int(messageSizeMax))
	}
	return vc
}

func (vc *viewChangeState) reset() {
	vc.svcFrom, vc.dvcSent, vc.installed, vc.best = 0, false, false, 0
	for i := range vc.dvcs {
		vc.dvcs[i].present = false
	}
}

// startViewChange moves this replica into the view change for view.
func (r *Replica) startViewChange(view uint32, reason string) {
	assert(view >= r.view, "no view change to an older view")
	assert(view > r.view || r.status == StatusNormal, "a view change of the current view only from normal status")
	r.view = view
	r.status = StatusViewChange
	r.viewChange.reset()
	r.viewChange.svcFrom = 1 << r.opts.Replica
	r.pipeline.clear()
	r.queue.clear()
	r.repairProgress.headOp, r.repairProgress.headChecksum = 0, U128{}
	r.stats.ViewChanges++
	t := &r.timers
	t.heartbeat.stop()
	t.prepareRetry.stop()
	t.abdicate.stop()
	t.primary.stop()
	t.viewChange.start(r.opts.ViewChangeTimeoutTicks + r.jitter())
	t.viewChangeRetry.start(r.opts.ViewChangeRetryTicks)
	assert(r.logView < r.view, "a view change is to a view after the log's")
	assert(r.pipeline.empty(), "a view change drops the pipeline")
	r.super.persist()
	if r.hook != nil {
		r.emit(Event{Kind: EventStatus, Replica: r.opts.Replica, Status: r.status, View: r.view,
			LogView: r.logView, Op: r.op, Commit: r.commitMin, Reason: reason})
	}
	r.mark(MarkViewChangeStarted)
	r.broadcast(&Header{Command: CommandStartViewChange, View: view}, nil)
	r.checkStartViewChangeQuorum()
}

// jumpToView: a prepare or commit of a newer view shows this replica
// missed a view change; it joins that view and asks its primary for the log.
func (r *Replica) jumpToView(view uint32) {
	assert(view > r.view, "jumpToView of a newer view")
	assert(r.primaryIndex(view) != r.opts.Replica, "a replica jumps to a view another leads")
	r.mark(MarkViewJump)
	r.startViewChange(view, "message from a newer view")
	assert(r.view == view, "jumpToView joins the view")
	r.requestStartView()
}

func (r *Replica) requestStartView() {
	assert(r.status == StatusViewChange, "a start_view is asked for during a view change")
	primary := r.primaryIndex(r.view)
	if primary == r.opts.Replica {
		return
	}
	h := Header{Command: CommandRequestStartView, View: r.view, Context: U128{Lo: r.random.Uint64() | 1}}
	r.send(primary, &h, nil)
}

func (r *Replica) onStartViewChange(h *Header) {
	switch {
	case h.View < r.view:
		r.dropStale(h.Command, "start_view_change of an older view")
		return
	case h.View > r.view:
		r.startViewChange(h.View, "start_view_change from a peer")
	case r.status != StatusViewChange:
		r.drop(h.Command, "start_view_change of the current view, already normal")
		return
	}
	assert(h.View == r.view, "a start_view_change is counted in its view")
	assert(r.status == StatusViewChange, "a start_view_change is counted during a view change")
	assert(h.Replica != r.opts.Replica, "a start_view_change is counted from a peer")
	r.viewChange.svcFrom |= 1 << h.Replica
	r.checkStartViewChangeQuorum()
}

// checkStartViewChangeQuorum sends this replica's do_view_change once a
// view-change quorum wants the view and the view is durable here.
func (r *Replica) checkStartViewChangeQuorum() {
	if r.status != StatusViewChange || r.viewChange.dvcSent || !r.viewDurable() {
		return
	}
	if popCount(r.viewChange.svcFrom) < QuorumViewChange(int(r.opts.ReplicaCount)) {
		return
	}
	assert(r.viewChange.svcFrom&(1<<r.opts.Replica) != 0, "a replica in a view change wants the view itself")
	assert(r.logView < r.view, "a do_view_change is of a log of an earlier view")
	r.viewChange.dvcSent = true
	r.sendDoViewChange()
}

func (r *Replica) sendDoViewChange() {
	assert(r.status == StatusViewChange, "do_view_change is sent during a view change")
	assert(r.viewChange.dvcSent, "do_view_change is sent once a quorum wants the view")
	assert(r.logView < r.view, "do_view_change with log_view below view")
	assert(r.viewDurable(), "do_view_change is sent once the view is durable")
	if r.journal.faultyCount > 0 {
		r.mark(MarkDoViewChangeFault)
	}
	primary := r.primaryIndex(r.view)
	if primary == r.opts.Replica {
		r.recordDoViewChange(r.opts.Replica, r.logView, r.op, min(r.commitMax, r.op), r.journal.faultyCount > 0, r.nackMask(), nil)
		r.checkDoViewChangeQuorum()
		return
	}
	body := r.appendLogHeaders(r.scratch[:0])
	assert(len(body)%HeaderSize == 0, "a do_view_change carries whole headers")
	// A backup may know of commits beyond its own head (from a heartbeat);
	// the do_view_change reports only those within its log.
	h := Header{Command: CommandDoViewChange, View: r.view, LogView: r.logView, Op: r.op,
		Commit: min(r.commitMax, r.op)}
	h.SetLogHead(r.headChecksum())
	h.SetJournalFaulty(r.journal.faultyCount > 0)
	h.SetNacks(r.nackMask())
	r.send(primary, &h, body)
}

// appendLogHeaders appends the headers of this replica's log from the head
// downward, as long as they chain, up to what a message can carry.
func (r *Replica) appendLogHeaders(dst []byte) []byte {
	assert(len(dst) == 0, "log headers fill a body from its start")
	limit := (int(r.opts.MessageSizeMax) - HeaderSize) / HeaderSize
	var parent U128
	for op, n := r.op, 0; op > 0 && n < limit; op, n = op-1, n+1 {
		h := r.journal.header(op)
		if h == nil || (n > 0 && h.Checksum != parent) {
			break
		}
		var b [HeaderSize]byte
		h.put(b[:])
		dst = append(dst, b[:]...)
		parent = h.Parent
	}
	assert(len(dst) <= limit*HeaderSize, "log headers fit a message")
	return dst
}

func (r *Replica) onDoViewChange(h *Header, body []byte) {
	switch {
	case h.View < r.view:
		r.dropStale(h.Command, "do_view_change of an older view")
		return
	case r.primaryIndex(h.View) != r.opts.Replica:
		r.drop(h.Command, "do_view_change to a replica that is not that view's primary")
		return
	case h.View > r.view:
		r.startViewChange(h.View, "do_view_change from a peer")
	case r.status == StatusNormal:
		// A late do_view_change: its sender missed the start_view.
		r.sendStartView(h.Replica)
		return
	}
	if err := checkHeaderRun(body, h.Op, h.LogHead()); err != "" {
		r.violation(h.Command, "do_view_change headers: "+err)
		return
	}
	assert(h.View == r.view, "a do_view_change is counted in its view")
	assert(r.status == StatusViewChange, "a do_view_change is counted during a view change")
	assert(r.IsPrimary(), "a do_view_change is counted by the view's primary")
	assert(h.Replica != r.opts.Replica, "a do_view_change is counted from a peer")
	r.viewChange.svcFrom |= 1 << h.Replica
	r.recordDoViewChange(h.Replica, h.LogView, h.Op, h.Commit, h.JournalFaulty(), h.Nacks(), body)
	r.checkStartViewChangeQuorum()
	if r.viewChange.installed {
		// A do_view_change after the log was adopted may bring the nack
		// that completes a truncation the view change waits for.
		r.tryFinishViewChange()
		return
	}
	r.checkDoViewChangeQuorum()
}

// checkHeaderRun checks a run of headers from a do_view_change or
// start_view: prepares from op downward, each the parent of the one
// before, the first with checksum head. It returns what is wrong, or "".
func checkHeaderRun(body []byte, op uint64, head U128) string {
	assert(len(body)%HeaderSize == 0, "a run of headers is whole headers")
	if len(body) == 0 {
		if op == 0 {
			return ""
		}
		return "no headers for a non-empty log"
	}
	var parent U128
	for i := 0; i+HeaderSize <= len(body); i += HeaderSize {
		h, err := DecodeHeader(body[i : i+HeaderSize])
		switch {
		case err != nil:
			return err.Error()
		case h.Command != CommandPrepare:
			return "a header is not a prepare's"
		case i == 0 && h.Op != op:
			return "first header is not of the head's op"
		case i == 0 && h.Checksum != head:
			return "first header is not the head's"
		case i > 0 && h.Op+uint64(i/HeaderSize) != op:
			return "headers are not of consecutive ops"
		case i > 0 && h.Checksum != parent:
			return "headers do not chain"
		}
		parent = h.Parent
	}
	return ""
}

func (r *Replica) recordDoViewChange(from uint8, logView uint32, op, commit uint64, faulty bool, nacks U128, body []byte) {
	assert(from < r.opts.ReplicaCount, "a do_view_change from a replica of the cluster")
	assert(logView < r.view, "a do_view_change is of a log of an earlier view")
	assert(commit <= op, "a do_view_change's commit is in its log")
	assert(len(body) <= len(r.viewChange.dvcs[from].buffer), "a do_view_change's headers fit its record")
	d := &r.viewChange.dvcs[from]
	d.present, d.logView, d.op, d.commit, d.faulty, d.nacks = true, logView, op, commit, faulty, nacks
	d.headers = d.buffer[:copy(d.buffer, body)]
}

// checkDoViewChangeQuorum: with do_view_changes from a view-change quorum
// (its own included), the new primary adopts the log with the largest
// log_view, then the largest op, and the largest commit.
func (r *Replica) checkDoViewChangeQuorum() {
	if r.status != StatusViewChange || r.viewChange.installed || r.primaryIndex(r.view) != r.opts.Replica {
		return
	}
	count, best := 0, -1
	commit := r.commitMax
	for i := range int(r.opts.ReplicaCount) {
		d := &r.viewChange.dvcs[i]
		if !d.present {
			continue
		}
		count++
		commit = max(commit, d.commit)
		if r.bugLongestLogWins(best, d) {
			best = i
			continue
		}
		if best < 0 || d.logView > r.viewChange.dvcs[best].logView ||
			(d.logView == r.viewChange.dvcs[best].logView && d.op > r.viewChange.dvcs[best].op) {
			best = i
		}
	}
	if !r.viewChange.dvcs[r.opts.Replica].present || count < QuorumViewChange(int(r.opts.ReplicaCount)) {
		return
	}
	assert(best >= 0, "a quorum of do_view_changes has a best log")
	assert(r.viewChange.dvcs[best].present, "the best log is one received")
	assert(commit >= r.commitMax, "the view change keeps every commit known")
	r.installLog(uint8(best), commit)
}

// installLog makes the chosen do_view_change's log this replica's log.
func (r *Replica) installLog(best uint8, commit uint64) {
	assert(r.status == StatusViewChange, "a log is adopted during a view change")
	assert(!r.viewChange.installed, "a log is adopted once")
	assert(r.IsPrimary(), "the new primary adopts the log")
	d := &r.viewChange.dvcs[best]
	if d.op < r.commitMin {
		r.violation(CommandDoViewChange, "chosen log is shorter than an executed op")
		return
	}
	if commit > d.op {
		r.violation(CommandDoViewChange, "chosen log is shorter than a committed op")
		return
	}
	if best != r.opts.Replica {
		r.mark(MarkLogAdoptedPeer)
		r.truncateAbove(d.op)
		r.op = d.op
		r.installHeaders(d.headers)
	}
	r.commitMax = max(r.commitMax, commit, r.headCommit())
	assert(r.commitMax <= r.op, "every op known committed is in the adopted log")
	assert(r.commitMin <= r.op, "the adopted log holds every executed op")
	r.viewChange.installed, r.viewChange.best = true, best
	r.repair()
	r.tryFinishViewChange()
}

// truncateNacked: the new primary lacks the prepare of an op it adopted
// above the commit, and perhaps nobody has it. If enough do_view_changes
// prove they never held it (a nack quorum: so many that fewer than a
// replication quorum can have it), it was never committed, and the log
// ends below it. A replica with a slot it cannot read nacks nothing: that
// slot might be the op (Protocol-Aware Recovery, FAST'18).
func (r *Replica) truncateNacked() {
	assert(r.status == StatusViewChange, "truncation only during a view change")
	assert(r.viewChange.installed, "truncation only of an adopted log")
	op := r.firstUnestablished()
	if op == 0 {
		return
	}
	if op-1 > r.commitMin && !r.established(op-1) && r.opts.ReplicaCount > 1 {
		return // the head it would leave may be stale: repair must establish it first
	}
	assert(op > r.commitMax && op <= r.op, "the op to prove absent is uncommitted and in the log")
	// The lowest op not established: if it never committed, nothing above
	// it did. The adopted log names it by its header if held, or by the
	// parent of the established op just above it; deeper in a gap its
	// checksum is unknown, and only nacks that need none count.
	var checksum U128
	switch {
	case r.journal.header(op) != nil && r.established(op):
		checksum = r.journal.header(op).Checksum
	case op < r.op && r.established(op+1):
		checksum = r.journal.header(op + 1).Parent
	}
	// Below a gap, the head the truncation leaves may be established only
	// because this replica vouches for it (a mark: seed 301's path).
	vouched := op-1 > r.commitMin && op-1 < r.canonicalFloor() &&
		r.journal.header(op-1).View != r.viewChange.dvcs[r.viewChange.best].logView
	nacks, who := 0, ""
	for i := range int(r.opts.ReplicaCount) {
		if d := &r.viewChange.dvcs[i]; d.present && r.nacks(d, op, checksum) {
			nacks++
			who += fmt.Sprintf(" r%d(op %d log_view %d)", i, d.op, d.logView)
		}
	}
	if nacks < int(r.opts.ReplicaCount)-QuorumReplication(int(r.opts.ReplicaCount))+1 {
		return
	}
	r.truncateAbove(op - 1)
	assert(r.op == op-1, "truncation ends the log below the op no quorum held")
	assert(r.op >= r.commitMax, "truncation keeps every op known committed")
	assert(r.op == r.commitMin || r.established(r.op) || r.opts.ReplicaCount == 1,
		"truncation leaves a head the adopted log establishes")
	r.mark(MarkNackTruncation)
	if vouched {
		r.mark(MarkLogVouched)
	}
	if r.hook != nil {
		r.emit(Event{Kind: EventStatus, Replica: r.opts.Replica, Status: r.status, View: r.view, Op: r.op,
			Reason: fmt.Sprintf("truncated op %d and above: a nack quorum (%d) never held it:%s", op, nacks, who)})
	}
}

// firstUnestablished returns the lowest op above the highest known commit
// whose prepare the new primary does not hold as an entry of the adopted
// log, or 0. Committed ops are never truncated; truncating at the op it
// returns is safe only if the head it leaves is established too (a prepare
// held below a gap may be a stale entry of an older view: truncateNacked
// checks), or is the executed prefix.
//
// A one-replica cluster is the exception: every prepare it holds is one it
// made itself and made durable, so its journal is its log, linked or not.
func (r *Replica) firstUnestablished() uint64 {
	assert(r.op >= r.commitMin, "the log reaches the executed prefix")
	for op := max(r.commitMin, r.commitMax) + 1; op <= r.op; op++ {
		if !r.journal.hasPrepare(op) || (!r.established(op) && r.opts.ReplicaCount > 1) {
			return op
		}
	}
	return 0
}

// established reports whether the entry the journal holds at op is one of
// the adopted log: linked to its head by the hash chain, or a prepare of
// the adopted log's view itself (the log of view v holds, at every op its
// primary prepared, that prepare: one per op per view), or an entry this
// replica vouches for as the primary that led the adopted log's view.
func (r *Replica) established(op uint64) bool {
	assert(op <= r.op, "established is asked of ops in the log")
	h := r.journal.header(op)
	if h == nil {
		return false
	}
	if op >= r.canonicalFloor() {
		return true
	}
	if !r.viewChange.installed {
		return false
	}
	logView := r.viewChange.dvcs[r.viewChange.best].logView
	return h.View == logView || (r.logView == logView && r.vouchesFor(op))
}

// vouchesFor reports whether this replica knows its entry at op to be of
// its log_view's log though no chain from the head reaches it (seed 301:
// ops nobody holds lie between). It does if it led log_view: it began that
// view from a complete, linked log whose head was log_op, and an entry of
// that log at or below log_op is never replaced while log_view stays (only
// removed, or written over by entries of the same log); a crash that lost
// a write leaves the slot blank or faulty, never an older entry of the op.
// Ops it executed need no vouching; a faulty slot's header may be either
// of two entries, so it vouches for none.
func (r *Replica) vouchesFor(op uint64) bool {
	assert(r.viewChange.installed, "a replica vouches for entries of a log it adopted")
	if r.primaryIndex(r.logView) != r.opts.Replica || op > r.logOp || op <= r.commitMin {
		return false
	}
	h := r.journal.header(op)
	assert(h == nil || h.Op == op, "the journal names an op's own entry")
	return h != nil && !r.journal.slotOf(op).faulty
}

// nacks reports whether a do_view_change proves its sender never held op
// with checksum: its journal has no unreadable slot, and its log ends below
// op, or names another prepare at op, or names op without ever having held
// its prepare.
func (r *Replica) nacks(d *dvcRecord, op uint64, checksum U128) bool {
	assert(d.present, "nacks of a do_view_change received")
	assert(op > r.commitMin, "a nack is of an op not executed here")
	if d.faulty {
		return false
	}
	if d.op < op {
		return true
	}
	for i := 0; i+HeaderSize <= len(d.headers) && !checksum.IsZero(); i += HeaderSize {
		h, err := DecodeHeader(d.headers[i : i+HeaderSize])
		if err == nil && h.Op == op && h.Checksum != checksum {
			return true
		}
	}
	if back := d.op - op; back < 128 {
		bits := d.nacks.Lo
		if back >= 64 {
			bits, back = d.nacks.Hi, back-64
		}
		return bits&(1<<back) != 0
	}
	return false // too far below the head to tell: no proof either way
}

// nackMask says, for the 128 ops from the head down, which prepares this
// replica never held though its log names them. A replaced disk's replica
// nacks nothing up to the head it learned at its first recovery.
func (r *Replica) nackMask() U128 {
	assert(r.status == StatusViewChange, "nacks are sent in a do_view_change")
	var m U128
	for back := uint64(0); back < 128 && back < r.op; back++ {
		if !r.journal.nackable(r.op-back) || r.op-back <= r.rejoinOp {
			continue
		}
		if back < 64 {
			m.Lo |= 1 << back
		} else {
			m.Hi |= 1 << (back - 64)
		}
	}
	return m
}

// truncateAbove removes ops above op from the log: they were never
// committed, or the chosen log would hold them.
func (r *Replica) truncateAbove(op uint64) {
	assert(op >= r.commitMin, "truncation never removes an executed op")
	for k := r.op; k > op; k-- {
		r.journal.remove(k)
	}
	if r.op > op {
		r.op = op
	}
	assert(r.op <= op, "nothing is left above the truncation")
	assert(r.journal.header(op+1) == nil, "the journal names nothing just above the truncation")
}

// installHeaders records a checked run of headers (from a do_view_change
// or start_view, whose head is already r.op) as entries of the log; bodies
// are fetched by repair.
func (r *Replica) installHeaders(body []byte) {
	for i := 0; i+HeaderSize <= len(body); i += HeaderSize {
		h, err := DecodeHeader(body[i : i+HeaderSize])
		assert(err == nil, "installHeaders of a checked run")
		assert(h.Op+uint64(i/HeaderSize) == r.op, "installHeaders of a run from the head down")
		if h.Op <= r.commitMin || !r.inWindow(h.Op) {
			break
		}
		r.installHeader(&h)
	}
}

// tryFinishViewChange: once the new primary holds every prepare of its log
// from the last executed op up, it makes log_view durable and starts the view.
func (r *Replica) tryFinishViewChange() {
	if r.status != StatusViewChange || !r.viewChange.installed {
		return
	}
	assert(r.IsPrimary(), "only the new primary adopts a log")
	if !r.logComplete() {
		r.truncateNacked()
		if !r.logComplete() {
			return
		}
	}
	if r.logView != r.view {
		r.logView, r.logOp = r.view, r.op
		r.super.persist()
	}
	if !r.viewDurable() {
		return // onDurable calls again
	}
	assert(r.logView == r.view, "the new primary's log is of its view")
	r.startViewAsPrimary()
}

func (r *Replica) startViewAsPrimary() {
	assert(r.status == StatusViewChange, "a view starts from a view change")
	assert(r.viewChange.installed, "a view starts once its log is adopted")
	assert(r.commitMax <= r.op, "every op known committed is in the new primary's log")
	r.enterNormal()
	r.pipeline.clear()
	for op := r.commitMax + 1; op <= r.op; op++ {
		h := r.journal.header(op)
		assert(h != nil, "every op of the new primary's log is in its journal")
		assert(r.journal.hasPrepare(op), "the new primary holds every uncommitted prepare")
		e := r.pipeline.push(op, h.Checksum)
		if r.journal.durable(op, h.Checksum) {
			e.oks |= 1 << r.opts.Replica
		}
		r.writePrepare(op)
	}
	assert(uint64(r.pipeline.count) == r.op-r.commitMax, "the pipeline holds ops (commit_max, op]")
	r.emitStatus()
	r.mark(MarkViewChangePrimary)
	for i := uint8(0); i < r.opts.ReplicaCount; i++ {
		if i != r.opts.Replica {
			r.sendStartView(i)
		}
	}
	r.commitJournal()
	r.commitPipeline()
	r.prepareQueued()
}

func (r *Replica) sendStartView(to uint8) {
	assert(r.status == StatusNormal, "start_view is sent in normal status")
	assert(r.IsPrimary(), "start_view is sent by the primary")
	assert(r.logView == r.view, "start_view carries a log of the view")
	body := r.appendLogHeaders(r.scratch[:0])
	h := Header{Command: CommandStartView, View: r.view, LogView: r.logView, Op: r.op,
		Commit: r.commitMax}
	h.SetLogHead(r.headChecksum())
	r.send(to, &h, body)
}

func (r *Replica) onRequestStartView(h *Header) {
	switch {
	case r.status != StatusNormal:
		r.drop(h.Command, "request_start_view while not normal")
		return
	case !r.IsPrimary():
		r.drop(h.Command, "request_start_view at a backup")
		return
	case h.View < r.view:
		r.dropStale(h.Command, "request_start_view of an older view")
		return
	case h.View > r.view:
		r.drop(h.Command, "request_start_view of a newer view")
		return
	}
	assert(r.status == StatusNormal, "start_view is resent in normal status")
	assert(r.IsPrimary(), "start_view is resent by the primary")
	assert(h.View == r.view, "start_view is resent for its own view")
	r.sendStartView(h.Replica)
}

// onStartView installs the new primary's log at a backup.
func (r *Replica) onStartView(h *Header, body []byte) {
	switch {
	case r.bugOn(BugIgnoreStartView):
		r.drop(h.Command, "deliberate bug: start_view ignored")
		return
	case h.View < r.view && !r.bugOldStartView():
		r.dropStale(h.Command, "start_view of an older view")
		return
	case h.View == r.view && r.status == StatusNormal:
		r.drop(h.Command, "start_view of the current view, already normal")
		return
	case h.Replica != r.primaryIndex(h.View):
		r.drop(h.Command, "start_view not from that view's primary")
		return
	}
	assert(h.View >= r.view, "a start_view is of this view or a newer one")
	assert(h.View > r.view || r.status != StatusNormal, "a start_view of this view is taken only outside normal status")
	assert(r.primaryIndex(h.View) != r.opts.Replica, "a start_view is taken by a backup of its view")
	r.installPrimaryLog(h, body)
}

// installPrimaryLog makes a primary's log (from a start_view, or a
// recovery_response) this backup's log in h.View, and goes normal.
func (r *Replica) installPrimaryLog(h *Header, body []byte) {
	if err := checkHeaderRun(body, h.Op, h.LogHead()); err != "" {
		r.violation(h.Command, h.Command.String()+" headers: "+err)
		return
	}
	if h.Op < r.commitMin {
		r.violation(h.Command, h.Command.String()+" log is shorter than an executed op")
		return
	}
	assert(h.Command == CommandStartView || h.Command == CommandRecoveryResponse, "a primary's log comes in a start_view or recovery_response")
	assert(h.View >= r.view, "a primary's log is of this view or a newer one")
	assert(r.primaryIndex(h.View) != r.opts.Replica, "a primary's log is installed at a backup")
	assert(h.Commit <= h.Op, "a primary's commit is in its log")
	r.view, r.logView = h.View, h.View
	r.viewChange.reset()
	r.pipeline.clear()
	r.queue.clear()
	r.truncateAbove(h.Op)
	r.op = h.Op
	r.logOp = h.Op
	r.installHeaders(body)
	r.commitMax = max(r.commitMax, min(h.Commit, h.Op))
	r.repairProgress.headOp, r.repairProgress.headChecksum = 0, U128{}
	r.journalFaulty = false
	if r.rejoin {
		r.mark(MarkRejoinRecovery)
		r.rejoin, r.rejoinOp = false, max(r.rejoinOp, h.Op)
	}
	r.enterNormal()
	assert(r.op == h.Op, "a backup's head is its primary's")
	assert(r.logOp == r.op, "a backup's log_op is its head")
	assert(!r.IsPrimary(), "the primary's log is installed at a backup")
	r.super.persist()
	r.emitStatus()
	if h.Command == CommandStartView {
		r.mark(MarkViewChangeBackup)
	}
	r.commitJournal()
	r.repair()
}

// onDurable runs when the superblock write completes: what waited for the
// view or log_view to be durable can go now.
func (r *Replica) onDurable() {
	assert(r.super.copiesLeft == 0, "onDurable once every copy is written")
	assert(!r.super.failed, "onDurable once the update landed")
	assert(r.super.durable.view <= r.view, "the durable view is not ahead of the view")
	if r.hook != nil {
		d := &r.super.durable
		r.emit(Event{Kind: EventDurable, Replica: r.opts.Replica, View: d.view, LogView: d.logView, Commit: d.commit})
	}
	if cp := r.durableCheckpoint(); cp != r.checkpoint.announced {
		assert(cp.op >= r.checkpoint.announced.op, "durable checkpoints advance")
		r.checkpoint.announced = cp
		r.stats.Checkpoints++
		r.mark(MarkCheckpointTaken)
		if r.hook != nil {
			r.emit(Event{Kind: EventCheckpoint, Replica: r.opts.Replica, View: r.view, Op: cp.op})
		}
		r.flushJournal()
		r.checkpointDue()
		r.commitJournal()
	}
	if r.checkpoint.deferred && !r.super.copiesBehind {
		r.checkpoint.deferred = false
		r.checkpointDue()
	}
	switch r.status {
	case StatusViewChange:
		r.checkStartViewChangeQuorum()
		r.tryFinishViewChange()
	case StatusNormal:
		r.sendPrepareOks()
	}
}

// retryViewChange resends this replica's part of a stalled view change.
func (r *Replica) retryViewChange() {
	assert(r.status == StatusViewChange, "a view change is retried during a view change")
	r.broadcast(&Header{Command: CommandStartViewChange, View: r.view}, nil)
	if r.viewChange.dvcSent && r.primaryIndex(r.view) != r.opts.Replica {
		r.sendDoViewChange()
	}
}
