package vsr

// journal holds the log in memory: a ring of slots, op n in slot n mod
// len(slots). Every prepare it holds is also written through to storage
// (journal_io.go) and only counts as durable once that write completes.
//
// A slot may hold a header without its prepare: the replica knows which op
// belongs there (from a start_view or a headers message) but still has to
// fetch the body. A slot may also hold an entry of an older view that is
// not part of the current log; the replica tells them apart by the hash
// chain, never by position alone.
type slot struct {
	header  Header // Command == CommandPrepare if the slot holds an op
	message []byte // the whole encoded prepare; empty if only the header is known
	// buffer is what message aliases. It grows, sector by sector, to the
	// largest prepare the slot has held, never past MessageSizeMax rounded
	// up to a sector: the journal's memory is bounded by its options, but a
	// cluster of small prepares does not pay for the largest possible ones.
	buffer []byte
	// dirty is how many leading bytes of buffer may be non-zero: past it
	// the buffer is zeros, so a write's padding (the prepare's last sector
	// after its message) needs clearing only up to it (journal_io.go).
	dirty int

	durable U128 // checksum of the prepare whose write to the prepares zone completed
	writing U128 // checksum of the prepare being written, zero if none

	// ring is the header of the latest prepare written durably to this
	// slot: what the headers ring on disk should say. ringWriting and
	// ringDurable are the checksums in the header-sector write in flight
	// and in the last one completed. A prepare counts as durable (and is
	// acknowledged) only once both its own write and its header's are done,
	// so that on restart every acknowledged op is named by a valid header.
	ring        Header
	ringWriting U128
	ringDurable U128

	faulty bool // the open could read neither copy: some op may have been here
	// ringFound is, for a faulty slot, the ring copy as the open read it:
	// header-sector writes put it back, so that a restart still finds the
	// slot faulty (zeros would read as never written, and the op there
	// could be nacked). Dropped once the slot holds an entry again.
	ringFound []byte
	// bodyLost: the open found this op's header but not its prepare, which
	// this replica therefore held once (and may have acknowledged): it must
	// never claim it never had it.
	bodyLost bool
	// unread: the open could read neither copy of this slot, and no
	// prepare was put in it since. Whatever op's header a primary puts
	// here later, the slot may have held that op's prepare durably (and
	// acknowledged it): it stays faulty for nacks, though its op is known.
	unread bool
	// damaged: the open found this slot torn, missing, corrupt or
	// ambiguous, and no prepare was put in it since. Only a coverage mark
	// reads it (the repair of a damaged prepare); no decision does.
	damaged bool
}

type journal struct {
	slots          []slot
	messageSizeMax uint32
	buffers        *Buffers // lends slot buffers; may be nil
	// faultyCount counts slots the open found corrupt (their op unknown)
	// and nothing has filled since.
	faultyCount int
}

func newJournal(slotCount int, messageSizeMax uint32, buffers *Buffers) journal {
	assert(slotCount > 0, "a journal has slots")
	assert(messageSizeMax >= HeaderSize, "a journal slot holds at least a header")
	return journal{slots: make([]slot, slotCount), messageSizeMax: messageSizeMax, buffers: buffers}
}

func (j *journal) slotOf(op uint64) *slot { return &j.slots[op%uint64(len(j.slots))] }

// header returns the header the journal holds for op, or nil.
func (j *journal) header(op uint64) *Header {
	s := j.slotOf(op)
	if s.header.Command != CommandPrepare || s.header.Op != op {
		return nil
	}
	assert(s.header.Op > 0, "the journal holds no root op")
	return &s.header
}

// prepare returns the encoded prepare for op if the journal holds it with
// the given checksum, or nil.
func (j *journal) prepare(op uint64, checksum U128) []byte {
	s := j.slotOf(op)
	if s.header.Op != op || s.header.Checksum != checksum || len(s.message) == 0 {
		return nil
	}
	assert(s.header.Command == CommandPrepare, "a held prepare has a prepare's header")
	assert(len(s.message) == int(s.header.Size), "a held prepare is as long as its header says")
	return s.message
}

// hasPrepare reports whether the journal holds op's body under its header.
func (j *journal) hasPrepare(op uint64) bool {
	h := j.header(op)
	s := j.slotOf(op)
	assert(len(s.message) == 0 || s.header.Command == CommandPrepare, "a slot holding a prepare holds its header")
	return h != nil && len(s.message) > 0
}

// durable reports whether the prepare of op with this checksum is on disk,
// in the prepares zone and in the headers ring.
func (j *journal) durable(op uint64, checksum U128) bool {
	s := j.slotOf(op)
	return s.header.Op == op && s.header.Checksum == checksum && !checksum.IsZero() &&
		s.durable == checksum && s.ringDurable == checksum
}

