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
