package vsr

import (
	"bytes"
	"testing"
)

// TestPeekSectorMatchesPeek: PeekSector reads what Peek copies, for a
// sector written, one never written, and one written again after it was
// peeked (the view follows the storage; the zeros stay zeros).
func TestPeekSectorMatchesPeek(t *testing.T) {
	s := NewMemoryStorage(&splitMix{state: 1}, MemoryFaults{})
	s.Load(map[uint64][]byte{2 * SectorSize: bytes.Repeat([]byte{7}, SectorSize)})
	buf := make([]byte, SectorSize)
	for _, offset := range []uint64{0, 2 * SectorSize, 9 * SectorSize} {
		s.Peek(offset, buf)
		if view := s.PeekSector(offset); !bytes.Equal(view[:], buf) {
			t.Fatalf("PeekSector(%d) differs from Peek", offset)
		}
	}
	s.Load(map[uint64][]byte{9 * SectorSize: bytes.Repeat([]byte{3}, SectorSize)})
	if view := s.PeekSector(9 * SectorSize); view[0] != 3 {
		t.Fatalf("PeekSector of a sector written since reads %d, want 3", view[0])
	}
	if view := s.PeekSector(0); view[0] != 0 || *view != zeroSector {
		t.Fatal("a sector never written does not read as zeros")
	}
}
