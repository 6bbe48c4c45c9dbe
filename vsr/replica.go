package vsr

import "fmt"

// Replica is one member of a cluster: a deterministic state machine in the
// manner of etcd's raft. It never does I/O; its inputs are Tick, Receive and
// StorageDone, and its outputs go to the Bus, the Storage and the EventHook
// it was built with. Everything it holds is allocated in NewReplica.
type Replica struct {
	opts    Options
	bus     Bus
	encoded EncodedBus // bus, if it implements EncodedBus; else nil
	// noted is the header handed to encoded: a copy in the replica, so that
	// the interface call does not move every sender's header to the heap.
	noted   Header
	storage Storage
	machine StateMachine
	random  Random
	hook    EventHook
	buffers *Buffers // may be nil
	event   Event    // the event being reported: one, reused, so reporting allocates nothing
	layout  Layout

	status  Status
	view    uint32
	logView uint32 // last view in which this replica's log was normal
	op      uint64 // head of the log
	// commitMin is the last op executed here; commitChecksum is its
	// prepare's checksum (the root's for op 0). commitMax is the highest op
	// known committed in the cluster.
	commitMin      uint64
	commitChecksum U128
	commitMax      uint64

	journal  journal
	clients  clientTable
	pipeline pipeline // primary: prepared, not yet committed
	queue    requestQueue
	// forwarded: the requests this replica forwarded to the primary lately,
	// as a backup.
	forwarded forwardedRing
	// timestamp of the latest prepare this replica made or executed, in
	// ticks of its primary's clock; commitTimestamp is the timestamp of
	// op commitMin. Prepares' timestamps only grow along the log, across
	// views too: a new primary stamps above the head it inherited.
	timestamp       uint64
	commitTimestamp uint64

	super          superblock
	viewChange     viewChangeState
	repairProgress repairState
	reread         rereadState
	checkpoint     checkpointState
	// logOp is the head of the log when logView was set (the superblock
	// keeps it): at open, entries above it from other views are stale.
	logOp uint64

	headerSectors   []headerSector
	headerSectorBuf []byte        // one sector: the headers-ring write being built
	barriers        []ringBarrier // ring writes the next superblock update waits for
	// headerSectorHeld: what headerSectorBuf holds (journal_ring_memo.go).
	headerSectorHeld headerSectorMemo

	open    *openState // non-nil while the data file is being read back
	openErr error
	// journalFaulty: the open found a slot that may hide an op above the
	// head the journal names (corruptAboveHead), an op of unknown contents
	// at or above it, or a head below the superblock's log_op. Until it
	// recovers from a primary, this replica's head may be understated, so
	// it must not join a view change on its own.
	journalFaulty bool
	// rejoin: the data file replaced a lost one and the replica has not yet
	// learned the log from a primary. rejoinOp is the head it learned then:
	// the lost disk may have acknowledged any op up to it, so those are
	// never nacked, whatever the journal holds now (both durable).
	rejoin   bool
	rejoinOp uint64
	recovery recoveryState

	markEvent Event // the event a mark reports, reused (marks.go)

	ticks   uint64 // this replica's clock
	timers  timers
	sendBuf []byte // MessageSizeMax bytes: outgoing messages are encoded here
	scratch []byte // MessageSizeMax bytes: batch bodies and header runs

	stats Stats
}

// Stats counts what a replica did; the simulator reports them.
type Stats struct {
	MessagesReceived uint64
	MessagesDropped  uint64
	MessagesSent     uint64
	Prepares         uint64 // prepares this replica created as primary
	Executed         uint64 // ops executed
	ViewChanges      uint64 // view changes started
	Evictions        uint64
	Violations       uint64
	RepairRequests   uint64
	StateTransfers   uint64
	Checkpoints      uint64 // checkpoints made durable
}

// Env is what a replica needs from its environment.
type Env struct {
	Bus          Bus
	Storage      Storage
	StateMachine StateMachine
	Random       Random
	Hook         EventHook // may be nil
	// Buffers, if set, lends the replica its large buffers; the
	// environment reclaims them once it discards the replica (Buffers).
	Buffers *Buffers
}

// rootChecksum stands for the checksum of op 0, the parent of op 1. It
// depends on the cluster so that logs of two clusters never chain.
func rootChecksum(cluster U128) U128 {
	var b [32]byte
	copy(b[:], "govsr root prepare")
	putU128(b[16:], cluster)
	sum := Checksum(b[:])
	assert(!sum.IsZero(), "the root checksum is not the zero that means none")
	return sum
}

