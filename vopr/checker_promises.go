package vopr

import (
	"encoding/binary"
	"fmt"

	"github.com/govsr/govsr/vsr"
)

// promisesChecker checks, as each message leaves a replica, that what the
// message promises its peers is already on the replica's disk, where a
// crash at that instant would leave it (DESIGN.md): a backup sends
// prepare_ok only once the prepare and its ring header are durable; view
// and log_view are durable before a replica sends a do_view_change, a
// start_view, a prepare_ok, or a prepare it made in that view; a write
// never overwrites what the durable checkpoint does not cover yet (a journal
// slot of a later op, the durable checkpoint's own area); and a
// do_view_change never nacks a prepare its sender acknowledged in the view
// its log is of (a prepare once durable is held, or its slot reads back
// faulty, torn or missing: Protocol-Aware Recovery's rule).
//
// It reads the simulated disk itself, as the open would, not the replica's
// own bookkeeping. A broken promise turns into lost data only when more
// faults line up after it (the promiser crashes in the window, the others
// that hold the data fail too), which a swarm seldom arranges; the promise
// itself is broken on every run that reaches the code path. Where the fault
// atlas lets a fault strike the piece read (a faultable slot or ring
// sector), the disk proves nothing either way and the check gives the
// replica the benefit of the doubt; the superblock is read as the open
// reads it (the newest valid copy).
type promisesChecker struct {
	v       verdicts
	cluster promisesCluster
	sizeMax uint32
	// confirmed[i]: the view and log_view last found on replica i's disk;
	// they only grow there (a replaced disk starts again from zero), so a
	// message asking no more needs no read.
	confirmed [vsr.ReplicasMax]diskViews
	// checkpointOp[i]: the op of replica i's durable checkpoint as last
	// read from its disk (it only grows there, but for a replaced disk).
	checkpointOp [vsr.ReplicasMax]uint64
	// disowned[i]: the checkpoint (its checksum) replica i's open could not
	// read back; it started from the empty state and may write over it.
	disowned [vsr.ReplicasMax]vsr.U128
	// acked[i] holds every prepare replica i acknowledged, with the view
	// of the acknowledgement (forgotten when its disk is replaced).
	acked  [vsr.ReplicasMax]map[ackKey]struct{}
	starts logStarts // where each log_view's log began (checker_log_start.go)
	slot   []byte    // one prepare slot, reused (for prepares beyond a sector)
	// headers decodes what replicas send, and the prepares they write
	// (most often a prepare just sent or received: the same header bytes)
	// (the simulator's, shared with the chaos scenarios, which decode the
	// same sends).
	headers *headerMemo
}

// diskViews is the view and log_view a superblock copy holds.
type diskViews struct{ view, logView uint32 }

// ackKey names a prepare_ok: the view it was sent in, the op and prepare.
type ackKey struct {
	view     uint32
	op       uint64
	checksum vsr.U128
}

// promisesCluster is what the promises checker reads of the cluster:
// replica i's disk, and what its current incarnation says of itself; the
// index of the simulator event running (checker_log_start.go); and where
// to hand each start_view (the canonical chain's check of it).
type promisesCluster interface {
	disk(i int) *simStorage
	replicaView(i int) uint32
	durableCheckpointOp(i int) uint64
	eventIndex() uint64
	startViewSent(from int, h *vsr.Header, body []byte)
	prepareMade(from int, view uint32, op, timestamp uint64)
}

func (s *Simulator) eventIndex() uint64 { return s.events }

// startViewSent checks a start_view against the canonical chain, unless a
// newer view has started: a stale primary (paused, or cut off while a
// newer view formed) may still answer with its old view's log (seed 223,
// small messages), and nobody installs it.
func (s *Simulator) startViewSent(from int, h *vsr.Header, body []byte) {
	if h.View >= s.check.durability.recovery.started {
		s.check.canonical.onStartView(from, h, body)
	}
}

// prepareMade hands the timestamps checker a prepare its primary sends in
// its current view, with the primary's clock now: the first send of a
// prepare is in the event that made it.
func (s *Simulator) prepareMade(from int, view uint32, op, timestamp uint64) {
	s.check.timestamps.onPrepareSent(from, view, op, timestamp, s.replicas[from].replica.Clock())
}

