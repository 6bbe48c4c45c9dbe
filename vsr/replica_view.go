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

func newViewChangeState(replicaCount uint8, messageSizeMax uint32) viewChangeState {
	var vc viewChangeState
	for i := range replicaCount {
		vc.dvcs[i].buffer = make([]byte, messageSizeMax)
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
	if view <= r.view && !(view == r.view && r.status == StatusNormal) {
		panic("vsr: view change to an older view")
	}
	r.view = view
	r.status = StatusViewChange
	r.vc.reset()
	r.vc.svcFrom = 1 << r.opts.Replica
	r.pipeline.clear()
	r.queue.clear()
	r.rep.headOp, r.rep.headChecksum = 0, U128{}
	r.stats.ViewChanges++
	t := &r.timers
	t.heartbeat.stop()
	t.prepareRetry.stop()
	t.abdicate.stop()
	t.primary.stop()
	t.viewChange.start(r.opts.ViewChangeTimeoutTicks + r.jitter())
	t.viewChangeRetry.start(r.opts.ViewChangeRetryTicks)
	r.super.persist()
	if r.hook != nil {
		r.hook(&Event{Kind: EventStatus, Replica: r.opts.Replica, Status: r.status, View: r.view,
			LogView: r.logView, Op: r.op, Commit: r.commitMin, Reason: reason})
	}
	r.broadcast(&Header{Command: CommandStartViewChange, View: view}, nil)
	r.checkStartViewChangeQuorum()
}

// jumpToView: a prepare or commit of a newer view shows this replica
// missed a view change; it joins that view and asks its primary for the log.
func (r *Replica) jumpToView(view uint32) {
	r.startViewChange(view, "message from a newer view")
	r.requestStartView()
}

func (r *Replica) requestStartView() {
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
		r.drop(h.Command, "start_view_change of an older view")
		return
	case h.View > r.view:
		r.startViewChange(h.View, "start_view_change from a peer")
	case r.status != StatusViewChange:
		r.drop(h.Command, "start_view_change of the current view, already normal")
		return
	}
	r.vc.svcFrom |= 1 << h.Replica
	r.checkStartViewChangeQuorum()
}

// checkStartViewChangeQuorum sends this replica's do_view_change once a
// view-change quorum wants the view and the view is durable here.
func (r *Replica) checkStartViewChangeQuorum() {
	if r.status != StatusViewChange || r.vc.dvcSent || !r.viewDurable() {
		return
	}
	if popCount(r.vc.svcFrom) < QuorumViewChange(int(r.opts.ReplicaCount)) {
		return
	}
	r.vc.dvcSent = true
	r.sendDoViewChange()
}

func (r *Replica) sendDoViewChange() {
	if r.logView >= r.view {
		panic("vsr: do_view_change with log_view not below view")
	}
	primary := r.primaryIndex(r.view)
	if primary == r.opts.Replica {
		r.recordDoViewChange(r.opts.Replica, r.logView, r.op, min(r.commitMax, r.op), r.journal.faultyCount > 0, r.nackMask(), nil)
		r.checkDoViewChangeQuorum()
		return
	}
	body := r.appendLogHeaders(r.scratch[:0])
	// A backup may know of commits beyond its own head (from a heartbeat);
	// the do_view_change reports only those within its log.
	h := Header{Command: CommandDoViewChange, View: r.view, LogView: r.logView, Op: r.op,
		Commit: min(r.commitMax, r.op), Context: r.headChecksum()}
	if r.journal.faultyCount > 0 {
		h.Request = 1
	}
	h.Client = r.nackMask()
	r.send(primary, &h, body)
}

// appendLogHeaders appends the headers of this replica's log from the head
// downward, as long as they chain, up to what a message can carry.
func (r *Replica) appendLogHeaders(dst []byte) []byte {
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
	return dst
}

func (r *Replica) onDoViewChange(h *Header, body []byte) {
	switch {
	case h.View < r.view:
		r.drop(h.Command, "do_view_change of an older view")
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
	if err := checkHeaderRun(body, h.Op, h.Context); err != "" {
		r.violation(h.Command, "do_view_change headers: "+err)
		return
	}
	r.vc.svcFrom |= 1 << h.Replica
	r.recordDoViewChange(h.Replica, h.LogView, h.Op, h.Commit, h.Request == 1, h.Client, body)
	r.checkStartViewChangeQuorum()
	r.checkDoViewChangeQuorum()
}

// checkHeaderRun checks a run of headers from a do_view_change or
// start_view: prepares from op downward, each the parent of the one
// before, the first with checksum head. It returns what is wrong, or "".
func checkHeaderRun(body []byte, op uint64, head U128) string {
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
		case i == 0 && (h.Op != op || h.Checksum != head):
			return "first header is not the head"
		case i > 0 && (h.Op+uint64(i/HeaderSize) != op || h.Checksum != parent):
			return "headers do not chain"
		}
		parent = h.Parent
	}
	return ""
}

