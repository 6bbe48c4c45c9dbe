package vsr

// SectorSize is the unit of every storage read and write: offsets and
// lengths are multiples of it, and a write that a crash tears lands a
// prefix of its sectors, each sector whole.
const SectorSize = 4096

// SuperblockCopies is how many copies of the superblock the data file
// keeps; a torn or corrupt write can spoil at most the one being written.
const SuperblockCopies = 4

// headersPerSector is how many redundant headers one sector of the
// headers ring holds.
const headersPerSector = SectorSize / HeaderSize

// Layout says where each zone of a replica's data file lies:
//
//	offset            zone                 size
//	0                 superblock           SuperblockCopies sectors, written in turn
//	HeadersOffset     journal headers      JournalSlots headers, 16 to a sector: the redundant
//	                                       copy of each durable prepare's header
//	PreparesOffset    journal prepares     JournalSlots slots of PrepareSlotSize bytes
//	CheckpointOffset  checkpoints          2 areas of CheckpointAreaSize bytes: the latest
//	                                       durable checkpoint in one, the next written to the other
//	Size              end
//
// There is no client-replies zone: the client table, replies included, is
// part of each checkpoint, and replaying the journal from the checkpoint
// rebuilds the replies of later ops exactly.
type Layout struct {
	HeadersOffset      uint64
	PreparesOffset     uint64
	PrepareSlotSize    uint64
	JournalSlots       uint64
	CheckpointOffset   uint64
	CheckpointAreaSize uint64
	Size               uint64
}

// NewLayout computes the layout of a data file for opts.
func NewLayout(opts Options) Layout {
	opts = opts.withDefaults()
	slots := uint64(opts.JournalSlots)
	l := Layout{
		HeadersOffset:      SuperblockCopies * SectorSize,
		PrepareSlotSize:    sectorCeil(uint64(opts.MessageSizeMax)),
		JournalSlots:       slots,
		CheckpointAreaSize: sectorCeil(opts.CheckpointSizeMax),
	}
	l.PreparesOffset = l.HeadersOffset + sectorCeil(slots*HeaderSize)
	l.CheckpointOffset = l.PreparesOffset + slots*l.PrepareSlotSize
	l.Size = l.CheckpointOffset + 2*l.CheckpointAreaSize
	// Every zone starts on a sector (sizes are whole sectors, modulo 2^64).
	assert(l.PreparesOffset%SectorSize == 0, "the prepares zone starts on a sector")
	assert(l.CheckpointOffset%SectorSize == 0, "the checkpoint zone starts on a sector")
	assert(l.Size%SectorSize == 0, "the data file is whole sectors")
	return l
}

func sectorCeil(n uint64) uint64 { return (n + SectorSize - 1) / SectorSize * SectorSize }

func (l *Layout) superblockOffset(copyIndex uint64) uint64 {
	assert(copyIndex < SuperblockCopies, "a superblock copy of the data file")
	return copyIndex * SectorSize
}

func (l *Layout) headerSectorOffset(sector uint64) uint64 {
	assert(sector < l.headerSectors(), "a sector of the headers ring")
	return l.HeadersOffset + sector*SectorSize
}

func (l *Layout) prepareOffset(slot uint64) uint64 {
	assert(slot < l.JournalSlots, "a slot of the journal")
	return l.PreparesOffset + slot*l.PrepareSlotSize
}

func (l *Layout) checkpointOffset(area uint8) uint64 {
	assert(area <= 1, "one of the two checkpoint areas")
	return l.CheckpointOffset + uint64(area)*l.CheckpointAreaSize
}

// headerSectors is the number of sectors in the headers ring.
func (l *Layout) headerSectors() uint64 {
	n := (l.JournalSlots + headersPerSector - 1) / headersPerSector
	assert(n*headersPerSector >= l.JournalSlots, "the headers ring has a header for every slot")
	return n
}

// Zone names a part of the data file; the simulator uses it to aim storage
// faults (the fault atlas) and to describe them.
type Zone uint8

// Zones of the data file.
const (
	ZoneSuperblock Zone = iota + 1
	ZoneHeaders
	ZonePrepares
	ZoneCheckpoint
)

func (z Zone) String() string {
	switch z {
	case ZoneSuperblock:
		return "superblock"
	case ZoneHeaders:
		return "headers"
	case ZonePrepares:
		return "prepares"
	case ZoneCheckpoint:
		return "checkpoint"
	}
	return "zone(?)"
}

// ZoneOf returns the zone holding offset, and the index of the piece of
// data there (superblock copy, header sector, journal slot, checkpoint
// area), or zero if offset is past the end.
func (l *Layout) ZoneOf(offset uint64) (Zone, uint64) {
	switch {
	case offset < l.HeadersOffset:
		return ZoneSuperblock, offset / SectorSize
	case offset < l.PreparesOffset:
		return ZoneHeaders, (offset - l.HeadersOffset) / SectorSize
	case offset < l.CheckpointOffset:
		return ZonePrepares, (offset - l.PreparesOffset) / l.PrepareSlotSize
	case offset < l.Size:
		return ZoneCheckpoint, (offset - l.CheckpointOffset) / l.CheckpointAreaSize
	}
	return 0, 0
}

// I/O tags say which completion is which: kind in the top byte, an index
// below it.
const (
	tagKindShift      = 56
	tagSuperblock     = 1 // write of a superblock copy
	tagPrepare        = 2 // write of a journal slot
	tagHeaders        = 3 // write of a headers-ring sector
	tagCheckpoint     = 4 // write of a checkpoint area
	tagReadSuper      = 5 // open: read of a superblock copy
	tagReadHeaders    = 6 // open: read of a headers-ring sector
	tagReadPrepare    = 7 // open: read of a journal slot
	tagReadCheckpoint = 8 // open: read of the checkpoint
	tagReread         = 9 // read of a journal slot whose body the open lost (journal_reread.go)
	tagIndexMask      = 1<<tagKindShift - 1
)

func tag(kind, index uint64) uint64 {
	assert(kind >= tagSuperblock, "a known I/O kind")
	assert(kind <= tagReread, "a known I/O kind")
	assert(index <= tagIndexMask, "an I/O index fits below the kind")
	return kind<<tagKindShift | index
}