func (s *Simulator) disk(i int) *simStorage   { return s.replicas[i].storage }
func (s *Simulator) replicaView(i int) uint32 { return s.replicas[i].replica.View() }
func (s *Simulator) durableCheckpointOp(i int) uint64 {
	op, _ := s.replicas[i].replica.DurableCheckpoint()
	return op
}

func newPromisesChecker(s *Simulator, v verdicts) promisesChecker {
	c := promisesChecker{v: v, cluster: s, sizeMax: s.opts.MessageSizeMax,
		headers: &s.sentHeaders}
	for i := range c.acked {
		c.acked[i] = map[ackKey]struct{}{}
	}
	return c
}

// onSend checks a message replica from sends to a peer.
func (c *promisesChecker) onSend(from int, message []byte) {
	c.starts.settle(c.cluster.eventIndex(), c.v)
	command := vsr.Command(message[headerCommandOffset])
	switch command {
	case vsr.CommandPrepareOk, vsr.CommandStartView, vsr.CommandDoViewChange, vsr.CommandPrepare:
	default:
		return
	}
	h, err := c.headers.decode(message)
	if err != nil {
		panic("vopr: a replica sent a message whose header does not decode: " + err.Error())
	}
	switch command {
	case vsr.CommandPrepareOk:
		c.needViews(from, &h, diskViews{view: h.View, logView: h.View})
		c.needPrepare(from, h.Op, h.Context)
		c.acked[from][ackKey{view: h.View, op: h.Op, checksum: h.Context}] = struct{}{}
	case vsr.CommandStartView:
		c.needViews(from, &h, diskViews{view: h.View, logView: h.View})
		// A copy for the interface call, which the compiler cannot see
		// through: passing &h would move h to the heap on every send.
		sv := h
		c.cluster.startViewSent(from, &sv, message[vsr.HeaderSize:h.Size])
	case vsr.CommandDoViewChange:
		c.needViews(from, &h, diskViews{view: h.View, logView: h.LogView})
		c.checkNacks(from, &h, message[vsr.HeaderSize:h.Size])
	case vsr.CommandPrepare:
		// Only a prepare it makes in its current view promises that view:
		// repair forwards prepares of other views, its own among them (made
		// before a crash, perhaps on a disk since replaced).
		if h.Replica == uint8(from) && h.View == c.cluster.replicaView(from) {
			c.needViews(from, &h, diskViews{view: h.View, logView: h.View})
			c.cluster.prepareMade(from, h.View, h.Op, h.Timestamp)
		}
	}
}

// needViews fails the run unless replica i's disk holds at least want.
func (c *promisesChecker) needViews(i int, h *vsr.Header, want diskViews) {
	have := c.confirmed[i]
	if have.view >= want.view && have.logView >= want.logView {
		return
	}
	have, ok := c.diskViews(i)
	if !ok {
		return // no copy the atlas spares holds a valid superblock: nothing to read
	}
	c.confirmed[i] = have
	if have.view < want.view || have.logView < want.logView {
		c.v.fail(Correctness, fmt.Sprintf("replica %d sent %s of view %d (log_view %d) while its disk holds view %d "+
			"log_view %d: it acts on a view not yet durable", i, h.Command, h.View, want.logView, have.view, have.logView))
	}
}

// diskSuperblock reads what an open after a crash now would find in
// replica i's superblock: the newest valid copy, by sequence. ok is false
// if no copy is valid (the atlas always leaves two).
func (c *promisesChecker) diskSuperblock(i int) (sb diskState, ok bool) {
	st := c.cluster.disk(i)
	var newest uint64
	for index := range uint64(vsr.SuperblockCopies) {
		if copyState, sequence, valid := superblockCopyState(st, index); valid && (!ok || sequence > newest) {
			sb, newest, ok = copyState, sequence, true
		}
	}
	return sb, ok
}

