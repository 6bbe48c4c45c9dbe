package vsr

import (
	"errors"
	"fmt"
)

// Opening a data file after a restart: read every superblock copy and
// take the newest valid one; read the headers ring and every journal slot
// and classify each slot; restore the checkpoint; replay the ops this
// replica had executed; then recover (replica_recovery.go).

// SlotClass is what the open found in a journal slot, comparing the
// redundant header in the headers ring with the prepare in the slot
// (Protocol-Aware Recovery, FAST'18).
type SlotClass uint8

// Slot classes.
const (
	SlotBlank   SlotClass = iota + 1 // never written
	SlotValid                        // a valid prepare (whose header the ring holds, or an older one)
	SlotTorn                         // the ring names an op whose prepare is corrupt here: repair it
	SlotMissing                      // the ring names an op whose prepare never landed (an older op is there): repair it
	SlotCorrupt                      // neither copy is valid: the op is unknown, and never presumed absent
	// SlotAmbiguous: the op is known but not which prepare it holds: both
	// copies are valid for the op with different checksums, and nothing
	// says which is newer (a view change may install an older view's entry
	// over a newer one). Repair it; never nack it, never take it as the head.
	SlotAmbiguous
	// SlotUnconfirmed: a valid prepare whose ring copy is corrupt. At the
	// head it is the prepare whose ring write a crash tore: it stays. Below
	// the head the ring may have named a replacement: it is ambiguous.
	SlotUnconfirmed
	slotClassCount
)

func (c SlotClass) String() string {
	names := [slotClassCount]string{"?", "blank", "valid", "torn", "missing", "corrupt", "ambiguous", "unconfirmed"}
	if c < slotClassCount {
		return names[c]
	}
	return "?"
}

// logPosition is what the durable superblock says of the log: log_view and
// log_op, the head of the log when log_view was set. An entry of view
// log_view above log_op was prepared in that view after it began, so no
// view change has replaced it since.
type logPosition struct {
	view uint32
	op   uint64
}

// current reports whether h is an entry of the log_view's own primary made
// after the view began: at its op, nothing can have replaced it.
func (l logPosition) current(h *Header) bool { return h.View == l.view && h.Op > l.op }

// ClassifySlot decides what journal slot slot holds from the header the
// headers ring has for it and the slot's bytes, given the durable log
// position. It returns the header the log should record (for every class
// but blank and corrupt) and, for a valid or unconfirmed slot, the prepare
// message (aliasing prepare).
func ClassifySlot(slot, slots uint64, ringHeader, prepare []byte, sizeMax uint32, logView uint32, logOp uint64) (SlotClass, Header, []byte) {
	ring, ringErr := DecodeHeader(ringHeader)
	return classifySlot(slot, slots, &ring, ringErr, ringHeader, prepare, sizeMax, logView, logOp)
}

// classifySlot is ClassifySlot given the ring header already decoded
// (ringDecoded, hErr: DecodeHeader(ringHeader)): the open keeps that decode
// for restoreSlot.
func classifySlot(slot, slots uint64, ringDecoded *Header, hErr error, ringHeader, prepare []byte, sizeMax uint32,
	logView uint32, logOp uint64) (SlotClass, Header, []byte) {
	assert(slots > 0, "a journal has slots")
	assert(slot < slots, "a slot of the journal")
	log := logPosition{view: logView, op: logOp}
	h := *ringDecoded
	hOK := hErr == nil && h.Command == CommandPrepare && h.Op%slots == slot
	hBlank := allZero(ringHeader)
	p, _, pErr := Decode(prepare, sizeMax)
	pOK := pErr == nil && p.Command == CommandPrepare && p.Op%slots == slot
	var message []byte
	if pOK {
		message = prepare[:p.Size]
	}
	switch {
	case hOK && pOK && p.Checksum == h.Checksum:
		return SlotValid, p, message
	case hOK && pOK && p.Op == h.Op:
		return classifyDisagreement(log, &h, &p, message)
	case hOK && pOK && p.Op > h.Op:
		return SlotValid, p, message // the header's write was lost: the prepare is a later lap
	case hOK && staleEntry(&h, logView, logOp) && !allZero(prepare):
		return classifyUnderStaleRing(log, &p, pOK, message)
	case hOK && pOK:
		return SlotMissing, h, nil // the prepare's write was lost: an older op is still there
	case hOK && allZero(prepare):
		return SlotMissing, h, nil
	case hOK:
		return SlotTorn, h, nil
	case pOK && hBlank:
		return SlotValid, p, message // the ring's copy was never written; the prepare proves itself
	case pOK && log.current(&p):
		return SlotValid, p, message
	case pOK:
		return SlotUnconfirmed, p, message
	case hBlank:
		// Never a durable prepare here: a prepare counts as durable only
		// once its header is in the ring, so a torn first write of the
		// slot lost nothing anyone was told.
		return SlotBlank, Header{}, nil
	}
	return SlotCorrupt, Header{}, nil
}