// NewReplica returns a replica of a freshly formatted cluster (its data
// file holds what FormatDataFile returns): view 0, an empty log, status
// normal. A replica restarting from its data file uses OpenReplica.
func NewReplica(opts Options, env Env) (*Replica, error) {
	r, err := newReplica(opts, env)
	if err != nil {
		return nil, err
	}
	r.enterNormal()
	assert(r.view == 0, "a new cluster starts in view 0")
	assert(r.op == 0, "a new cluster starts with an empty log")
	return r, nil
}

func newReplica(opts Options, env Env) (*Replica, error) {
	opts = opts.withDefaults()
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if env.Bus == nil || env.Storage == nil || env.StateMachine == nil || env.Random == nil {
		return nil, fmt.Errorf("vsr: NewReplica: bus, storage, state machine and random are all required")
	}
	r := &Replica{
		opts: opts, bus: env.Bus, storage: env.Storage, machine: env.StateMachine,
		random: env.Random, hook: env.Hook, buffers: env.Buffers, layout: NewLayout(opts),
		status:   StatusNormal,
		journal:  newJournal(opts.JournalSlots, opts.MessageSizeMax, env.Buffers),
		clients:  newClientTable(opts.ClientsMax, opts.MessageSizeMax, env.Buffers),
		pipeline: newPipeline(opts.JournalSlots),
		queue:    newRequestQueue(opts.RequestQueueMax, opts.MessageSizeMax, env.Buffers),
		sendBuf:  env.Buffers.make(int(opts.MessageSizeMax)),
		scratch:  env.Buffers.make(int(opts.MessageSizeMax)),

		headerSectorBuf: make([]byte, SectorSize),
	}
	r.headerSectors = make([]headerSector, r.layout.headerSectors())
	r.encoded, _ = env.Bus.(EncodedBus)
	if size := r.checkpointSizeMax(); uint64(size) > opts.CheckpointSizeMax {
		return nil, fmt.Errorf("vsr: NewReplica: a checkpoint can take %d bytes (%d clients of %d-byte replies and a "+
			"%d-byte snapshot), more than checkpoint size max %d", size, opts.ClientsMax, opts.MessageSizeMax,
			r.machine.SnapshotSizeMax(), opts.CheckpointSizeMax)
	}
	r.commitChecksum = rootChecksum(opts.Cluster)
	r.super = newSuperblock(&r.opts, &r.layout, r.storage, r, r.commitChecksum)
	r.viewChange = newViewChangeState(opts.ReplicaCount, opts.MessageSizeMax, env.Buffers)
	r.timers = newTimers(&opts)
	r.checkpoint.written = r.super.durable.checkpoint
	assert(len(r.journal.slots) == opts.JournalSlots, "the journal has a slot per journal slot")
	assert(r.layout.JournalSlots == uint64(opts.JournalSlots), "the layout has a slot per journal slot")
	assert(len(r.pipeline.entries) >= opts.PipelineMax, "the pipeline ring holds a full pipeline")
	assert(uint64(len(r.headerSectors))*headersPerSector >= r.layout.JournalSlots, "the ring has a header per slot")
	return r, nil
}

// Options returns the options the replica runs with, defaults filled in.
func (r *Replica) Options() Options { return r.opts }

// Status, View, LogView, Op, CommitMin and CommitMax expose the replica's
// position for tests and the simulator's checkers.
func (r *Replica) Status() Status { return r.status }
func (r *Replica) View() uint32   { return r.view }

// Clock is the replica's clock, in ticks since it started: the least
// timestamp it may give a prepare it makes (StateMachine.Apply is promised
// the primary's time).
func (r *Replica) Clock() uint64     { return r.ticks }
func (r *Replica) LogView() uint32   { return r.logView }
func (r *Replica) Op() uint64        { return r.op }
func (r *Replica) CommitMin() uint64 { return r.commitMin }
func (r *Replica) CommitMax() uint64 { return r.commitMax }
func (r *Replica) Stats() Stats      { return r.stats }
func (r *Replica) Index() uint8      { return r.opts.Replica }
func (r *Replica) Digest() U128      { return r.stateDigest() } // state machine and client table
func (r *Replica) Sessions() int     { return r.clients.count() }
func (r *Replica) IsPrimary() bool   { return r.primaryIndex(r.view) == r.opts.Replica }

func (r *Replica) primaryIndex(view uint32) uint8 {
	return uint8(view % uint32(r.opts.ReplicaCount))
}

// Tick advances the replica's clock by one tick (10 ms of its own time)
// and fires whatever timeouts are due.
func (r *Replica) Tick() {
	r.tick()
	r.assertInvariants()
}

