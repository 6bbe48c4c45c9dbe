package vsr

import (
	"encoding/binary"
	"math/bits"
)

// PagedStateMachine is a StateMachine whose snapshot is a sequence of
// fixed-size pages and that knows which pages changed since an earlier
// snapshot. A replica then brings each checkpoint area up to date by
// rewriting, checksumming and writing only those pages: a checkpoint costs
// what changed since the area was last written, not the whole state.
//
// AppendSnapshot must produce the same bytes UpdateSnapshot would, and
// Restore must accept them.
type PagedStateMachine interface {
	StateMachine

	// SnapshotPageSize is the size of a snapshot page: a positive multiple
	// of SectorSize, the same for the state machine's whole life.
	SnapshotPageSize() int

	// SnapshotSize is the size in bytes of the snapshot UpdateSnapshot
	// would produce now: a multiple of SnapshotPageSize.
	SnapshotSize() int

	// UpdateSnapshot rewrites snapshot, which holds the snapshot the state
	// machine produced when it returned mark since (or anything, if since
	// is 0), into the snapshot of the current state: it resizes it to
	// SnapshotSize (within its capacity, which the caller makes at least
	// that) and rewrites every page that changed after since, appending
	// each such page's index to changed. It returns the snapshot, changed,
	// and the mark of the current state. A Restore invalidates every mark
	// returned before it: every page counts as changed after them.
	UpdateSnapshot(snapshot []byte, since uint64, changed []int) ([]byte, []int, uint64)
}

// PageChecksum is the checksum of page number index of a paged snapshot or
// checkpoint: it depends on where the page is, so that a page written to
// the wrong place does not leave a sum of page checksums unchanged.
func PageChecksum(index uint64, page []byte) U128 {
	var b [24]byte
	sum := Checksum(page)
	binary.LittleEndian.PutUint64(b[0:], sum.Lo)
	binary.LittleEndian.PutUint64(b[8:], sum.Hi)
	binary.LittleEndian.PutUint64(b[16:], index)
	return Checksum(b[:])
}

// Add returns u+v mod 2^128: sums of page checksums are kept up to date by
// taking a page's old checksum out (Sub) and putting its new one in.
func (u U128) Add(v U128) U128 {
	lo, carry := bits.Add64(u.Lo, v.Lo, 0)
	hi, _ := bits.Add64(u.Hi, v.Hi, carry)
	return U128{Lo: lo, Hi: hi}
}

// Sub returns u-v mod 2^128.
func (u U128) Sub(v U128) U128 {
	lo, borrow := bits.Sub64(u.Lo, v.Lo, 0)
	hi, _ := bits.Sub64(u.Hi, v.Hi, borrow)
	return U128{Lo: lo, Hi: hi}
}
