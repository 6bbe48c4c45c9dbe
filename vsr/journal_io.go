package vsr

// Journal writes. A prepare goes to its slot in the prepares zone; once
// that write completes, the slot's header goes to the headers ring, whose
// sectors hold 16 headers each and are written whole, at most one write
// per sector in flight. A prepare is durable once both writes are done.
//
// The order is what lets the open trust the ring: a ring header names a
// prepare that was durable (or, from installHeader, one a primary named).
// Submitting the two writes together would save one fdatasync on the
// request path, but a crash could then leave a header without its prepare,
// which the open cannot tell from an acknowledged prepare a fault struck
// later: it would have to keep the op and never nack it, and an op only
// this replica knew could then be neither repaired nor truncated (a
// one-replica cluster stops for good; README, Durability). Acknowledging
// after the prepare alone, with the ring written lazily, would be unsafe:
// an acknowledged prepare struck by a fault under a blank or older ring
// header would read back as never written, and be nacked.

type headerSector struct {
	inFlight  bool
	dirty     bool   // a slot of the sector changed while its write was in flight
	submitted uint64 // writes of this sector submitted so far
	writing   uint64 // the number of the write in flight
	completed uint64 // the number of the latest write completed
}

// ringBarrier is a header-sector write the next superblock update must wait
// for: a log installed from a start_view (or adopted by a new primary) is
// named in the headers ring before log_view says the log reaches its head,
// so that after a crash the ring still names every op up to log_op.
type ringBarrier struct {
	sector uint64
	write  uint64
}

// installHeader records h in the log without its prepare, and in the
// headers ring, so that a restart still knows the op belongs to the log.
func (r *Replica) installHeader(h *Header) {
	assert(h.Op <= r.op, "an installed header is not above the head")
	r.journal.putHeader(h)
	s := r.journal.slotOf(h.Op)
	assert(s.header.Checksum == h.Checksum, "installHeader: the journal names the installed header")
	if s.ring.Checksum == h.Checksum {
		return
	}
	s.ring = *h
	sector := h.Op % uint64(len(r.journal.slots)) / headersPerSector
	r.writeHeaderSector(sector)
	hs := &r.headerSectors[sector]
	assert(hs.inFlight, "installHeader: a write of the header's sector is in flight")
	write := hs.submitted
	if hs.dirty {
		write++ // the write that will carry it is the next one
	}
	r.barriers = append(r.barriers, ringBarrier{sector: sector, write: write})
}

// ringDurable reports whether every ring write the superblock waits for
// has completed; it forgets those that have.
func (r *Replica) ringDurable() bool {
	kept := r.barriers[:0]
	for _, b := range r.barriers {
		assert(b.write <= r.headerSectors[b.sector].submitted+1, "a ring barrier waits for a write at most one ahead")
		if r.headerSectors[b.sector].completed < b.write {
			kept = append(kept, b)
		}
	}
	r.barriers = kept
	return len(r.barriers) == 0
}

// journalLimit is the highest op the journal may write: its slot must not
// hold an op the durable checkpoint does not cover yet, or a crash could
// lose an op no replica can replay. Ops above it wait in memory
// (flushJournal writes them once a checkpoint frees their slots).
func (r *Replica) journalLimit() uint64 {
	return r.durableCheckpoint().op + uint64(r.opts.JournalSlots)
}

// flushJournal writes the prepares held in memory but not yet on disk.
func (r *Replica) flushJournal() {
	assert(r.open == nil, "the journal is written only once the data file is open")
	for i := range r.journal.slots {
		s := &r.journal.slots[i]
		assert(len(s.message) == 0 || s.header.Op%uint64(len(r.journal.slots)) == uint64(i), "a journal slot holds op mod slots")
		if len(s.message) > 0 && s.durable != s.header.Checksum && s.writing.IsZero() && s.header.Op <= r.journalLimit() {
			r.writePrepare(s.header.Op)
		}
	}
}

// writePrepare submits the write of op's prepare to its journal slot,
// unless one is in flight for this slot: then prepareWriteDone submits it.
func (r *Replica) writePrepare(op uint64) {
	s := r.journal.slotOf(op)
	assert(len(s.message) > 0, "writePrepare of a held prepare")
	assert(s.header.Op == op, "writePrepare of the op the slot holds")
	assert(r.open == nil, "the journal is written only once the data file is open")
	if !s.writing.IsZero() || s.durable == s.header.Checksum || op > r.journalLimit() {
		return
	}
	index := op % uint64(len(r.journal.slots))
	size := sectorCeil(uint64(len(s.message)))
	assert(size <= uint64(len(s.buffer)), "a prepare's sectors fit its slot buffer")
	assert(size <= r.layout.PrepareSlotSize, "a prepare fits its slot on disk")
	s.clearPadding(int(size))
	s.writing = s.header.Checksum
	r.storage.Write(r.layout.prepareOffset(index), s.buffer[:size], tag(tagPrepare, index))
}

