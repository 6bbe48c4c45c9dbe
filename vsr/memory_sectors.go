package vsr

// sectorTable is MemoryStorage's data file, sparse: a sector's memory is
// allocated when the sector is first written, and a sector never written
// reads as zeros. Sectors are found by index in a table (faster than a map
// on every sector of every I/O) and carved from slabs of a few at a time
// (fewer, larger allocations than one per sector).
type sectorTable struct {
	near []*[SectorSize]byte // by sector index below nearSectorsMax; nil: never written
	// far holds sectors at or above nearSectorsMax, so that a stray offset
	// never grows the table to reach it. Looked up, never iterated but by
	// each, which sorts nothing because its callers' results do not
	// depend on the order.
	far  map[uint64]*[SectorSize]byte
	slab [][SectorSize]byte // sectors allocated but not yet handed out
}

// nearSectorsMax bounds the table: 2^22 sectors is a 16 GiB data file,
// beyond any the options allow.
const nearSectorsMax = 1 << 22

// slabSectors is how many sectors one allocation carves.
const slabSectors = 16

// lookup returns the sector at offset, or nil if it was never written.
func (t *sectorTable) lookup(offset uint64) *[SectorSize]byte {
	assert(offset%SectorSize == 0, "memory storage: a sector starts on a sector")
	i := offset / SectorSize
	if i < uint64(len(t.near)) {
		return t.near[i]
	}
	if i >= nearSectorsMax {
		return t.far[i]
	}
	return nil
}

// create returns the sector at offset, allocating it (zeroed) if it was
// never written.
func (t *sectorTable) create(offset uint64) *[SectorSize]byte {
	if b := t.lookup(offset); b != nil {
		return b
	}
	if len(t.slab) == 0 {
		t.slab = make([][SectorSize]byte, slabSectors)
	}
	assert(len(t.slab) <= slabSectors, "memory storage: a slab holds at most its sectors")
	b := &t.slab[0]
	t.slab = t.slab[1:]
	i := offset / SectorSize
	if i >= nearSectorsMax {
		if t.far == nil {
			t.far = map[uint64]*[SectorSize]byte{}
		}
		t.far[i] = b
		assert(t.lookup(offset) == b, "memory storage: a created far sector is found")
		return b
	}
	if i >= uint64(len(t.near)) {
		t.near = append(t.near, make([]*[SectorSize]byte, i+1-uint64(len(t.near)))...)
	}
	t.near[i] = b
	assert(t.lookup(offset) == b, "memory storage: a created sector is found")
	return b
}

// install makes b the sector at offset and returns the array it replaces
// (nil if the sector was never written), which nothing else then holds.
func (t *sectorTable) install(offset uint64, b *[SectorSize]byte) *[SectorSize]byte {
	assert(b != nil, "memory storage: an installed sector has memory")
	old := t.create(offset)
	i := offset / SectorSize
	if i >= nearSectorsMax {
		t.far[i] = b
	} else {
		t.near[i] = b
	}
	assert(t.lookup(offset) == b, "memory storage: an installed sector is found")
	return old
}

// reset forgets every sector: the whole file reads as zeros again.
func (t *sectorTable) reset() {
	*t = sectorTable{}
	assert(t.lookup(0) == nil, "memory storage: a reset file reads as never written")
}

// each calls fn for every sector ever written, in no particular order.
func (t *sectorTable) each(fn func(offset uint64, b *[SectorSize]byte)) {
	assert(len(t.near) <= nearSectorsMax, "memory storage: the table stays within its bound")
	for i, b := range t.near {
		if b != nil {
			fn(uint64(i)*SectorSize, b)
		}
	}
	for i, b := range t.far { // tidy:unordered each says in no particular order; its one caller copies every sector
		assert(i >= nearSectorsMax, "memory storage: a far sector lies beyond the table")
		fn(i*SectorSize, b)
	}
}