func (r *Replica) tick() {
	if r.open != nil || r.openErr != nil {
		return
	}
	r.ticks++
	t := &r.timers
	switch {
	case r.status == StatusNormal && r.IsPrimary():
		if t.heartbeat.tick() {
			r.sendCommit()
		}
		if t.prepareRetry.tick() {
			r.retryPrepares()
		}
		if t.abdicate.tick() {
			r.abdicate()
			return
		}
	case r.status == StatusNormal:
		if t.primary.tick() {
			r.startViewChange(r.view+1, "primary timeout")
			return
		}
	case r.status == StatusRecovering:
		r.tickRecovering()
		return
	case r.status == StatusViewChange:
		if t.viewChange.tick() {
			r.mark(MarkViewChangeTimeout)
			r.startViewChange(r.view+1, "view change timeout")
			return
		}
		if t.viewChangeRetry.tick() {
			r.retryViewChange()
		}
	default:
		panic("vsr: tick: unknown status")
	}
	if t.repair.tick() {
		r.repair()
	}
}

// Receive handles one message from the network. The bytes are only read
// during the call. A message that is malformed, misdirected, stale or
// unexpected is counted and dropped; none can make the replica panic.
func (r *Replica) Receive(message []byte) {
	r.receive(message)
	r.assertInvariants()
}

func (r *Replica) receive(message []byte) {
	r.stats.MessagesReceived++
	h, body, err := Decode(message, r.opts.MessageSizeMax)
	if err != nil {
		r.dropErr(CommandReserved, err)
		return
	}
	if r.open != nil || r.openErr != nil {
		r.drop(h.Command, "data file not open")
		return
	}
	if h.Cluster != r.opts.Cluster {
		r.drop(h.Command, "other cluster")
		return
	}
	if h.Command != CommandRequest && h.Command != CommandReply && h.Command != CommandEviction {
		// A prepare names the primary that made it, not the sender: repair
		// may bring back one this replica made in an earlier view.
		self := h.Replica == r.opts.Replica && h.Command != CommandPrepare
		if h.Replica >= r.opts.ReplicaCount || self {
			r.drop(h.Command, "sender is not a peer replica")
			return
		}
	}
	assert(r.open == nil, "messages are handled only once the data file is open")
	assert(h.Cluster == r.opts.Cluster, "a message handled is of this cluster")
	assert(int(h.Size) <= len(message), "a decoded message lies within the bytes received")
	r.dispatch(&h, body, message[:h.Size])
}

// answeredWhileRecovering reports whether a recovering replica handles a
// message of this command: its recovery's answers, and requests for what
// its journal holds. A view change may need a prepare that only a
// recovering replica still holds, and that replica may be waiting for the
// view to form before it can recover (seed 1005364: a stall of 200 views).
// Serving it is safe: the asker takes only a prepare its log names by
// checksum, and only headers that extend its hash chain.
func answeredWhileRecovering(c Command) bool {
	return c == CommandRecoveryResponse || c == CommandRequestPrepare || c == CommandRequestHeaders
}

func (r *Replica) dispatch(h *Header, body, message []byte) {
	assert(len(body) == len(message)-HeaderSize, "the body is the message after its header")
	if r.status == StatusRecovering && !answeredWhileRecovering(h.Command) {
		// Recovering, a replica takes no part in the protocol until it
		// knows the current view.
		r.drop(h.Command, "recovering")
		return
	}
	switch h.Command {
	case CommandRequest:
		r.onRequest(h, body, message)
	case CommandPrepare:
		r.onPrepare(h, message)
	case CommandPrepareOk:
		r.onPrepareOk(h)
	case CommandCommit:
		r.onCommit(h)
	case CommandStartViewChange:
		r.onStartViewChange(h)
	case CommandDoViewChange:
		r.onDoViewChange(h, body)
	case CommandStartView:
		r.onStartView(h, body)
	case CommandRequestStartView:
		r.onRequestStartView(h)
	case CommandRequestPrepare:
		r.onRequestPrepare(h)
	case CommandRequestHeaders:
		r.onRequestHeaders(h)
	case CommandHeaders:
		r.onHeaders(h, body)
	case CommandRecovery:
		r.onRecovery(h)
	case CommandRecoveryResponse:
		r.onRecoveryResponse(h, body)
	case CommandRequestCheckpoint:
		r.onRequestCheckpoint(h)
	case CommandCheckpoint:
		r.onCheckpoint(h, body)
	default:
		assert(h.Command == CommandReply || h.Command == CommandEviction, "dispatch knows every replica command")
		r.drop(h.Command, "for clients, not replicas")
	}
}

