package vsr

import (
	"errors"
	"fmt"
)

// MemoryStorage is a data file in memory with the faults of a real disk,
// for tests and the simulator. It keeps data by sector. I/O is submitted
// through the Storage interface and completes only when the environment
// calls Complete (in any order it likes); a Crash decides the fate of the
// writes still in flight. Every fault is drawn from the Random it was
// given, so a seed replays exactly.
type MemoryStorage struct {
	sectors sectorTable // sparse: a sector is allocated when first written
	pending ioWindow
	nextID  uint64
	pool    sectorPool // the arrays and slices of writes' copies, for reuse
	random  Random
	faults  MemoryFaults
	// OnSubmit, if set, is told the id of each I/O as it is submitted, so
	// the environment can schedule its completion.
	OnSubmit func(id uint64)
	stats    MemoryStorageStats
}

type memoryIO struct {
	live   bool // in flight (ioWindow)
	write  bool
	offset uint64
	data   []byte    // read: the caller's buffer
	copy   writeCopy // write: a copy of the data
	tag    uint64
}

// MemoryFaults says which faults the storage injects, as odds per million
// I/Os (0: never). Faulty, if set, limits them to the offsets it accepts:
// the simulator's fault atlas keeps every piece of data intact on enough
// replicas. Torn and lost writes at a crash are not faults of the disk
// but of the crash, and always apply.
type MemoryFaults struct {
	ReadErrorPerMillion uint64 // a read fails (a latent sector error)
	CorruptPerMillion   uint64 // a write lands with one bit flipped
	MisdirectPerMillion uint64 // a write of size bytes lands elsewhere instead (Misdirect says where)
	Faulty              func(offset uint64) bool
	Misdirect           func(offset, size uint64) (uint64, bool) // where a misdirected write may land instead
	// Tear, if set, is asked at a crash about the last sector a write in
	// flight landed (at offset): it may tear it, keeping only the first
	// bytes of the new data (the rest of the sector keeps its old bytes).
	Tear func(offset uint64) (newBytes uint64, torn bool)
	// WriteError, if set, is asked as each write of size bytes at offset
	// completes whether the disk failed it, and how many of its sectors
	// landed before it failed (fewer than all; the rest keep their old
	// bytes), as a crash would leave them. The replica is told
	// ErrWriteFault and must write again before it counts on the data.
	WriteError func(offset, size uint64) (landedSectors uint64, failed bool)
}

// SetFaults replaces the fault odds (the simulator stops faults for its
// liveness phase).
func (s *MemoryStorage) SetFaults(f MemoryFaults) { s.faults = f }

// MemoryStorageStats counts what the storage did.
type MemoryStorageStats struct {
	Reads, Writes                        uint64
	ReadErrors, Corruptions, Misdirected uint64
	WriteErrors                          uint64 // writes failed (WriteError), part landed or none
	Torn, Lost                           uint64 // writes in flight at a crash: partly landed, not landed
	TornSectors                          uint64 // sectors a crash left part new, part old (Tear)
}

// ErrReadFault is the error of a read that the storage failed.
var ErrReadFault = errors.New("vsr: memory storage: read fault (latent sector error)")

// ErrWriteFault is the error of a write that the storage failed: some of
// its sectors may have landed, the others keep their old bytes.
var ErrWriteFault = errors.New("vsr: memory storage: write fault")

// NewMemoryStorage returns an empty (all-zero) data file.
func NewMemoryStorage(random Random, faults MemoryFaults) *MemoryStorage {
	return &MemoryStorage{random: random, faults: faults}
}

// Load writes sectors (by offset, each a whole number of sectors) directly,
// as FormatDataFile's output is written before a replica starts.
func (s *MemoryStorage) Load(sectors map[uint64][]byte) {
	for offset, data := range sectors { // tidy:unordered the entries do not overlap, so each lands whole in any order
		assert(len(data)%SectorSize == 0, "memory storage: loaded data is whole sectors")
		s.put(offset, data)
	}
}

func (s *MemoryStorage) Read(offset uint64, buf []byte, tag uint64) {
	s.submit(memoryIO{offset: offset, data: buf, tag: tag})
}