func (r *Replica) recordDoViewChange(from uint8, logView uint32, op, commit uint64, faulty bool, nacks U128, body []byte) {
	d := &r.vc.dvcs[from]
	d.present, d.logView, d.op, d.commit, d.faulty, d.nacks = true, logView, op, commit, faulty, nacks
	d.headers = d.buffer[:copy(d.buffer, body)]
}

// checkDoViewChangeQuorum: with do_view_changes from a view-change quorum
// (its own included), the new primary adopts the log with the largest
// log_view, then the largest op, and the largest commit.
func (r *Replica) checkDoViewChangeQuorum() {
	if r.status != StatusViewChange || r.vc.installed || r.primaryIndex(r.view) != r.opts.Replica {
		return
	}
	count, best := 0, -1
	commit := r.commitMax
	for i := range int(r.opts.ReplicaCount) {
		d := &r.vc.dvcs[i]
		if !d.present {
			continue
		}
		count++
		commit = max(commit, d.commit)
		if r.opts.TestingBug == BugLongestLogWins && (best < 0 || d.op > r.vc.dvcs[best].op) {
			best = i
			continue
		}
		if best < 0 || d.logView > r.vc.dvcs[best].logView ||
			(d.logView == r.vc.dvcs[best].logView && d.op > r.vc.dvcs[best].op) {
			best = i
		}
	}
	if !r.vc.dvcs[r.opts.Replica].present || count < QuorumViewChange(int(r.opts.ReplicaCount)) {
		return
	}
	r.installLog(uint8(best), commit)
}

// installLog makes the chosen do_view_change's log this replica's log.
func (r *Replica) installLog(best uint8, commit uint64) {
	d := &r.vc.dvcs[best]
	if d.op < r.commitMin || commit > d.op {
		r.violation(CommandDoViewChange, "chosen log is shorter than a committed op")
		return
	}
	if best != r.opts.Replica {
		r.truncateAbove(d.op)
		r.op = d.op
		r.installHeaders(d.headers)
	}
	r.commitMax = max(r.commitMax, commit)
	r.vc.installed, r.vc.best = true, best
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
	op := r.firstMissingBody()
	if op == 0 || op <= r.commitMax {
		return
	}
	// The lowest op missing: if it never committed, nothing above it did.
	// The adopted log names it by its header if that is linked to the
	// head, or by the parent of the lowest linked op just above it; deeper
	// in a gap its checksum is unknown, and only nacks that need none count.
	floor := r.canonicalFloor()
	var checksum U128
	switch {
	case op >= floor && op <= r.op:
		checksum = r.journal.header(op).Checksum
	case op+1 == floor && floor <= r.op:
		checksum = r.journal.header(floor).Parent
	}
	nacks, who := 0, ""
	for i := range int(r.opts.ReplicaCount) {
		if d := &r.vc.dvcs[i]; d.present && r.nacks(d, op, checksum) {
			nacks++
			who += fmt.Sprintf(" r%d(op %d log_view %d)", i, d.op, d.logView)
		}
	}
	if nacks < int(r.opts.ReplicaCount)-QuorumReplication(int(r.opts.ReplicaCount))+1 {
		return
	}
	r.truncateAbove(op - 1)
	if r.hook != nil {
		r.hook(&Event{Kind: EventStatus, Replica: r.opts.Replica, Status: r.status, View: r.view, Op: r.op,
			Reason: fmt.Sprintf("truncated op %d and above: a nack quorum (%d) never held it:%s", op, nacks, who)})
	}
}

// firstMissingBody returns the lowest op above the executed prefix whose
// prepare (or header) this replica lacks, or 0.
func (r *Replica) firstMissingBody() uint64 {
	for op := r.commitMin + 1; op <= r.op; op++ {
		if !r.journal.hasPrepare(op) {
			return op
		}
	}
	return 0
}