// superblockCopyState reads copy index of a disk's superblock, in place (only a
// few fields are kept): what it says, and its sequence, if it is valid.
func superblockCopyState(st *simStorage, index uint64) (sb diskState, sequence uint64, ok bool) {
	le := binary.LittleEndian
	b := st.PeekSector(index * vsr.SectorSize)[:]
	if !selfChecked(b) || string(b[16:24]) != superblockMagic {
		return diskState{}, 0, false
	}
	return diskState{
		views:        diskViews{view: le.Uint32(b[superblockViewOffset:]), logView: le.Uint32(b[superblockViewOffset+4:])},
		checkpointOp: le.Uint64(b[superblockCheckpointOffset:]),
		checksum:     readU128(b[superblockCheckpointOffset+8:]),
		size:         le.Uint64(b[superblockCheckpointSizeOffset:]),
		area:         b[superblockCheckpointAreaOffset],
	}, le.Uint64(b[superblockSequenceOffset:]), true
}

// diskState is what a superblock copy says of the views and the durable
// checkpoint: its op, checksum (zero: the empty state at op 0), size and
// area.
type diskState struct {
	views        diskViews
	checkpointOp uint64
	checksum     vsr.U128
	size         uint64
	area         uint8
}

// checkpointIntact reports whether the checkpoint sb names is on replica
// i's disk, whole: one the open found damaged (it starts from the empty
// state then) may be written over.
func (c *promisesChecker) checkpointIntact(i int, sb *diskState) bool {
	st := c.cluster.disk(i)
	l := &st.layout
	if sb.size < 16 || sb.size > l.CheckpointAreaSize {
		return false
	}
	b := make([]byte, (sb.size+vsr.SectorSize-1)/vsr.SectorSize*vsr.SectorSize)
	st.Peek(l.CheckpointOffset+uint64(sb.area)*l.CheckpointAreaSize, b)
	return vsr.CheckpointChecksum(b[:sb.size]) == sb.checksum
}

// diskViews reads the view and log_view an open after a crash now would find.
func (c *promisesChecker) diskViews(i int) (diskViews, bool) {
	sb, ok := c.diskSuperblock(i)
	return sb.views, ok
}

// Where vsr's superblock copy holds its magic, sequence, view, log_view,
// checkpoint op and checksum, and checkpoint area (vsr/superblock.go's
// layout; TestPromisesSuperblockLayout and TestCheckerPromisesCatchOverwrites
// check them against real disks).
const (
	superblockMagic                = "govsrSB1"
	superblockSequenceOffset       = 64
	superblockViewOffset           = 88
	superblockCheckpointOffset     = 104
	superblockCheckpointSizeOffset = 144
	superblockCheckpointAreaOffset = 152
)

// onWrite checks a write replica i submits to its disk: a prepare of an op
// the journal may hold, only once the durable checkpoint covers the op it
// overwrites (its op minus the journal's slots); a checkpoint, only to the
// area the durable checkpoint is not in.
func (c *promisesChecker) onWrite(i int, offset uint64, data []byte) {
	c.starts.settle(c.cluster.eventIndex(), c.v)
	l := &c.cluster.disk(i).layout
	switch zone, index := l.ZoneOf(offset); zone {
	case vsr.ZoneSuperblock:
		c.starts.onSuperblockWrite(i, c.cluster.eventIndex(), data)
		c.checkCheckpointName(i, data)
	case vsr.ZonePrepares:
		h, err := c.headers.decode(data[:vsr.HeaderSize]) // often the prepare just sent: decoded already
		if err != nil {
			panic("vopr: a replica wrote a prepare whose header does not decode: " + err.Error())
		}
		if h.Op <= c.checkpointOp[i]+l.JournalSlots {
			return
		}
		sb, ok := c.diskSuperblock(i)
		if !ok {
			return
		}
		c.checkpointOp[i] = sb.checkpointOp
		if h.Op > sb.checkpointOp+l.JournalSlots {
			c.v.fail(Correctness, fmt.Sprintf("replica %d writes op %d over slot %d, whose op %d its durable checkpoint "+
				"(op %d) does not cover", i, h.Op, index, h.Op-l.JournalSlots, sb.checkpointOp))
		}
	case vsr.ZoneCheckpoint:
		if sb, ok := c.diskSuperblock(i); ok && c.holdsCheckpoint(i, &sb, index) {
			c.v.fail(Correctness, fmt.Sprintf("replica %d writes a checkpoint over area %d, which holds its durable "+
				"checkpoint (op %d)", i, index, sb.checkpointOp))
			return
		}
		c.checkCopiesBehind(i, index)
	}
}