func (s *MemoryStorage) Write(offset uint64, data []byte, tag uint64) {
	if offset%SectorSize != 0 || len(data)%SectorSize != 0 || len(data) == 0 {
		panic(fmt.Sprintf("vsr: memory storage: write of %d bytes at %d is not whole sectors", len(data), offset))
	}
	s.submit(memoryIO{write: true, offset: offset, copy: s.pool.copyOf(data), tag: tag})
}

func (s *MemoryStorage) submit(io memoryIO) {
	if io.offset%SectorSize != 0 || len(io.data)%SectorSize != 0 {
		panic(fmt.Sprintf("vsr: memory storage: I/O of %d bytes at %d is not whole sectors", len(io.data), io.offset))
	}
	assert(io.write == (len(io.copy) > 0), "memory storage: a write, and only a write, holds a copy")
	s.nextID++
	s.pending.add(s.nextID, io)
	if s.OnSubmit != nil {
		s.OnSubmit(s.nextID)
	}
}

// Pending returns how many I/Os are in flight.
func (s *MemoryStorage) Pending() int { return s.pending.count }

// Complete finishes I/O id: a write lands (perhaps with a fault), a read
// fills its buffer (or fails). It returns the tag and error to hand to the
// replica's StorageDone, and false if id is not in flight (a crash took it).
func (s *MemoryStorage) Complete(id uint64) (tag uint64, err error, ok bool) {
	io, ok := s.pending.take(id)
	if !ok {
		return 0, nil, false
	}
	assert(len(io.data) > 0 || len(io.copy) > 0, "memory storage: an I/O moves data")
	if io.write {
		s.stats.Writes++
		return io.tag, s.landOrFail(io.offset, io.copy), true
	}
	s.stats.Reads++
	if s.chance(s.faults.ReadErrorPerMillion, io.offset) {
		s.stats.ReadErrors++
		return io.tag, ErrReadFault, true
	}
	s.get(io.offset, io.data)
	return io.tag, nil, true
}

// landOrFail applies a write, or, if WriteError fails it, the sectors it
// says landed first. The write's copy goes back to the pool.
func (s *MemoryStorage) landOrFail(offset uint64, c writeCopy) error {
	if s.faults.WriteError == nil {
		s.land(offset, c)
		return nil
	}
	sectors := uint64(len(c))
	assert(sectors > 0, "memory storage: a write has sectors to land")
	landed, failed := s.faults.WriteError(offset, uint64(c.size()))
	if !failed {
		s.land(offset, c)
		return nil
	}
	assert(landed < sectors, "memory storage: a failed write lands fewer sectors than it has")
	s.stats.WriteErrors++
	s.install(offset, c, int(landed))
	s.pool.release(c, int(landed))
	return ErrWriteFault
}

// land applies a write, with the faults that may strike it.
func (s *MemoryStorage) land(offset uint64, c writeCopy) {
	assert(len(c) > 0, "memory storage: a write lands data")
	if s.chance(s.faults.MisdirectPerMillion, offset) && s.faults.Misdirect != nil {
		if other, ok := s.faults.Misdirect(offset, uint64(c.size())); ok && other != offset {
			assert(other%SectorSize == 0, "memory storage: a misdirected write lands on a sector")
			s.stats.Misdirected++
			offset = other
		}
	}
	if s.chance(s.faults.CorruptPerMillion, offset) {
		s.stats.Corruptions++
		c.flip(s.random.Uint64() % uint64(c.size()*8))
	}
	s.install(offset, c, len(c))
	s.pool.release(c, len(c))
}

// install makes the first n sectors of a write's copy the data file's
// sectors from offset on (where put would copy them) and gives the arrays
// they replace back to the pool. The caller then releases the copy.
func (s *MemoryStorage) install(offset uint64, c writeCopy, n int) {
	assert(offset%SectorSize == 0, "memory storage: a write lands on a sector")
	assert(n >= 0 && n <= len(c), "memory storage: a write lands sectors it has")
	for i := range n {
		s.pool.give(s.sectors.install(offset+uint64(i)*SectorSize, c[i]))
	}
}

func (s *MemoryStorage) chance(perMillion, offset uint64) bool {
	if perMillion == 0 || (s.faults.Faulty != nil && !s.faults.Faulty(offset)) {
		return false
	}
	return s.random.Uint64()%1_000_000 < perMillion
}