// putHeader records h as the entry of op h.Op. A prepare already held with
// the same checksum stays; any other entry in the slot is replaced.
func (j *journal) putHeader(h *Header) {
	assert(h.Command == CommandPrepare, "putHeader of a prepare's header")
	assert(h.Op > 0, "putHeader of an op, not the root")
	s := j.slotOf(h.Op)
	j.clearFaulty(s)
	if s.header.Op == h.Op && s.header.Checksum == h.Checksum {
		return
	}
	s.header = *h
	s.message = s.message[:0]
	s.bodyLost = false
	assert(j.header(h.Op) == &s.header, "putHeader: the journal names the op")
}

// nackable reports whether this replica can swear it never held op's
// prepare durably. A prepare it acknowledged is on its disk, named by the
// headers ring, so after a restart its slot reads back valid, torn or
// missing (bodyLost), or unreadable (faulty): none of those nacks. A slot
// holding another op intact, nothing, or op's header learned from a
// message, does; but not a slot the open could not read, even once a
// primary named its op (unread: the slot may have held that op), and not
// a header whose prepare this slot made durable
// before a view change replaced the entry in memory and another put the
// header back without its body (seed 4002834): the disk still holds that
// prepare, and it may have been acknowledged.
func (j *journal) nackable(op uint64) bool {
	s := j.slotOf(op)
	assert(!s.faulty || len(s.message) == 0, "a faulty slot holds no prepare")
	assert(!s.bodyLost || len(s.message) == 0, "a slot whose body was lost holds no prepare")
	if s.faulty || s.unread {
		return false
	}
	if s.header.Op != op {
		return true
	}
	return len(s.message) == 0 && !s.bodyLost && s.durable != s.header.Checksum
}

func (j *journal) clearFaulty(s *slot) {
	if s.faulty {
		assert(j.faultyCount > 0, "a faulty slot is counted")
		s.faulty, s.ringFound = false, nil
		j.faultyCount--
	}
}

// markFaulty records that slot i could not be read back, with the ring
// copy the open found for it.
func (j *journal) markFaulty(i uint64, ring []byte) {
	assert(i < uint64(len(j.slots)), "markFaulty of a slot of the journal")
	assert(len(ring) == HeaderSize, "a faulty slot keeps a whole ring copy")
	if s := &j.slots[i]; !s.faulty {
		s.faulty, s.unread = true, true
		s.ringFound = append([]byte(nil), ring...)
		j.faultyCount++
	}
	assert(j.faultyCount <= len(j.slots), "faulty slots are counted once")
}

// putPrepare stores a decoded prepare (header h, encoded message) in its
// slot. It returns false if the message does not fit the slot buffer.
func (j *journal) putPrepare(h *Header, message []byte) bool {
	assert(h.Command == CommandPrepare, "putPrepare of a prepare")
	assert(h.Op > 0, "putPrepare of an op, not the root")
	assert(uint32(len(message)) == h.Size, "putPrepare of the whole message")
	s := j.slotOf(h.Op)
	if len(message) > int(j.messageSizeMax) {
		return false
	}
	if size := int(sectorCeil(uint64(len(message)))); size > len(s.buffer) {
		s.buffer, s.dirty = j.buffers.make(size), 0 // lent zeroed
	}
	j.holdPrepare(s, h)
	s.message = s.buffer[:len(message)]
	copy(s.message, message)
	s.dirty = max(s.dirty, len(message))
	assert(s.dirty <= len(s.buffer), "a slot's dirty bytes lie within its buffer")
	assert(j.hasPrepare(h.Op), "putPrepare: the journal holds the prepare")
	return true
}

// adoptPrepare is putPrepare of a prepare (header h) that starts read, a
// whole slot as the open read it: the slot keeps read as its buffer
// instead of copying the prepare into one of its own. The bytes after the
// prepare are whatever the disk held (dirty), and a write clears them.
func (j *journal) adoptPrepare(h *Header, read []byte) {
	assert(h.Command == CommandPrepare, "adoptPrepare of a prepare")
	assert(h.Size <= j.messageSizeMax, "an adopted prepare fits a slot")
	assert(uint64(len(read)) >= sectorCeil(uint64(h.Size)), "an adopted prepare's sectors lie in its read")
	s := j.slotOf(h.Op)
	j.holdPrepare(s, h)
	s.buffer, s.dirty = read, len(read)
	s.message = read[:h.Size]
	assert(j.hasPrepare(h.Op), "adoptPrepare: the journal holds the prepare")
}

// holdPrepare makes slot s the entry of prepare h, whose message the
// caller puts in place: the slot is no longer faulty, lost or damaged.
func (j *journal) holdPrepare(s *slot, h *Header) {
	assert(s == j.slotOf(h.Op), "a prepare is held in its op's slot")
	j.clearFaulty(s)
	s.bodyLost, s.damaged, s.unread = false, false, false
	s.header = *h
}

// remove forgets op (if held): it is not part of the log.
func (j *journal) remove(op uint64) {
	s := j.slotOf(op)
	if s.header.Op == op {
		s.header = Header{}
		s.message = s.message[:0]
	}
	assert(j.header(op) == nil, "a removed op is not in the journal")
}