// send encodes h with body into the send buffer and hands it to the bus.
func (r *Replica) send(to uint8, h *Header, body []byte) {
	assert(to != r.opts.Replica, "a replica does not send to itself")
	assert(to < r.opts.ReplicaCount, "a replica sends to a replica of its cluster")
	assert(h.View == r.view, "a replica speaks in its own view")
	n := r.encode(h, body)
	r.noteEncoded(h, r.sendBuf[:n])
	r.stats.MessagesSent++
	r.bus.SendToReplica(to, r.sendBuf[:n])
}

// broadcast sends h with body to every other replica.
func (r *Replica) broadcast(h *Header, body []byte) {
	assert(h.View == r.view, "a replica speaks in its own view")
	r.broadcastEncoded(h, r.encode(h, body))
}

// broadcastEncoded sends the message encoded for h in r.sendBuf[:n] to
// every other replica.
func (r *Replica) broadcastEncoded(h *Header, n int) {
	assert(n == int(h.Size), "a broadcast message is as long as its header says")
	assert(getU128(r.sendBuf[offChecksum:]) == h.Checksum, "the send buffer holds the broadcast header")
	r.noteEncoded(h, r.sendBuf[:n])
	for i := uint8(0); i < r.opts.ReplicaCount; i++ {
		if i != r.opts.Replica {
			r.stats.MessagesSent++
			r.bus.SendToReplica(i, r.sendBuf[:n])
		}
	}
}

// noteEncoded hands an EncodedBus the header of a message about to be
// sent: h is what Encode wrote, or what Decode read, into message.
func (r *Replica) noteEncoded(h *Header, message []byte) {
	if r.encoded != nil {
		assert(len(message) == int(h.Size), "an encoded header comes with its whole message")
		r.noted = *h
		r.encoded.Encoded(&r.noted, message)
	}
}

func (r *Replica) encode(h *Header, body []byte) int {
	h.Cluster = r.opts.Cluster
	h.Replica = r.opts.Replica
	n, err := Encode(r.sendBuf, h, body)
	if err != nil {
		panic("vsr: replica built an invalid " + h.Command.String() + ": " + err.Error())
	}
	assert(n == HeaderSize+len(body), "an encoded message is its header and body")
	return n
}

// emit reports e through the hook, which must be set. The hook sees the
// replica's one Event, valid only during the call (EventHook).
func (r *Replica) emit(e Event) {
	assert(r.hook != nil, "an event is emitted to a hook")
	assert(e.Kind != 0 && e.Kind < eventKindCount, "an event of a known kind")
	r.event = e
	r.hook(&r.event)
	r.event = Event{} // keeps no alias of the journal (Prepare) past the call
}

func (r *Replica) drop(c Command, reason string) {
	assert(c.Valid(), "a dropped message was decoded")
	assert(reason != "", "a drop says why")
	r.stats.MessagesDropped++
	if r.hook != nil {
		r.emit(Event{Kind: EventDropped, Replica: r.opts.Replica, View: r.view, Command: c, Reason: reason})
	}
}

func (r *Replica) dropErr(c Command, err error) {
	assert(err != nil, "a drop says why")
	r.stats.MessagesDropped++
	if r.hook != nil {
		r.emit(Event{Kind: EventDropped, Replica: r.opts.Replica, View: r.view, Command: c, Reason: err.Error()})
	}
}

// violation reports a peer's message that only a bug (here or there) can
// explain; the simulator fails the run on it.
func (r *Replica) violation(c Command, reason string) {
	assert(c.Valid(), "a violation names a protocol command")
	assert(reason != "", "a violation says why")
	r.stats.Violations++
	r.stats.MessagesDropped++
	if r.hook != nil {
		r.emit(Event{Kind: EventViolation, Replica: r.opts.Replica, View: r.view, Command: c, Reason: reason})
	}
}

func (r *Replica) emitStatus() {
	assert(r.status == StatusNormal || r.status == StatusViewChange || r.status == StatusRecovering, "a known status")
	if r.hook != nil {
		r.emit(Event{Kind: EventStatus, Replica: r.opts.Replica, Status: r.status, View: r.view,
			LogView: r.logView, Op: r.op, Commit: r.commitMin})
	}
}

// jitter returns a random extra delay in [0, JitterTicks].
func (r *Replica) jitter() int {
	j := int(r.random.Uint64() % uint64(r.opts.JitterTicks+1))
	assert(j >= 0, "jitter is a delay")
	assert(j <= r.opts.JitterTicks, "jitter is bounded")
	return j
}

