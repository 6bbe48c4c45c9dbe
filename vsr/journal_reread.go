package vsr

// Reading a lost body back. The open marks a slot bodyLost when the ring
// names an op but the prepare could not be read back intact. A read error
// may be transient (a latent sector error that a retry gets past), and the
// prepare may still be on the disk: seed 7004183 stalled a view change
// for hundreds of views on an op whose only intact prepare lay on the
// disk of a replica that had given it up as lost. Repair reads such a
// slot again, one at a time, before it asks peers.

type rereadState struct {
	active   bool
	op       uint64
	checksum U128
	buf      []byte // one prepare slot, lent on the first re-read
}

// rereadLostBody submits a read of the lowest slot in the log whose body
// the open lost, if no re-read is in flight.
func (r *Replica) rereadLostBody() {
	if r.reread.active || r.open != nil {
		return
	}
	for op := r.commitMin + 1; op <= r.op; op++ {
		s := r.journal.slotOf(op)
		if !s.bodyLost || len(s.message) > 0 || s.header.Op != op {
			continue
		}
		assert(r.journal.header(op) != nil, "a lost body's header is in the journal")
		size := int(r.layout.PrepareSlotSize)
		if len(r.reread.buf) < size {
			r.reread.buf = r.buffers.makeForRead(size)
		}
		r.reread = rereadState{active: true, op: op, checksum: s.header.Checksum, buf: r.reread.buf}
		slot := op % uint64(len(r.journal.slots))
		r.storage.Read(r.layout.prepareOffset(slot), r.reread.buf[:size], tag(tagReread, slot))
		return
	}
}

// rereadDone takes the prepare read back if it is the one the slot's
// header still names, whole.
func (r *Replica) rereadDone(slot uint64, err error) {
	assert(r.reread.active, "a re-read completes a re-read in flight")
	assert(slot == r.reread.op%uint64(len(r.journal.slots)), "a re-read completes in the slot it read")
	r.reread.active = false
	if err != nil {
		return
	}
	h, _, decodeErr := Decode(r.reread.buf, r.opts.MessageSizeMax)
	s := r.journal.slotOf(r.reread.op)
	if decodeErr != nil || h.Op != r.reread.op || h.Checksum != r.reread.checksum ||
		s.header.Op != h.Op || s.header.Checksum != h.Checksum || len(s.message) > 0 {
		return
	}
	if !r.journal.putPrepare(&h, r.reread.buf[:h.Size]) {
		return
	}
	s.durable = h.Checksum // it is on this disk: the read just proved it
	r.mark(MarkDamagedPrepareRepaired)
	assert(r.journal.hasPrepare(h.Op), "a prepare read back is held")
	if r.repairing() {
		r.afterRepair()
	}
}