// classifyDisagreement decides a slot whose two copies are valid for the
// same op with different checksums. Only an entry made in the current
// log_view after it began is known to be the newer; otherwise the slot is
// ambiguous (comparing views would be wrong: a view change installs the
// canonical entry, which may be of an older view than the one it replaces).
func classifyDisagreement(log logPosition, ring, prepare *Header, message []byte) (SlotClass, Header, []byte) {
	assert(ring.Op == prepare.Op, "the two copies name one op")
	assert(ring.Checksum != prepare.Checksum, "the two copies disagree")
	switch {
	case log.current(prepare):
		return SlotValid, *prepare, message // the ring write of this view's prepare was lost
	case log.current(ring):
		return SlotMissing, *ring, nil // this view's prepare never landed over an older entry
	}
	return SlotAmbiguous, *ring, nil
}

// classifyUnderStaleRing decides a slot whose ring copy names an entry the
// durable log never reached (a start_view's header written over the slot
// before its view's superblock landed; seed 7001192) and whose prepare is
// not that entry's: the prepare is an older lap's, perhaps acknowledged,
// and the ring no longer says which entry of its op the log had there.
// Only an entry of the log_view's own primary is known; otherwise the slot
// is ambiguous (faulty: never nacked). A torn prepare may have been the
// op's: its op is unknown.
func classifyUnderStaleRing(log logPosition, prepare *Header, pOK bool, message []byte) (SlotClass, Header, []byte) {
	assert(!pOK || prepare.Command == CommandPrepare, "a valid prepare under a stale ring header")
	switch {
	case pOK && log.current(prepare):
		return SlotValid, *prepare, message
	case pOK:
		return SlotAmbiguous, *prepare, nil
	}
	return SlotCorrupt, Header{}, nil
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// openState holds the reads of an open in progress.
type openState struct {
	phase         openPhase
	pending       int
	supers        [SuperblockCopies][]byte
	superErr      [SuperblockCopies]error
	headers       []byte   // the whole headers ring
	prepares      [][]byte // each journal slot
	readErr       []bool   // per slot: its read failed
	sectorErr     []bool   // per header sector: its read failed
	checkpoint    []byte
	checkpointErr error
	chosen        superblockState
	classes       [slotClassCount]int
}

type openPhase uint8

const (
	openSuperblock openPhase = iota + 1
	openJournal
	openCheckpoint
)

// ErrOpen wraps every reason a data file cannot be opened.
var ErrOpen = errors.New("vsr: open")

// OpenReplica starts a replica from its data file after a restart. The
// open itself is asynchronous, like all storage: the replica reads through
// env.Storage and becomes able to recover once the reads complete. Until
// then it drops messages and ignores ticks. OpenError reports a data file
// that cannot be used (another cluster's or replica's, or no valid
// superblock copy).
func OpenReplica(opts Options, env Env) (*Replica, error) {
	r, err := newReplica(opts, env)
	if err != nil {
		return nil, err
	}
	r.status = StatusRecovering
	r.open = &openState{phase: openSuperblock}
	for i := range uint64(SuperblockCopies) {
		r.open.supers[i] = make([]byte, SectorSize)
		r.open.pending++
		r.storage.Read(r.layout.superblockOffset(i), r.open.supers[i], tag(tagReadSuper, i))
	}
	assert(r.open.pending == SuperblockCopies, "the open reads every superblock copy")
	return r, nil
}

// OpenError reports why the data file could not be opened, or nil.
func (r *Replica) OpenError() error { return r.openErr }

// Opening reports whether the replica is still reading its data file.
func (r *Replica) Opening() bool { return r.open != nil }

func (r *Replica) readDone(kind, index uint64, err error) {
	o := r.open
	assert(o != nil, "a read completes during an open")
	assert(o.pending > 0, "a read completes a read in flight")
	switch kind {
	case tagReadSuper:
		o.superErr[index] = err
	case tagReadHeaders:
		o.sectorErr[index] = err != nil
	case tagReadPrepare:
		o.readErr[index] = err != nil
	case tagReadCheckpoint:
		assert(o.phase == openCheckpoint, "the checkpoint is read in its phase")
		o.checkpointErr = err
	}
	o.pending--
	if o.pending > 0 {
		return
	}
	switch o.phase {
	case openSuperblock:
		r.openSuperblockDone()
	case openJournal:
		r.openJournalDone()
	case openCheckpoint:
		r.openCheckpointDone()
	default:
		panic("vsr: read completion in an unknown open phase")
	}
}

func (r *Replica) openFail(err error) {
	assert(err != nil, "an open fails for a reason")
	assert(r.open != nil, "an open fails while opening")
	r.openErr = fmt.Errorf("%w: replica %d: %w", ErrOpen, r.opts.Replica, err)
	r.open = nil
	if r.hook != nil {
		r.emit(Event{Kind: EventViolation, Replica: r.opts.Replica, Reason: r.openErr.Error()})
	}
}

// superblockCopiesAgree reports whether every superblock copy the open
// read is valid and names the chosen copy's checkpoint.
func (r *Replica) superblockCopiesAgree() bool {
	o := r.open
	assert(o.phase == openSuperblock, "copies are compared while the superblock is read")
	for i := range SuperblockCopies {
		if o.superErr[i] != nil {
			return false
		}
		s, err := decodeSuperblock(o.supers[i], &r.opts)
		if err != nil || s.checkpoint != o.chosen.checkpoint {
			return false
		}
	}
	return true
}

// openSuperblockDone picks the newest valid superblock copy and reads the
// journal.
func (r *Replica) openSuperblockDone() {
	o := r.open
	assert(o.phase == openSuperblock, "the superblock phase ends once")
	assert(o.pending == 0, "every superblock copy was read")
	found := false
	var firstErr error
	for i := range SuperblockCopies {
		if o.superErr[i] != nil {
			r.super.faultyAtOpen = true
			continue
		}
		s, err := decodeSuperblock(o.supers[i], &r.opts)
		if errors.Is(err, errNotSuperblock) {
			r.super.faultyAtOpen = true
		}
		if err != nil {
			if !errors.Is(err, errNotSuperblock) && firstErr == nil {
				firstErr = err
			}
			continue
		}
		if !found || (s.sequence > o.chosen.sequence && !r.bugFirstSuperblockCopy()) {
			o.chosen, found = s, true
			r.super.lastChecksum = getU128(o.supers[i][0:])
		}
	}
	if firstErr != nil {
		r.openFail(firstErr) // a valid superblock of someone else: refuse the file
		return
	}
	if !found {
		r.openFail(errors.New("no valid superblock copy: the data file is not formatted or all copies are damaged"))
		return
	}
	r.super.durable, r.super.last = o.chosen, o.chosen
	r.super.copiesBehind = !r.superblockCopiesAgree()
	r.view, r.logView, r.logOp = o.chosen.view, o.chosen.logView, o.chosen.logOp
	r.rejoin, r.rejoinOp = o.chosen.rejoin && !r.bugIgnoreRejoin(), o.chosen.rejoinOp
	if r.super.faultyAtOpen {
		r.mark(MarkSuperblockCopyFaulty)
	}
	if r.rejoin {
		r.mark(MarkDiskReplaced)
	}
	r.checkpoint.written = o.chosen.checkpoint
	o.phase = openJournal
	slots := uint64(r.opts.JournalSlots)
	o.headers = r.buffers.makeForRead(int(r.layout.headerSectors() * SectorSize))
	o.sectorErr = make([]bool, r.layout.headerSectors())
	for s := range r.layout.headerSectors() {
		o.pending++
		r.storage.Read(r.layout.headerSectorOffset(s), o.headers[s*SectorSize:(s+1)*SectorSize], tag(tagReadHeaders, s))
	}
	o.prepares = make([][]byte, slots)
	o.readErr = make([]bool, slots)
	for i := range slots {
		o.prepares[i] = r.buffers.makeForRead(int(r.layout.PrepareSlotSize))
		o.pending++
		r.storage.Read(r.layout.prepareOffset(i), o.prepares[i], tag(tagReadPrepare, i))
	}
}

// openedSlot is one journal slot as the open classified it.
type openedSlot struct {
	class   SlotClass
	header  Header
	message []byte
	ring    []byte
	// ringSum is the checksum of the ring copy if it decodes (ringDecodes).
	ringSum     U128
	ringDecodes bool
}

// openJournalDone classifies every slot and rebuilds the journal, then
// reads the checkpoint.
func (r *Replica) openJournalDone() {
	o := r.open
	assert(o.phase == openJournal, "the journal phase ends once")
	assert(r.op == 0, "the head is learned from the journal")
	found := r.classifySlots()
	head := openedHead(found, r.logView, r.logOp)
	for i := range found {
		f := &found[i]
		if f.class == SlotUnconfirmed {
			f.class = resolveUnconfirmed(f, head)
		}
		f.class = r.bugCorruptSlotBlank(f.class)
		assert(f.class != SlotUnconfirmed, "every slot is decided")
		o.classes[f.class]++
		r.restoreSlot(uint64(i), f)
	}
	assert(r.op <= max(head.confirmed, head.unconfirmed), "the head is the highest op the journal names")
	// A slot whose op is known but not its contents, at or above every
	// entry the journal names, hides the head: as with a corrupt slot, the
	// log must come from a primary.
	r.journalFaulty = r.corruptAboveHead(found) || r.rejoin || head.ambiguousAbove(r.op)
	if o.classes[SlotCorrupt] > 0 {
		r.mark(MarkOpenSlotCorrupt)
	}
	if o.classes[SlotAmbiguous] > 0 {
		r.mark(MarkOpenSlotAmbiguous)
	}
	o.prepares, o.headers = nil, nil
	cp := o.chosen.checkpoint
	if cp.checksum.IsZero() {
		r.openCheckpointDone()
		return
	}
	o.phase = openCheckpoint
	o.checkpoint = r.buffers.makeForRead(int(sectorCeil(cp.size)))
	o.pending++
	r.storage.Read(r.layout.checkpointOffset(cp.area), o.checkpoint, tag(tagReadCheckpoint, uint64(cp.area)))
}

// corruptAboveHead reports whether a slot the open could not read at all
// may hide an op above the head the journal names, so that the head is
// unknown until a primary supplies the log. The journal writes no op above
// journalLimit, the durable checkpoint's op plus the slots; so a corrupt
// slot whose one op in (checkpoint, checkpoint + slots] is at or below the
// head holds an entry of the log below it, or an older lap: the replica
// may take part in view changes, that slot faulty, never nacked
// (TigerBeetle's op_head_certain). The bound holds only if the superblock
// copy chosen is at least the newest durable one: with a copy unreadable
// or not a superblock, every corrupt slot hides the head.
func (r *Replica) corruptAboveHead(found []openedSlot) bool {
	o := r.open
	assert(o != nil && o.phase == openJournal, "the head is judged while the journal is opened")
	slots := uint64(len(found))
	assert(slots == uint64(r.opts.JournalSlots), "every slot was classified")
	cp := o.chosen.checkpoint.op
	for i := range found {
		if found[i].class != SlotCorrupt {
			continue
		}
		if r.super.faultyAtOpen {
			return true
		}
		if reachableOp(uint64(i), slots, cp) > r.op {
			return true
		}
	}
	return false
}

// reachableOp returns the one op of slot in (checkpoint, checkpoint +
// slots]: the only op above the checkpoint that the slot can hold.
func reachableOp(slot, slots, checkpoint uint64) uint64 {
	assert(slot < slots, "a slot of the journal")
	op := checkpoint + 1 + (slot+slots-(checkpoint+1)%slots)%slots
	assert(op%slots == slot && op > checkpoint && op <= checkpoint+slots, "the one op of the slot in the journal's reach")
	return op
}

// classifySlots classifies every slot from the bytes the open read.
func (r *Replica) classifySlots() []openedSlot {
	o := r.open
	slots := uint64(r.opts.JournalSlots)
	assert(uint64(len(o.prepares)) == slots, "the open read every slot")
	assert(uint64(len(o.headers)) >= slots*HeaderSize, "the open read the whole headers ring")
	found := make([]openedSlot, slots)
	for i := range slots {
		ring := o.headers[i*HeaderSize : (i+1)*HeaderSize]
		if o.sectorErr[i/headersPerSector] {
			ring = make([]byte, HeaderSize)
			ring[0] = 1 // an unreadable ring sector is a corrupt header, not a blank one
		}
		prepare := o.prepares[i]
		if o.readErr[i] {
			prepare = []byte{1} // unreadable: corrupt, not blank
		}
		rh, ringErr := DecodeHeader(ring)
		class, h, message := classifySlot(i, slots, &rh, ringErr, ring, prepare, r.opts.MessageSizeMax, r.logView, r.logOp)
		assert(class == SlotBlank || class == SlotCorrupt || h.Op%slots == i, "a decided slot holds an op of its own")
		found[i] = openedSlot{class: class, header: h, message: message, ring: ring, ringSum: rh.Checksum, ringDecodes: ringErr == nil}
	}
	return found
}

// openedHeads is what the classified slots say of the head of the log:
// confirmed is the highest op a slot names for sure, unconfirmed the
// highest op of a valid prepare whose ring copy is corrupt, ambiguous the
// highest op whose contents are unknown. Entries the log never held
// (stale, above log_op from another view) do not count.
type openedHeads struct{ confirmed, unconfirmed, ambiguous uint64 }

func openedHead(found []openedSlot, logView uint32, logOp uint64) openedHeads {
	var heads openedHeads
	for i := range found {
		f := &found[i]
		assert(f.class >= SlotBlank, "a classified slot has a class")
		assert(f.class < slotClassCount, "a classified slot has a known class")
		if f.class == SlotBlank || f.class == SlotCorrupt || staleEntry(&f.header, logView, logOp) {
			continue
		}
		switch f.class {
		case SlotUnconfirmed:
			heads.unconfirmed = max(heads.unconfirmed, f.header.Op)
		case SlotAmbiguous:
			heads.ambiguous = max(heads.ambiguous, f.header.Op)
		default:
			heads.confirmed = max(heads.confirmed, f.header.Op)
		}
	}
	return heads
}

// ambiguousAbove reports whether an op of unknown contents lies at or
// above op, the head the journal names.
func (h openedHeads) ambiguousAbove(op uint64) bool { return h.ambiguous != 0 && h.ambiguous >= op }

// resolveUnconfirmed decides a valid prepare whose ring copy is corrupt: at
// the head (above every confirmed entry, and the highest such prepare) it is
// the newest write, whose ring write a crash tore; below, the ring may have
// named a replacement, so its contents are unknown.
func resolveUnconfirmed(f *openedSlot, heads openedHeads) SlotClass {
	assert(f.class == SlotUnconfirmed, "resolveUnconfirmed of an unconfirmed slot")
	assert(f.message != nil, "an unconfirmed slot holds a valid prepare")
	if f.header.Op > heads.confirmed && f.header.Op == heads.unconfirmed {
		return SlotValid
	}
	f.message = nil
	return SlotAmbiguous
}

// staleEntry reports whether h, found in the journal at open, was never part
// of this replica's log: above the superblock's log_op and of a view other
// than its log_view (a view change truncated it in memory only).
func staleEntry(h *Header, logView uint32, logOp uint64) bool {
	return h.Op > logOp && h.View != logView
}

// restoreSlot records what the open found in slot i. Stale entries are
// dropped; a slot of unknown contents is marked faulty, so that it never
// nacks an op that may have been there.
func (r *Replica) restoreSlot(i uint64, f *openedSlot) {
	class, h, message, ring := f.class, &f.header, f.message, f.ring
	switch {
	case class == SlotBlank:
		return
	case class == SlotCorrupt:
		r.journal.markFaulty(i, ring)
		r.journal.slots[i].damaged = true
		return
	case staleEntry(h, r.logView, r.logOp):
		return
	case class == SlotAmbiguous:
		r.journal.markFaulty(i, ring)
		r.journal.slots[i].damaged = true
		return
	}
	assert(class == SlotValid || class == SlotTorn || class == SlotMissing, "restoreSlot of a decided slot")
	assert(h.Op%uint64(len(r.journal.slots)) == i, "a journal slot holds op mod slots")
	assert((message != nil) == (class == SlotValid), "a valid slot, and only a valid one, restores its prepare")
	message = r.bugDropCommittedTail(h.Op, message)
	s := &r.journal.slots[i]
	if message != nil {
		read := r.open.prepares[i]
		assert(&message[0] == &read[0], "a restored prepare lies at the start of its slot's read")
		r.journal.adoptPrepare(h, read)
		s.durable = h.Checksum
	} else {
		r.journal.putHeader(h)
		s.bodyLost, s.damaged = true, true // torn or missing: the prepare was here once
	}
	s.ring = *h
	if f.ringDecodes && f.ringSum == h.Checksum { // the ring copy, decoded once by classifySlots
		s.ringDurable = h.Checksum
	}
	r.op = max(r.op, h.Op)
}

// openCheckpointDone restores the checkpoint (if any), replays the ops
// executed before the restart, and starts recovery.
func (r *Replica) openCheckpointDone() {
	o := r.open
	assert(o.pending == 0, "every read of the open completed")
	assert(r.commitMin == 0, "nothing executed before the checkpoint is restored")
	cp := o.chosen.checkpoint
	if !cp.checksum.IsZero() {
		b := o.checkpoint[:min(cp.size, uint64(len(o.checkpoint)))]
		if o.checkpointErr == nil && CheckpointChecksum(b) == cp.checksum && r.restoreCheckpoint(b) == nil {
			r.checkpoint.areas[cp.area] = checkpointArea{buf: o.checkpoint}
		} else {
			// The checkpoint is damaged: start from the empty state; the
			// journal or a peer's checkpoint (state transfer) rebuilds it.
			r.checkpoint.written = checkpointRef{prepare: rootChecksum(r.opts.Cluster)}
			r.super.durable.checkpoint = r.checkpoint.written
			o.classes[0]++
			r.mark(MarkCheckpointDamaged)
		}
	}
	r.open = nil
	assert(r.commitMin == r.durableCheckpoint().op, "execution resumes from the durable checkpoint")
	r.commitMax = max(r.commitMax, min(o.chosen.commit, r.op), r.headCommit())
	r.replayExecuted(o.chosen.commit, o.chosen.commitChecksum)
	r.op = max(r.op, r.commitMin)
	assert(r.commitMin <= r.commitMax, "replay executes only committed ops")
	if r.op < o.chosen.logOp {
		// The superblock says the log of log_view reached log_op, but the
		// journal no longer names it (a fault struck the headers ring):
		// this replica's head is unknown until a primary tells it.
		r.journalFaulty = true
		r.mark(MarkOpenHeadLost)
	}
	r.rewriteRing()
	if r.super.copiesBehind {
		r.mark(MarkSuperblockCopiesBehind)
	}
	if r.hook != nil {
		r.emit(Event{Kind: EventOpened, Replica: r.opts.Replica, View: r.view, LogView: r.logView, Op: r.op,
			Commit: r.commitMin, Reason: fmt.Sprintf("slots: %d valid, %d torn, %d missing, %d corrupt, %d ambiguous, %d blank; checkpoint damaged: %v",
				o.classes[SlotValid], o.classes[SlotTorn], o.classes[SlotMissing], o.classes[SlotCorrupt],
				o.classes[SlotAmbiguous], o.classes[SlotBlank], o.classes[0] > 0)})
	}
	r.startRecovery()
}

// replayExecuted executes again, from the checkpoint, the ops this replica
// had executed before it stopped (they were committed), if the journal
// still holds the whole chain that ends in the executed op's prepare,
// executedChecksum (the superblock's commit_checksum). A slot may hold a
// sibling of an executed op: a prepare of an older view that a view change
// truncated in memory, while the write of the committed prepare over it
// never became durable. Its parent can be the executed op below it (seed
// 835), so only the chain named from the top tells the two apart. When the
// chain is broken, below a gap the journal could hold such a sibling too,
// so nothing is replayed: repair or state transfer brings the committed ops.
func (r *Replica) replayExecuted(executed uint64, executedChecksum U128) {
	assert(r.open == nil, "replay runs once the data file is read")
	assert(r.status == StatusRecovering, "replay runs before recovery")
	if executed <= r.commitMin {
		return
	}
	if !r.journalHoldsChain(executed, executedChecksum) {
		r.mark(MarkReplayChainBroken)
		return
	}
	for r.commitMin < executed {
		h := r.journal.header(r.commitMin + 1)
		assert(h != nil && h.Parent == r.commitChecksum, "replay follows the chain it checked")
		if h.Timestamp <= r.commitTimestamp {
			return // repair or state transfer fills the rest
		}
		r.execute(h)
	}
	assert(r.commitChecksum == executedChecksum, "replay ends at the executed op's prepare")
}

// journalHoldsChain reports whether the journal holds, with their prepares,
// every op above the executed prefix up to top, linked from top's prepare
// (checksum) down to the last op executed here.
func (r *Replica) journalHoldsChain(top uint64, checksum U128) bool {
	assert(top > r.commitMin, "a chain above the executed prefix")
	if top-r.commitMin > uint64(len(r.journal.slots)) {
		return false // the journal holds at most one lap
	}
	want := checksum
	for op := top; op > r.commitMin; op-- {
		h := r.journal.header(op)
		if h == nil || h.Checksum != want || !r.journal.hasPrepare(op) {
			return false
		}
		want = h.Parent
	}
	return want == r.commitChecksum
}

// rewriteRing writes the header sectors whose ring copy on disk does not
// match a durable prepare (a header write lost at the crash), so those
// prepares count as durable again.
func (r *Replica) rewriteRing() {
	assert(r.open == nil, "the ring is rewritten once the data file is read")
	assert(len(r.barriers) == 0, "no ring write waits at open")
	for sector := range r.layout.headerSectors() {
		first := sector * headersPerSector
		for i := first; i < min(first+headersPerSector, uint64(len(r.journal.slots))); i++ {
			s := &r.journal.slots[i]
			if !s.durable.IsZero() && s.ringDurable != s.durable {
				r.writeHeaderSector(sector)
				break
			}
		}
	}
}