// assertInvariants checks, after every input, the invariants the rest of
// the code relies on. They are cheap (no loops over the log), so they stay
// on in production: a replica that breaks one stops rather than corrupts.
func (r *Replica) assertInvariants() {
	if msg := r.invariantViolation(); msg != "" {
		panic("vsr: replica " + fmt.Sprint(r.opts.Replica) + ": " + msg)
	}
	r.assertRoles()
	if r.open == nil && r.openErr == nil {
		r.assertDurableState()
	}
}

// assertRoles checks what status and role imply of the log and the
// pipeline: a replica is normal only in the view its log is of, and only a
// normal primary holds prepares or requests of its own, ops (commit_max, op].
func (r *Replica) assertRoles() {
	assert(r.status != StatusNormal || r.logView == r.view, "a normal replica's log is of its view")
	primary := r.status == StatusNormal && r.IsPrimary()
	assert(primary || r.pipeline.empty(), "only a normal primary holds a pipeline")
	assert(primary || r.queue.count == 0, "only a normal primary queues requests")
	assert(r.pipeline.count <= len(r.pipeline.entries), "the pipeline holds at most its ring")
	assert(r.journal.faultyCount >= 0, "faulty slots are counted")
	assert(r.journal.faultyCount <= len(r.journal.slots), "faulty slots are counted once")
	assert(r.commitTimestamp <= r.timestamp, "the clock of the log is not behind what executed")
	if primary && !r.pipeline.empty() {
		assert(r.pipeline.at(0).op == r.commitMax+1, "the pipeline starts just above commit_max")
		assert(r.pipeline.at(r.pipeline.count-1).op == r.op, "the pipeline ends at the head")
	}
}

// assertDurableState checks how the durable state relates to the state in
// memory once the data file is open: the checkpoint is of an executed op,
// and what is durable is not ahead of what the replica holds.
func (r *Replica) assertDurableState() {
	durable := &r.super.durable
	assert(durable.view <= r.view, "the durable view is not ahead of the view")
	assert(durable.logView <= r.logView, "the durable log_view is not ahead of the log_view")
	assert(durable.checkpoint.op <= r.checkpoint.written.op, "the durable checkpoint is one that was written")
	assert(r.checkpoint.written.op <= r.commitMin, "a written checkpoint is of an executed op")
	assert(!r.checkpoint.inFlight || r.checkpoint.writing.op <= r.commitMin, "a checkpoint being written is of an executed op")
	assert(durable.sequence <= r.super.last.sequence, "the durable superblock is one submitted")
	assert(!r.rejoin || r.journalFaulty, "a replaced disk's journal is faulty until a primary supplies the log")
}

func (r *Replica) invariantViolation() string {
	switch {
	case r.commitMin > r.commitMax:
		return fmt.Sprintf("commit_min %d above commit_max %d", r.commitMin, r.commitMax)
	case r.commitMin > r.op:
		return fmt.Sprintf("commit_min %d above op %d", r.commitMin, r.op)
	case r.op > r.commitMin && r.journal.header(r.op) == nil:
		return fmt.Sprintf("head op %d not in the journal", r.op)
	case r.logView > r.view:
		return fmt.Sprintf("log_view %d above view %d", r.logView, r.view)
	case r.status == StatusViewChange && r.logView == r.view && !r.viewChange.installed:
		// Only a new primary that adopted its log and waits for log_view
		// to be durable is in view change with log_view = view.
		return fmt.Sprintf("view change with log_view %d equal to view", r.logView)
	case r.super.durable.view > r.view:
		return fmt.Sprintf("durable view %d above view %d", r.super.durable.view, r.view)
	case r.status == StatusNormal && r.IsPrimary() && uint64(r.pipeline.count) != r.op-r.commitMax:
		return fmt.Sprintf("primary pipeline holds %d ops, log has %d uncommitted", r.pipeline.count, r.op-r.commitMax)
	case r.status == StatusNormal && r.IsPrimary() && r.commitMin != r.commitMax && r.commitMin+1 <= r.journalLimit():
		// A new primary whose durable checkpoint lags may wait for its next
		// checkpoint before it executes what it inherited committed.
		return fmt.Sprintf("primary executed to %d of %d committed", r.commitMin, r.commitMax)
	case r.op-r.commitMin >= uint64(r.opts.JournalSlots) && r.status == StatusNormal && r.IsPrimary():
		return fmt.Sprintf("primary log %d ops beyond execution, journal holds %d", r.op-r.commitMin, r.opts.JournalSlots)
	}
	return ""
}