// holdsCheckpoint reports whether area holds, whole, the checkpoint sb
// names (not one replica i disowned: its open found it damaged).
func (c *promisesChecker) holdsCheckpoint(i int, sb *diskState, area uint64) bool {
	return !sb.checksum.IsZero() && uint64(sb.area) == area && sb.checksum != c.disowned[i] && c.checkpointIntact(i, sb)
}

// checkCopiesBehind fails a checkpoint write of replica i over an area an
// older valid superblock copy names: copies the atlas spares hold the
// newest durable update or a newer one that landed whole, so while they
// disagree (a crash cut an update short) the older may be the durable
// one, and if the newer copies are lost the open takes it, with its
// checkpoint. The copies must be made to agree before the area is reused.
func (c *promisesChecker) checkCopiesBehind(i int, area uint64) {
	st := c.cluster.disk(i)
	for index := range uint64(vsr.SuperblockCopies) {
		if st.mayDamage(index * vsr.SectorSize) {
			continue
		}
		if sb, _, ok := superblockCopyState(st, index); ok && c.holdsCheckpoint(i, &sb, area) {
			c.v.fail(Correctness, fmt.Sprintf("replica %d writes a checkpoint over area %d while its superblock copy %d "+
				"still names the checkpoint there (op %d): the copies disagree, and that may be the durable one",
				i, area, index, sb.checkpointOp))
			return
		}
	}
}

// needPrepare fails the run unless replica i's disk holds op's prepare with
// checksum in its slot, and the headers ring names it.
func (c *promisesChecker) needPrepare(i int, op uint64, checksum vsr.U128) {
	st := c.cluster.disk(i)
	l := &st.layout
	slot := op % l.JournalSlots
	slotOffset := l.PreparesOffset + slot*l.PrepareSlotSize
	sectorOffset := l.HeadersOffset + slot/headersPerSector*vsr.SectorSize
	if st.mayDamage(slotOffset) || st.mayDamage(sectorOffset) {
		return
	}
	prepare := c.prepareAt(st, slotOffset, l.PrepareSlotSize)
	p, _, err := vsr.Decode(prepare, c.sizeMax)
	held := err == nil && p.Command == vsr.CommandPrepare && p.Op == op && p.Checksum == checksum
	at := slot % headersPerSector * vsr.HeaderSize
	ring := st.PeekSector(sectorOffset)[at : at+vsr.HeaderSize]
	// The ring header is most often the very bytes of the prepare's own
	// header. Decode runs every check DecodeHeader does (and more), so
	// bytes that Decode accepted as this prepare DecodeHeader would
	// accept as the same header: only other bytes need decoding.
	named := held && string(ring) == string(prepare[:vsr.HeaderSize])
	if !named {
		r, err := vsr.DecodeHeader(ring)
		named = err == nil && r.Command == vsr.CommandPrepare && r.Op == op && r.Checksum == checksum
	}
	if !held || !named {
		c.v.fail(Correctness, fmt.Sprintf("replica %d acknowledged op %d (prepare %s) while its disk holds "+
			"the prepare: %v, its ring header: %v", i, op, checksum, held, named))
	}
}

// headerSizeOffset is where a vsr header holds the message's size
// (TestHeaderSizeOffset checks it against an encoded message).
const headerSizeOffset = 148

// prepareAt returns the prepare slot at offset as far as Decode will look,
// in place where it can: a prepare that fits its first sector (most do)
// is decoded from the disk's own sector; a larger one is copied into
// c.slot up to the size its header names (Decode reads no further). A
// slot is up to 16 KiB. Decode's result depends on its buffer's length
// only through its check that the size fits the buffer: true for a size
// within a sector, given the first sector or the slot; false for a size
// beyond the slot, given either (Decode fails on it then, as on a size
// above the largest message).
func (c *promisesChecker) prepareAt(st *simStorage, offset, slotSize uint64) []byte {
	first := st.PeekSector(offset)
	size := uint64(binary.LittleEndian.Uint32(first[headerSizeOffset:]))
	if size <= vsr.SectorSize || size > slotSize {
		return first[:]
	}
	if uint64(len(c.slot)) != slotSize {
		c.slot = make([]byte, slotSize)
	}
	end := (size + vsr.SectorSize - 1) / vsr.SectorSize * vsr.SectorSize
	st.Peek(offset, c.slot[:end])
	return c.slot
}

