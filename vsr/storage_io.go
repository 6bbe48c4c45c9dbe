package vsr

import "encoding/binary"

// SectorSize is the unit of every storage read and write: offsets and
// lengths are multiples of it.
const SectorSize = 4096

// SuperblockCopies is how many copies of the superblock the data file
// keeps; a torn or corrupt write can spoil at most the one being written.
const SuperblockCopies = 4

// Layout says where each zone of a replica's data file lies.
//
//	offset                       zone
//	0                            superblock: SuperblockCopies sectors, written round-robin
//	PreparesOffset               journal prepares: JournalSlots slots of PrepareSlotSize bytes
//	Size                         end
//
// The durability issue adds the redundant headers ring, client replies and
// the checkpoint area.
type Layout struct {
	PreparesOffset  uint64
	PrepareSlotSize uint64
	JournalSlots    uint64
	Size            uint64
}

// NewLayout computes the layout of a data file for opts.
func NewLayout(opts Options) Layout {
	opts = opts.withDefaults()
	l := Layout{
		PreparesOffset:  SuperblockCopies * SectorSize,
		PrepareSlotSize: sectorCeil(uint64(opts.MessageSizeMax)),
		JournalSlots:    uint64(opts.JournalSlots),
	}
	l.Size = l.PreparesOffset + l.JournalSlots*l.PrepareSlotSize
	return l
}

func sectorCeil(n uint64) uint64 { return (n + SectorSize - 1) / SectorSize * SectorSize }

// I/O tags say which completion is which: kind in the top byte, an index
// below it.
const (
	tagKindShift  = 56
	tagSuperblock = 1
	tagPrepare    = 2
	tagIndexMask  = 1<<tagKindShift - 1
)

// StorageDone is the completion of the I/O submitted with tag. For a read,
// buf has been filled (or err says why not).
func (r *Replica) StorageDone(tag uint64, err error) {
	r.storageDone(tag, err)
	r.assertInvariants()
}

func (r *Replica) storageDone(tag uint64, err error) {
	switch tag >> tagKindShift {
	case tagSuperblock:
		r.super.writeDone(err)
	case tagPrepare:
		r.prepareWriteDone(int(tag&tagIndexMask), err)
	default:
		panic("vsr: StorageDone with an unknown tag")
	}
}

// writePrepare submits the write of op's prepare to its journal slot,
// unless one is in flight for this slot: then prepareWriteDone submits it.
func (r *Replica) writePrepare(op uint64) {
	s := r.journal.slotOf(op)
	if len(s.message) == 0 || s.header.Op != op {
		panic("vsr: writePrepare without the prepare")
	}
	if !s.writing.IsZero() || s.durable == s.header.Checksum {
		return
	}
	index := op % uint64(len(r.journal.slots))
	size := sectorCeil(uint64(len(s.message)))
	clear(s.buffer[len(s.message):size])
	s.writing = s.header.Checksum
	r.storage.Write(r.layout.PreparesOffset+index*r.layout.PrepareSlotSize, s.buffer[:size],
		tagPrepare<<tagKindShift|index)
}

func (r *Replica) prepareWriteDone(index int, err error) {
	if index >= len(r.journal.slots) {
		panic("vsr: prepare write completion for a slot that does not exist")
	}
	s := &r.journal.slots[index]
	if s.writing.IsZero() {
		panic("vsr: prepare write completion without a write in flight")
	}
	written := s.writing
	s.writing = U128{}
	if err != nil {
		// Retry: a write must land before the prepare can count as durable.
		r.writePrepare(s.header.Op)
		return
	}
	s.durable = written
	if s.header.Checksum != written {
		if len(s.message) > 0 {
			r.writePrepare(s.header.Op) // the slot was reused while the write was in flight
		}
		return
	}
	r.onPrepareDurable(s.header.Op, written)
}

// superblock makes view and log_view durable before the replica acts on
// them (DESIGN.md). Writes go to the copies in turn; at most one is in
// flight, and the latest wanted state is written when it completes.
type superblock struct {
	r        *Replica
	sequence uint64
	buf      []byte // one sector
	want     superblockState
	writing  superblockState
	inFlight bool
	durable  superblockState
}

type superblockState struct {
	view    uint32
	logView uint32
	commit  uint64
}

func newSuperblock(r *Replica) superblock {
	// A freshly formatted replica starts durable at view 0.
	return superblock{r: r, buf: make([]byte, SectorSize)}
}

// persist asks for the replica's current view and log_view to be made
// durable; the replica's onDurable runs when they are.
func (s *superblock) persist() {
	s.want = superblockState{view: s.r.view, logView: s.r.logView, commit: s.r.commitMin}
	if !s.inFlight {
		s.submit()
	}
}

func (s *superblock) submit() {
	s.sequence++
	s.writing, s.inFlight = s.want, true
	s.encode()
	copyIndex := s.sequence % SuperblockCopies
	s.r.storage.Write(copyIndex*SectorSize, s.buf, tagSuperblock<<tagKindShift|copyIndex)
}

// Superblock sector layout (little-endian): checksum u128 over the rest of
// the sector, magic [8]byte, cluster u128, sequence u64, view u32,
// log_view u32, commit u64, replica u8, replica_count u8, zero to the end.
const superblockMagic = "govsrSB1"

func (s *superblock) encode() {
	b := s.buf
	clear(b)
	copy(b[16:24], superblockMagic)
	putU128(b[24:], s.r.opts.Cluster)
	binary.LittleEndian.PutUint64(b[40:], s.sequence)
	binary.LittleEndian.PutUint32(b[48:], s.writing.view)
	binary.LittleEndian.PutUint32(b[52:], s.writing.logView)
	binary.LittleEndian.PutUint64(b[56:], s.writing.commit)
	b[64], b[65] = s.r.opts.Replica, s.r.opts.ReplicaCount
	putU128(b[0:], Checksum(b[16:]))
}

func (s *superblock) writeDone(err error) {
	if !s.inFlight {
		panic("vsr: superblock write completion without a write in flight")
	}
	s.inFlight = false
	if err == nil {
		s.durable = s.writing
	}
	if s.want.view != s.durable.view || s.want.logView != s.durable.logView {
		s.submit()
		return
	}
	s.r.onDurable()
}

// viewDurable reports whether the replica's view and log_view are on disk.
func (r *Replica) viewDurable() bool {
	return r.super.durable.view == r.view && r.super.durable.logView == r.logView
}
