package vsr

import "math/bits"

// Buffers lends a replica the large buffers it makes at start and while it
// opens its data file (reply slots, the request queue, journal slots,
// checkpoint areas, the open's reads), and takes them all back at once when
// the environment discards that replica. The next replica given the same
// Buffers reuses them instead of allocating: a simulator that crashes and
// restarts replicas thousands of times a run would otherwise spend much of
// its time allocating and collecting them.
//
// A lent buffer is zeroed, as make's would be (but for the open's read
// buffers, which the reads fill), and its capacity is its length, so which
// buffer a replica gets changes nothing it does. Buffers come in size
// classes, four to a doubling, so that replicas of other options (the next
// seed of a swarm) can reuse them too. Buffers is optional (Env.Buffers
// nil: the replica allocates as usual) and, like a replica, not safe for
// concurrent use: give each replica its own.
type Buffers struct {
	free map[int][][]byte // by size class
	lent [][]byte         // every buffer lent since the last Reclaim, whole
	// used is, by size class, the last generation (count of Reclaims) in
	// which a buffer of that class was lent: a class unused for
	// keepGenerations is dropped, so a swarm's past options do not pile up.
	used       map[int]uint64
	generation uint64
}

// keepGenerations is how many Reclaims a size class may go unused before
// its free buffers are left to the collector.
const keepGenerations = 16

// NewBuffers returns an empty Buffers.
func NewBuffers() *Buffers {
	b := &Buffers{free: map[int][][]byte{}, used: map[int]uint64{}}
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

// makeWrittenFirst returns n bytes, with capacity n, for a buffer the
// replica reads only as far as it wrote it (a reply slot, a queued
// request, a do_view_change record: each is used as buf[:k] once k bytes
// are copied or encoded in): a reused buffer is not cleared first, and what
// an earlier replica left past k is never read.
func (b *Buffers) makeWrittenFirst(n int) []byte { return b.lend(n, false) }

func (b *Buffers) lend(n int, zeroed bool) []byte {
	assert(n >= 0, "a buffer of a length")
	if b == nil {
		return make([]byte, n)
	}
	class := sizeClass(n)
	b.used[class] = b.generation
	var buf []byte
	if free := b.free[class]; len(free) > 0 {
		buf = free[len(free)-1]
		free[len(free)-1] = nil
		b.free[class] = free[:len(free)-1]
		if zeroed {
			clear(buf[:n])
		}
	} else {
		buf = make([]byte, class)
	}
	assert(len(buf) == class, "a lent buffer fills its size class")
	b.lent = append(b.lent, buf)
	out := buf[:n:n]
	assert(len(out) == n && cap(out) == n, "a lent buffer has exactly the length asked for")
	return out
}

// sizeClass rounds n up to a size class: a multiple of an eighth of the
// power of two at or above n, so at most a quarter more than n (and at
// least 64 bytes).
func sizeClass(n int) int {
	if n <= 64 {
		return 64
	}
	top := bits.Len(uint(n - 1)) // 2^top >= n > 2^(top-1)
	step := 1 << (top - 3)
	class := (n + step - 1) / step * step
	assert(class >= n && class-n < step, "a size class holds n with less than a step to spare")
	return class
}

// Reclaim takes back every buffer lent since the last Reclaim, for the next
// replica. Call it only once the replica they were lent to is discarded for
// good (crashed, never to be called again): a live replica's buffers would
// be handed to another. A class keeps as many buffers as one replica ever
// took of it at once; a class no replica asked for in keepGenerations
// Reclaims is dropped.
func (b *Buffers) Reclaim() {
	b.generation++
	for class, last := range b.used { // deletes only: the order decides nothing
		if last+keepGenerations < b.generation {
			delete(b.free, class)
			delete(b.used, class)
		}
	}
	for i, buf := range b.lent {
		assert(buf != nil, "a lent buffer is held until reclaimed")
		b.free[len(buf)] = append(b.free[len(buf)], buf)
		b.lent[i] = nil
	}
	b.lent = b.lent[:0]
	assert(len(b.lent) == 0, "a reclaim leaves nothing lent")
}
