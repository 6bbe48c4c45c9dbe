package vsr

// Buffers lends a replica the large buffers it makes at start and while it
// opens its data file (reply slots, the request queue, journal slots,
// checkpoint areas, the open's reads), and takes them all back at once when
// the environment discards that replica. The next replica given the same
// Buffers reuses them instead of allocating: a simulator that crashes and
// restarts replicas thousands of times a run would otherwise spend much of
// its time allocating and collecting them.
//
// A lent buffer is zeroed, as make's would be (but for the open's read
// buffers, which the reads fill), so which buffer a replica gets changes
// nothing it does. Buffers is optional (Env.Buffers nil: the
// replica allocates as usual) and, like a replica, not safe for concurrent
// use: give each replica its own.
type Buffers struct {
	free map[int][][]byte // by length; looked up, never iterated
	lent [][]byte         // every buffer lent since the last Reclaim
}

// NewBuffers returns an empty Buffers.
func NewBuffers() *Buffers {
	b := &Buffers{free: map[int][][]byte{}}
	assert(len(b.lent) == 0, "new Buffers lend nothing")
	return b
}

// make returns n zeroed bytes, with capacity n: a nil Buffers allocates.
func (b *Buffers) make(n int) []byte { return b.lend(n, true) }

// makeForRead returns n bytes, with capacity n, for a storage read to fill
// before anything looks at them: a reused buffer is not cleared first
// (the open reads the whole journal at every restart), and what a failed
// read leaves in it is never used (replica_open.go).
func (b *Buffers) makeForRead(n int) []byte { return b.lend(n, false) }

func (b *Buffers) lend(n int, zeroed bool) []byte {
	assert(n >= 0, "a buffer of a length")
	if b == nil {
		return make([]byte, n)
	}
	var buf []byte
	if free := b.free[n]; len(free) > 0 {
		buf = free[len(free)-1]
		free[len(free)-1] = nil
		b.free[n] = free[:len(free)-1]
		if zeroed {
			clear(buf)
		}
	} else {
		buf = make([]byte, n)
	}
	assert(len(buf) == n, "a lent buffer has the length asked for")
	b.lent = append(b.lent, buf)
	out := buf[:n:n]
	assert(len(out) == n && cap(out) == n, "a lent buffer has exactly the length asked for")
	return out
}

// Reclaim takes back every buffer lent since the last Reclaim. Call it only
// once the replica they were lent to is discarded for good (crashed, never
// to be called again): a live replica's buffers would be handed to another.
func (b *Buffers) Reclaim() {
	for i, buf := range b.lent {
		assert(buf != nil, "a lent buffer is held until reclaimed")
		b.free[len(buf)] = append(b.free[len(buf)], buf)
		b.lent[i] = nil
	}
	b.lent = b.lent[:0]
	assert(len(b.lent) == 0, "a reclaim leaves nothing lent")
}
