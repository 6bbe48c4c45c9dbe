package vsr

import "fmt"

// Peek copies the data at offset into buf as it is now, without a fault,
// a completion or a count: the simulator inspects a disk to tell whether a
// stalled cluster could still find an op, never to feed a replica.
func (s *MemoryStorage) Peek(offset uint64, buf []byte) {
	if offset%SectorSize != 0 || len(buf)%SectorSize != 0 {
		panic(fmt.Sprintf("vsr: memory storage: peek of %d bytes at %d is not whole sectors", len(buf), offset))
	}
	s.get(offset, buf)
}