// Crash ends every I/O in flight as a power loss would: a read is
// forgotten; a write lands a random prefix of its sectors, each whole
// (none: lost; all: it made it), except that Tear may tear the last sector
// landed. Writes are decided in submission order.
func (s *MemoryStorage) Crash() {
	for _, io := range s.pending.takeAll() { // in submission order
		if !io.write {
			continue
		}
		sectors := uint64(len(io.copy))
		n := s.random.Uint64() % (sectors + 1)
		switch {
		case n == 0:
			s.stats.Lost++
		case n < sectors:
			s.stats.Torn++
		}
		if n > 0 && s.faults.Tear != nil {
			last := (n - 1) * SectorSize
			s.install(io.offset, io.copy, int(n-1))
			s.tear(io.offset+last, io.copy[n-1][:])
			s.pool.release(io.copy, int(n-1))
		} else {
			s.install(io.offset, io.copy, int(n))
			s.pool.release(io.copy, int(n))
		}
	}
}

// tear lands one sector of a write cut by a crash: whole, or, if Tear says
// so, its first bytes new and the rest as they were.
func (s *MemoryStorage) tear(offset uint64, data []byte) {
	b := s.sectorFor(offset)
	keep, torn := s.faults.Tear(offset)
	if !torn || keep == 0 || keep >= SectorSize {
		copy(b, data)
		return
	}
	s.stats.TornSectors++
	copy(b[:keep], data[:keep])
}

// Peek copies the data file's bytes at offset into buf as they are now,
// without faults or waiting: the environment's own view of the disk (the
// simulator counts the damage its faults left), never the replica's.
func (s *MemoryStorage) Peek(offset uint64, buf []byte) {
	if offset%SectorSize != 0 || len(buf)%SectorSize != 0 {
		panic(fmt.Sprintf("vsr: memory storage: Peek of %d bytes at %d is not whole sectors", len(buf), offset))
	}
	s.get(offset, buf)
}

// Written reports whether the sector at offset was ever written (a sector
// never written reads as zeros).
func (s *MemoryStorage) Written(offset uint64) bool {
	return s.sectors.lookup(offset-offset%SectorSize) != nil
}

// Wipe erases the whole data file, as replacing the disk would; the
// environment then loads a fresh format. Nothing may be in flight.
func (s *MemoryStorage) Wipe() {
	if s.pending.count > 0 {
		panic("vsr: memory storage: Wipe with I/O in flight")
	}
	s.sectors.reset()
}

// FlipBit flips one bit of the data at offset (a whole-sector offset plus
// bit index), as bit rot on the platter would: tests aim it at a chosen op.
func (s *MemoryStorage) FlipBit(offset uint64, bit uint64) {
	sector := offset + bit/8/SectorSize*SectorSize
	b := s.sectorFor(sector)
	b[(bit/8)%SectorSize] ^= 1 << (bit % 8)
}

// Stats returns what the storage did.
func (s *MemoryStorage) Stats() MemoryStorageStats { return s.stats }

func (s *MemoryStorage) put(offset uint64, data []byte) {
	assert(offset%SectorSize == 0, "memory storage: data is put at a sector")
	for i := uint64(0); i < uint64(len(data)); i += SectorSize {
		copy(s.sectorFor(offset+i), data[i:i+SectorSize])
	}
}

func (s *MemoryStorage) get(offset uint64, buf []byte) {
	assert(offset%SectorSize == 0, "memory storage: data is read from a sector")
	assert(len(buf)%SectorSize == 0, "memory storage: data is read in whole sectors")
	for i := uint64(0); i < uint64(len(buf)); i += SectorSize {
		if b := s.sectors.lookup(offset + i); b != nil {
			copy(buf[i:i+SectorSize], b[:])
		} else {
			clear(buf[i : i+SectorSize])
		}
	}
}

func (s *MemoryStorage) sectorFor(offset uint64) []byte {
	return s.sectors.create(offset)[:]
}

// Clone returns a copy of the data file with nothing in flight, for tests
// that open one image many ways.
func (s *MemoryStorage) Clone(random Random) *MemoryStorage {
	c := NewMemoryStorage(random, s.faults)
	s.sectors.each(func(offset uint64, b *[SectorSize]byte) { *c.sectors.create(offset) = *b })
	return c
}
