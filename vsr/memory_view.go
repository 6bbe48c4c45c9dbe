package vsr

// zeroSector is what a sector never written reads as. PeekSector hands it
// out: nobody may write to it.
var zeroSector [SectorSize]byte

// PeekSector returns the data file's sector at offset as it is now, in
// place: Peek of that one sector without the copy. The environment reads
// a few bytes of many sectors as it checks the replicas (a prepare's
// header, one ring header), and copying each whole 4 KiB sector first was
// most of that work. The array is the storage's own (or, for a sector
// never written, a shared one of zeros): the caller must not write to it,
// and must read it before the next write lands, crash or fault changes it.
func (s *MemoryStorage) PeekSector(offset uint64) *[SectorSize]byte {
	assert(offset%SectorSize == 0, "memory storage: a peeked sector starts on a sector")
	if b := s.sectors.lookup(offset); b != nil {
		return b
	}
	return &zeroSector
}
