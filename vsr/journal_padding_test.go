package vsr

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// TestSlotPaddingAsCleared checks that a slot's write buffer, with its
// padding cleared only up to the bytes earlier messages dirtied, holds
// exactly what clearing the whole padding before every write held: the
// message, then zeros to its last sector's end.
func TestSlotPaddingAsCleared(t *testing.T) {
	for _, buffers := range []*Buffers{nil, NewBuffers()} {
		j := newJournal(4, 3*SectorSize, buffers)
		rng := rand.New(rand.NewPCG(1, 2))
		var oracle []byte // the slot buffer as the full clear leaves it
		for step := range 2000 {
			n := HeaderSize + rng.IntN(3*SectorSize-HeaderSize+1)
			if step%7 == 0 {
				n = HeaderSize + rng.IntN(64) // short after long: the case the dirty mark is for
			}
			message := bytes.Repeat([]byte{byte(step) | 1}, n)
			h := Header{Command: CommandPrepare, Op: 1 + 4*uint64(rng.IntN(3)), Size: uint32(n)}
			if !j.putPrepare(&h, message) {
				t.Fatalf("step %d: a message of %d bytes does not fit", step, n)
			}
			s := j.slotOf(h.Op)
			size := int(sectorCeil(uint64(n)))
			if len(oracle) < len(s.buffer) {
				oracle = append(oracle, make([]byte, len(s.buffer)-len(oracle))...)
			}
			if step%5 == 0 {
				continue // a prepare replaced before its write: no padding cleared
			}
			s.clearPadding(size)
			copy(oracle, message)
			clear(oracle[n:size])
			if !bytes.Equal(s.buffer[:size], oracle[:size]) {
				t.Fatalf("step %d: a write of %d bytes (%d with padding) differs from the fully cleared one", step, n, size)
			}
		}
	}
}

// TestAdoptedSlotPaddingCleared checks that a prepare the open restores
// by keeping its read (the disk's bytes after the prepare still in it) is
// written back with zeros after the message, as a copied one is.
func TestAdoptedSlotPaddingCleared(t *testing.T) {
	j := newJournal(4, 3*SectorSize, nil)
	read := bytes.Repeat([]byte{0xee}, 3*SectorSize) // the disk's old bytes
	n := HeaderSize + 100
	h := Header{Command: CommandPrepare, Op: 6, Size: uint32(n)}
	j.adoptPrepare(&h, read)
	s := j.slotOf(6)
	if &s.message[0] != &read[0] || len(s.message) != n {
		t.Fatal("the slot does not hold the prepare where the open read it")
	}
	s.clearPadding(SectorSize)
	if !bytes.Equal(s.buffer[n:SectorSize], make([]byte, SectorSize-n)) {
		t.Fatal("an adopted prepare's padding is written with the disk's old bytes")
	}
	long := bytes.Repeat([]byte{7}, 2*SectorSize+1)
	h = Header{Command: CommandPrepare, Op: 10, Size: uint32(len(long))}
	j.putPrepare(&h, long)
	s.clearPadding(3 * SectorSize)
	if !bytes.Equal(s.buffer[len(long):], make([]byte, 3*SectorSize-len(long))) {
		t.Fatal("a later, longer prepare's padding keeps the disk's old bytes")
	}
}
