package vsr

// ioWindow holds MemoryStorage's I/Os in flight by id. Ids are handed out
// in order and complete in any order, so the I/Os in flight lie in a
// window from the oldest still in flight to the newest: a slice indexed
// by id, cheaper than a map lookup, insert and delete per I/O.
type ioWindow struct {
	ios   []memoryIO // ios[i] is I/O base+i; ios[:head] are all done
	head  int
	base  uint64
	count int // I/Os in flight
}

// add puts I/O id, the newest, in flight.
func (w *ioWindow) add(id uint64, io memoryIO) {
	if w.count == 0 {
		w.ios, w.head, w.base = w.ios[:0], 0, id
	}
	assert(id == w.base+uint64(len(w.ios)), "memory storage: I/O ids are handed out in order")
	w.ios = append(w.ios, memoryIO{})
	// Field by field: the caller just built io field by field, and a
	// whole-struct copy reads it back in wider loads than it was stored
	// in, which stalls on store forwarding.
	in := &w.ios[len(w.ios)-1]
	in.live, in.write, in.offset, in.data, in.copy, in.tag = true, io.write, io.offset, io.data, io.copy, io.tag
	w.count++
	assert(w.count <= len(w.ios)-w.head, "memory storage: the I/Os in flight lie in the window")
}

// take removes I/O id from flight and returns it, or false if it is not in
// flight (it completed, or a crash took it).
func (w *ioWindow) take(id uint64) (memoryIO, bool) {
	if id < w.base+uint64(w.head) || id >= w.base+uint64(len(w.ios)) {
		return memoryIO{}, false
	}
	i := int(id - w.base)
	assert(i >= w.head && i < len(w.ios), "memory storage: a taken I/O lies in the window")
	io := w.ios[i]
	if !io.live {
		return memoryIO{}, false
	}
	w.ios[i] = memoryIO{}
	w.count--
	for w.head < len(w.ios) && !w.ios[w.head].live {
		w.head++
	}
	if w.head > 64 && w.head > len(w.ios)/2 { // compact: the window moved on
		n := copy(w.ios, w.ios[w.head:])
		clear(w.ios[n:])
		w.ios, w.base, w.head = w.ios[:n], w.base+uint64(w.head), 0
	}
	assert(w.count >= 0 && w.count <= len(w.ios)-w.head, "memory storage: the I/Os in flight lie in the window")
	return io, true
}

// takeAll removes every I/O from flight and returns them, oldest first.
func (w *ioWindow) takeAll() []memoryIO {
	var all []memoryIO
	for i := w.head; i < len(w.ios); i++ {
		if w.ios[i].live {
			all = append(all, w.ios[i])
		}
	}
	assert(len(all) == w.count, "memory storage: every I/O in flight is taken")
	clear(w.ios)
	w.ios, w.head, w.count = w.ios[:0], 0, 0
	assert(w.count == 0 && len(w.ios) == 0, "memory storage: nothing is in flight after all is taken")
	return all
}
