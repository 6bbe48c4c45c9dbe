package vsr

// writeCopy is a write's data as MemoryStorage holds it in flight: one
// sector array per sector, so that a write landing hands its arrays to the
// sector table (and takes the ones they replace for the next copy) rather
// than copying every byte a second time.
type writeCopy []*[SectorSize]byte

// size is the length of the copied data in bytes.
func (c writeCopy) size() int { return len(c) * SectorSize }

// flip flips bit of the copied data, as a write corrupted on its way.
func (c writeCopy) flip(bit uint64) {
	assert(bit < uint64(c.size())*8, "memory storage: a flipped bit lies within the write")
	c[bit/8/SectorSize][(bit/8)%SectorSize] ^= 1 << (bit % 8)
}

// sectorPool holds the sector arrays and copy slices MemoryStorage is not
// using, for the next writes' copies: a busy simulated disk would
// otherwise allocate (and the collector reclaim) a copy per write.
type sectorPool struct {
	sectors []*[SectorSize]byte
	copies  [][]writeCopy // empty copy slices, by length in sectors
}

// sectorPoolMax bounds the free sector arrays kept, and copiesMax the
// free copy slices of one length: more than a replica's writes in flight
// at once is never needed.
const (
	sectorPoolMax = 1024
	copiesMax     = 64
)

// copyOf returns a copy of data, which is whole sectors. Every byte of
// every array is overwritten, so which arrays it gets changes nothing.
func (p *sectorPool) copyOf(data []byte) writeCopy {
	assert(len(data) > 0 && len(data)%SectorSize == 0, "memory storage: a write's data is whole sectors")
	n := len(data) / SectorSize
	var c writeCopy
	if free := p.freeCopies(n); len(free) > 0 {
		c = free[len(free)-1][:n]
		free[len(free)-1] = nil
		p.copies[n] = free[:len(free)-1]
	} else {
		c = make(writeCopy, n)
	}
	for i := range c {
		b := p.take()
		copy(b[:], data[i*SectorSize:(i+1)*SectorSize])
		c[i] = b
	}
	assert(c.size() == len(data), "memory storage: a write's copy has the write's length")
	return c
}

// take returns a free sector array, carving a slab of them (fewer, larger
// allocations) when none is free.
func (p *sectorPool) take() *[SectorSize]byte {
	if len(p.sectors) == 0 {
		slab := make([][SectorSize]byte, slabSectors)
		for i := range slab {
			p.sectors = append(p.sectors, &slab[i])
		}
	}
	k := len(p.sectors)
	b := p.sectors[k-1]
	p.sectors[k-1] = nil
	p.sectors = p.sectors[:k-1]
	assert(b != nil, "memory storage: a free sector array has memory")
	return b
}

// give takes back a sector array nothing else holds.
func (p *sectorPool) give(b *[SectorSize]byte) {
	if b != nil && len(p.sectors) < sectorPoolMax {
		p.sectors = append(p.sectors, b)
	}
	assert(len(p.sectors) <= sectorPoolMax, "memory storage: the free sector arrays are bounded")
}

// release takes back a write's copy once done, with the arrays from index
// kept on (those before it went to the sector table).
func (p *sectorPool) release(c writeCopy, kept int) {
	assert(kept >= 0 && kept <= len(c), "memory storage: a write's copy keeps arrays it has")
	for i := kept; i < len(c); i++ {
		p.give(c[i])
	}
	clear(c)
	n := len(c)
	if n >= len(p.copies) {
		p.copies = append(p.copies, make([][]writeCopy, n+1-len(p.copies))...)
	}
	if len(p.copies[n]) < copiesMax {
		p.copies[n] = append(p.copies[n], c[:0])
	}
}

// freeCopies returns the empty copy slices of length n kept for reuse.
func (p *sectorPool) freeCopies(n int) []writeCopy {
	assert(n > 0, "memory storage: a write's copy has sectors")
	if n < len(p.copies) {
		return p.copies[n]
	}
	return nil
}