// checkNacks fails the run if replica i's do_view_change h (headers body)
// nacks a prepare i acknowledged in the view its log is of. A nack (bit b
// of its nack mask, [vsr.Header.Nacks]) says i never held the prepare its log names at op
// h.Op-b: the header of that op in the body, or the parent of the op
// above. Ops at or below the sender's commit are left out: their slots may
// be reused once a checkpoint covers them.
func (c *promisesChecker) checkNacks(i int, h *vsr.Header, body []byte) {
	for back := uint64(0); back < 128 && back < h.Op; back++ {
		bits, shift := h.Nacks().Lo, back
		if back >= 64 {
			bits, shift = h.Nacks().Hi, back-64
		}
		op := h.Op - back
		if bits&(1<<shift) == 0 || op <= h.Commit {
			continue
		}
		checksum, ok := namedAt(body, back)
		if !ok {
			continue
		}
		if _, acked := c.acked[i][ackKey{view: h.LogView, op: op, checksum: checksum}]; acked {
			c.v.fail(Correctness, fmt.Sprintf("replica %d's do_view_change of view %d nacks op %d (prepare %s), which it "+
				"acknowledged in view %d, its log_view", i, h.View, op, checksum, h.LogView))
			return
		}
	}
}

// namedAt returns the checksum a do_view_change body (headers from the
// head down) names for the op back below its head, if it names one.
func namedAt(body []byte, back uint64) (vsr.U128, bool) {
	at := back * vsr.HeaderSize
	if at+vsr.HeaderSize <= uint64(len(body)) {
		if h, err := vsr.DecodeHeader(body[at : at+vsr.HeaderSize]); err == nil {
			return h.Checksum, true
		}
	}
	if back > 0 && at <= uint64(len(body)) {
		if h, err := vsr.DecodeHeader(body[at-vsr.HeaderSize : at]); err == nil {
			return h.Parent, true
		}
	}
	return vsr.U128{}, false
}

// onMark learns from replica i's marks what frees it from a promise:
//   - checkpoint_damaged: its open could not read its durable checkpoint
//     back (a read error, say, where the bytes are still intact); it starts
//     from the empty state and may write over that checkpoint's area;
//   - superblock_copy_faulty: its open could not read a superblock copy,
//     perhaps the newest; the checkpoint only that copy names is not its;
//   - log_adopted_peer, nack_truncation: as a new primary it dropped ops
//     above the log it adopted or above a nack quorum's proof, with its
//     log_view unchanged; should its view change then fail, it may nack
//     what it had acknowledged (sound: those ops never committed), so its
//     acknowledgements are forgotten.
func (c *promisesChecker) onMark(i int, m vsr.Mark) {
	switch m {
	case vsr.MarkCheckpointDamaged:
		if sb, ok := c.diskSuperblock(i); ok {
			c.disowned[i] = sb.checksum
		}
	case vsr.MarkSuperblockCopyFaulty:
		// The open could not read some superblock copy; if that copy was
		// the newest, the replica knows only an older checkpoint, and the
		// area the newest names is, to it, free (seed 4002629).
		held := c.cluster.durableCheckpointOp(i)
		if sb, ok := c.diskSuperblock(i); ok && sb.checkpointOp != held {
			c.disowned[i] = sb.checksum
		}
	case vsr.MarkLogAdoptedPeer, vsr.MarkNackTruncation:
		clear(c.acked[i])
	}
}

// forget: replica i's disk was replaced; what it acknowledged is gone with it.
func (c *promisesChecker) forget(i int) {
	c.confirmed[i], c.checkpointOp[i] = diskViews{}, 0
	clear(c.acked[i])
	c.starts.forget(i)
}

// mayDamage reports whether storage faults may strike the sector at offset
// of this disk (the fault atlas, or the whole-disk atlas of storage.go).
func (st *simStorage) mayDamage(offset uint64) bool {
	if st.opts.Atlas.any() {
		return st.atlas.faultable(st.replica, offset)
	}
	return st.faulty && st.faultable(offset)
}