func (r *Replica) prepareWriteDone(index uint64, err error) {
	assert(index < uint64(len(r.journal.slots)), "a prepare write completes for a slot of the journal")
	s := &r.journal.slots[index]
	assert(!s.writing.IsZero(), "a prepare write completes a write in flight")
	written := s.writing
	s.writing = U128{}
	if err != nil {
		// A write must land before the prepare can count as durable.
		r.mark(MarkWriteErrorRetried)
		if len(s.message) > 0 {
			r.writePrepare(s.header.Op)
		}
		return
	}
	s.durable = written
	if s.header.Checksum != written {
		if len(s.message) > 0 {
			r.writePrepare(s.header.Op) // the slot was reused while the write was in flight
		}
		return
	}
	assert(s.header.Op%uint64(len(r.journal.slots)) == index, "the written prepare belongs to its slot")
	s.ring = s.header
	r.writeHeaderSector(index / headersPerSector)
}

// writeHeaderSector writes the ring headers of one sector's slots.
func (r *Replica) writeHeaderSector(sector uint64) {
	assert(sector < uint64(len(r.headerSectors)), "a header sector of the ring")
	assert(r.open == nil, "the ring is written only once the data file is open")
	hs := &r.headerSectors[sector]
	if hs.inFlight {
		hs.dirty = true
		return
	}
	buf := r.headerSectorBuf
	memo := &r.headerSectorHeld
	if memo.sector != sector+1 {
		*memo = headerSectorMemo{sector: sector + 1}
	}
	first := sector * headersPerSector
	// Every header's bytes are written, with zeros where a slot has none
	// (or the journal ends): a header put writes all HeaderSize bytes.
	for i := uint64(0); i < headersPerSector; i++ {
		at := buf[i*HeaderSize : (i+1)*HeaderSize]
		if first+i >= uint64(len(r.journal.slots)) {
			clear(at)
			continue
		}
		s := &r.journal.slots[first+i]
		switch {
		case s.ring.Command == CommandPrepare:
			if memo.held[i] != s.ring.Checksum || s.ring.Checksum.IsZero() {
				s.ring.put(at)
				memo.held[i] = s.ring.Checksum
			}
		case s.faulty:
			assert(len(s.ringFound) == HeaderSize, "a faulty slot keeps a whole ring copy")
			copy(at, s.ringFound)
			memo.held[i] = U128{}
		default:
			clear(at)
			memo.held[i] = U128{}
		}
		s.ringWriting = s.ring.Checksum
	}
	hs.inFlight, hs.dirty = true, false
	hs.submitted++
	hs.writing = hs.submitted
	assert(hs.completed < hs.writing, "a sector's writes complete in order, one at a time")
	r.storage.Write(r.layout.headerSectorOffset(sector), buf, tag(tagHeaders, sector))
}

func (r *Replica) headerSectorWriteDone(sector uint64, err error) {
	assert(sector < uint64(len(r.headerSectors)), "a header sector write completes for a sector of the ring")
	assert(r.headerSectors[sector].inFlight, "a header sector write completes a write in flight")
	hs := &r.headerSectors[sector]
	hs.inFlight = false
	if err != nil {
		r.mark(MarkWriteErrorRetried)
		r.writeHeaderSector(sector)
		return
	}
	hs.completed = hs.writing
	first := sector * headersPerSector
	last := min(first+headersPerSector, uint64(len(r.journal.slots)))
	var changed [headersPerSector]bool
	for i := first; i < last; i++ {
		s := &r.journal.slots[i]
		changed[i-first] = s.ringDurable != s.ringWriting
		s.ringDurable = s.ringWriting
	}
	if hs.dirty {
		r.writeHeaderSector(sector)
	}
	for i := first; i < last; i++ {
		h := &r.journal.slots[i].header // not a copy: the loop reads two fields of each
		if changed[i-first] && h.Command == CommandPrepare && r.journal.durable(h.Op, h.Checksum) {
			r.onPrepareDurable(h.Op, h.Checksum)
		}
	}
	if r.super.waitingForRing && r.ringDurable() {
		r.super.waitingForRing = false
		r.super.persist()
	}
}

// clearPadding zeroes the slot buffer from the end of its message to size
// (the end of the message's last sector), so the padding written is zeros
// whatever the slot held before. Only bytes an earlier, longer message left
// need clearing: past dirty the buffer is zeros already.
func (s *slot) clearPadding(size int) {
	assert(size <= len(s.buffer), "a slot's padding lies within its buffer")
	assert(len(s.message) <= size, "a slot's padding follows its message")
	if end := min(size, s.dirty); end > len(s.message) {
		clear(s.buffer[len(s.message):end])
	}
	if s.dirty <= size {
		s.dirty = len(s.message)
	}
}