// nacks reports whether a do_view_change proves its sender never held op
// with checksum: its journal has no unreadable slot, and its log ends below
// op, or names another prepare at op, or names op without ever having held
// its prepare.
func (r *Replica) nacks(d *dvcRecord, op uint64, checksum U128) bool {
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
// replica never held though its log names them.
func (r *Replica) nackMask() U128 {
	var m U128
	for back := uint64(0); back < 128 && back < r.op; back++ {
		if !r.journal.nackable(r.op - back) {
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
	for k := r.op; k > op; k-- {
		r.journal.remove(k)
	}
	if r.op > op {
		r.op = op
	}
}

// installHeaders records a checked run of headers (from a do_view_change
// or start_view, whose head is already r.op) as entries of the log; bodies
// are fetched by repair.
func (r *Replica) installHeaders(body []byte) {
	for i := 0; i+HeaderSize <= len(body); i += HeaderSize {
		h, err := DecodeHeader(body[i : i+HeaderSize])
		if err != nil || h.Op > r.op {
			panic("vsr: installHeaders of an unchecked run")
		}
		if h.Op <= r.commitMin || !r.inWindow(h.Op) {
			break
		}
		r.installHeader(&h)
	}
}

// tryFinishViewChange: once the new primary holds every prepare of its log
// from the last executed op up, it makes log_view durable and starts the view.
func (r *Replica) tryFinishViewChange() {
	if r.status != StatusViewChange || !r.vc.installed {
		return
	}
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
	r.startViewAsPrimary()
}

func (r *Replica) startViewAsPrimary() {
	r.enterNormal()
	r.pipeline.clear()
	for op := r.commitMax + 1; op <= r.op; op++ {
		h := r.journal.header(op)
		e := r.pipeline.push(op, h.Checksum)
		if r.journal.durable(op, h.Checksum) {
			e.oks |= 1 << r.opts.Replica
		}
		r.writePrepare(op)
	}
	r.emitStatus()
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
	if r.status != StatusNormal || !r.IsPrimary() {
		return
	}
	body := r.appendLogHeaders(r.scratch[:0])
	h := Header{Command: CommandStartView, View: r.view, LogView: r.logView, Op: r.op,
		Commit: r.commitMax, Context: r.headChecksum()}
	r.send(to, &h, body)
}

func (r *Replica) onRequestStartView(h *Header) {
	if r.status != StatusNormal || !r.IsPrimary() || h.View != r.view {
		r.drop(h.Command, "request_start_view not for this view's primary")
		return
	}
	r.sendStartView(h.Replica)
}

// onStartView installs the new primary's log at a backup.
func (r *Replica) onStartView(h *Header, body []byte) {
	switch {
	case r.opts.TestingBug == BugIgnoreStartView:
		r.drop(h.Command, "deliberate bug: start_view ignored")
		return
	case h.View < r.view && !(r.opts.TestingBug == BugOldStartView && r.status == StatusNormal):
		r.drop(h.Command, "start_view of an older view")
		return
	case h.View == r.view && r.status == StatusNormal:
		r.drop(h.Command, "start_view of the current view, already normal")
		return
	case h.Replica != r.primaryIndex(h.View):
		r.drop(h.Command, "start_view not from that view's primary")
		return
	}
	r.installPrimaryLog(h, body)
}

// installPrimaryLog makes a primary's log (from a start_view, or a
// recovery_response) this backup's log in h.View, and goes normal.
func (r *Replica) installPrimaryLog(h *Header, body []byte) {
	if err := checkHeaderRun(body, h.Op, h.Context); err != "" {
		r.violation(h.Command, h.Command.String()+" headers: "+err)
		return
	}
	if h.Op < r.commitMin {
		r.violation(h.Command, h.Command.String()+" log is shorter than an executed op")
		return
	}
	r.view, r.logView = h.View, h.View
	r.vc.reset()
	r.pipeline.clear()
	r.queue.clear()
	r.truncateAbove(h.Op)
	r.op = h.Op
	r.logOp = h.Op
	r.installHeaders(body)
	r.commitMax = max(r.commitMax, min(h.Commit, h.Op))
	r.rep.headOp, r.rep.headChecksum = 0, U128{}
	r.journalFaulty = false
	r.enterNormal()
	r.super.persist()
	r.emitStatus()
	r.commitJournal()
	r.repair()
}

// onDurable runs when the superblock write completes: what waited for the
// view or log_view to be durable can go now.
func (r *Replica) onDurable() {
	if r.hook != nil {
		d := &r.super.durable
		r.hook(&Event{Kind: EventDurable, Replica: r.opts.Replica, View: d.view, LogView: d.logView, Commit: d.commit})
	}
	if cp := r.durableCheckpoint(); cp != r.cp.announced {
		r.cp.announced = cp
		r.stats.Checkpoints++
		if r.hook != nil {
			r.hook(&Event{Kind: EventCheckpoint, Replica: r.opts.Replica, View: r.view, Op: cp.op})
		}
		r.flushJournal()
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
	r.broadcast(&Header{Command: CommandStartViewChange, View: r.view}, nil)
	if r.vc.dvcSent && r.primaryIndex(r.view) != r.opts.Replica {
		r.sendDoViewChange()
	}
}
