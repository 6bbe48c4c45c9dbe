package vsr

import (
	"bytes"
	"testing"
)

// TestMemoryStorageSparse: sectors never written read as zeros and are not
// Written; a written sector reads back, near the start of the file and
// far beyond any table; Clone copies every written sector and Wipe forgets
// them all.
func TestMemoryStorageSparse(t *testing.T) {
	s := NewMemoryStorage(&splitMix{state: 1}, MemoryFaults{})
	far := uint64(nearSectorsMax+5) * SectorSize
	data := bytes.Repeat([]byte{7}, 2*SectorSize)
	for _, offset := range []uint64{3 * SectorSize, far} {
		s.Load(map[uint64][]byte{offset: data})
	}
	check := func(s *MemoryStorage, what string, want bool) {
		t.Helper()
		buf := make([]byte, 4*SectorSize)
		for _, offset := range []uint64{2 * SectorSize, far - SectorSize} {
			s.Peek(offset, buf)
			wantBuf := make([]byte, 4*SectorSize)
			if want {
				copy(wantBuf[SectorSize:], data)
			}
			if !bytes.Equal(buf, wantBuf) {
				t.Fatalf("%s: bytes at %d are not the sectors written", what, offset)
			}
			if s.Written(offset) || s.Written(offset+SectorSize) != want || s.Written(offset+3*SectorSize) {
				t.Fatalf("%s: Written at %d wrong", what, offset)
			}
		}
	}
	check(s, "written", true)
	c := s.Clone(&splitMix{state: 2})
	s.Wipe()
	check(s, "wiped", false)
	check(c, "clone", true)
}
