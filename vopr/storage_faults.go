package vopr

import (
	"fmt"

	"github.com/govsr/govsr/faults"
	"github.com/govsr/govsr/vsr"
)

// The faults of StorageAtlasOptions, on one simulated disk: where the
// atlas (vopr/atlas.go) lets them strike, from streams of their own so
// that turning one on shifts no other fault's draws.

// atlasStreams are a disk's streams for the atlas options' faults.
type atlasStreams struct {
	misdirect *faults.PRNG // where a misdirected write lands
	tear      *faults.PRNG // whether a crash tears a sector, and where
	rot       *faults.PRNG // bit rot at rest
	restart   *faults.PRNG // bit rot found at a restart
}

// recentWrites is how many of a disk's latest write offsets bit rot may
// aim at: rot far below the head of the log strikes ops long committed
// and executed everywhere, while rot near it strikes what view changes,
// repair and recovery still need.
const recentWrites = 16

func newAtlasStreams(s *Simulator, replica int) atlasStreams {
	name := func(kind string) *faults.PRNG {
		return s.root.Stream(fmt.Sprintf("storage/replica-%d/%s", replica, kind))
	}
	return atlasStreams{misdirect: name("misdirect"), tear: name("tear"), rot: name("rot"), restart: name("rot-restart")}
}

// atlasFaults are the disk's faults when any atlas option is on: the
// storage rates wherever the atlas lets faults strike, and torn sectors.
func (st *simStorage) atlasFaults() vsr.MemoryFaults {
	so := st.opts
	var f vsr.MemoryFaults
	if st.atlas.struck(st.replica) {
		f = vsr.MemoryFaults{
			ReadErrorPerMillion: perMillion(so.ReadError), CorruptPerMillion: perMillion(so.Corrupt),
			MisdirectPerMillion: perMillion(so.Misdirect), Misdirect: st.misdirectAtlas,
			Faulty: func(offset uint64) bool { return st.atlas.faultable(st.replica, offset) },
		}
	}
	if so.Atlas.TornSector.Num > 0 {
		f.Tear = st.tear
	}
	return f
}

// misdirectAtlas picks where a misdirected write of size bytes at offset
// lands: it must leave a faultable place (its target keeps its old data)
// and land on one (it overwrites what is there). Far, anywhere faultable;
// near, the same offset of another piece of its zone.
func (st *simStorage) misdirectAtlas(offset, size uint64) (uint64, bool) {
	a := st.atlas
	zone, _ := st.layout.ZoneOf(offset)
	if a.slotLoss && zone == vsr.ZoneHeaders {
		return offset, false // the double fault the atlas leaves out (atlas.go)
	}
	if !a.faultableRange(st.replica, offset, size) {
		return offset, false
	}
	var other uint64
	var ok bool
	if st.opts.Atlas.MisdirectFar {
		other, ok = a.pickRange(st.replica, st.streams.misdirect, size, offset)
	} else {
		other, ok = st.misdirectNear(offset)
	}
	if !ok || other == offset || !a.faultableRange(st.replica, other, size) {
		return offset, false
	}
	a.stats.Misdirects++
	toZone, _ := st.layout.ZoneOf(other)
	if toZone != zone || st.offsetInPiece(other) != st.offsetInPiece(offset) {
		a.stats.MisdirectsFar++
	}
	if zone == vsr.ZoneSuperblock || toZone == vsr.ZoneSuperblock {
		a.stats.SuperblockMisdirects++
	}
	if st.sim.logs(logFull) {
		st.sim.logf(logFull, "replica %d disk: write of %d bytes misdirected from %s to %s", st.replica, size,
			st.place(offset), st.place(other))
	}
	return other, true
}

// misdirectNear is the whole-disk atlas's misdirect, and between
// superblock copies.
func (st *simStorage) misdirectNear(offset uint64) (uint64, bool) {
	zone, _ := st.layout.ZoneOf(offset)
	if zone == vsr.ZoneSuperblock {
		other := st.streams.misdirect.Uint64N(vsr.SuperblockCopies) * vsr.SectorSize
		return other, other != offset
	}
	return st.misdirect(offset, 0)
}

// offsetInPiece is offset's position within its piece of data (copy,
// header sector, slot, checkpoint area).
func (st *simStorage) offsetInPiece(offset uint64) uint64 {
	l := &st.layout
	zone, index := l.ZoneOf(offset)
	switch zone {
	case vsr.ZonePrepares:
		return offset - l.PreparesOffset - index*l.PrepareSlotSize
	case vsr.ZoneCheckpoint:
		return offset - l.CheckpointOffset - index*l.CheckpointAreaSize
	}
	return 0
}

// place describes offset for the log.
func (st *simStorage) place(offset uint64) string {
	zone, index := st.layout.ZoneOf(offset)
	if in := st.offsetInPiece(offset); in > 0 {
		return fmt.Sprintf("%s %d+%d", zone, index, in)
	}
	return fmt.Sprintf("%s %d", zone, index)
}

// tear decides, at a crash, whether the last sector a write landed is
// torn, and how many of its bytes are new.
func (st *simStorage) tear(offset uint64) (uint64, bool) {
	p := st.streams.tear
	torn := p.Chance(st.opts.Atlas.TornSector)
	keep := 1 + p.Uint64N(vsr.SectorSize-1)
	if !torn || !st.atlas.tearable(st.replica, offset) {
		return 0, false
	}
	st.atlas.stats.TornSectors++
	if st.sim.logs(logFull) {
		st.sim.logf(logFull, "replica %d disk: crash tore %s after %d bytes", st.replica, st.place(offset), keep)
	}
	return keep, true
}

// rot flips, with the seed's bit-rot odds, one bit of data at rest in a
// faultable piece of this disk, half the time one of the latest written:
// the piece's first sector (a prepare's header and the start of its body,
// a ring sector, a superblock copy, a checkpoint's first sector), if it
// was ever written. Where the atlas lets a slot lose both copies, half the
// time the rot takes the slot's ring header as well: damage in one region
// of a disk comes together.
func (st *simStorage) rot() {
	p := st.streams.rot
	hit := p.Chance(st.opts.Atlas.BitRot)
	pick, bit, both, recent := p.Uint64(), p.Uint64N(vsr.SectorSize*8), p.Bool(), p.Bool()
	pieces := st.atlas.pieces[st.replica]
	if !hit || len(pieces) == 0 {
		return
	}
	offset := pieces[pick%uint64(len(pieces))]
	if latest := min(st.recentAt, recentWrites); recent && latest > 0 {
		offset = st.pieceOf(st.recent[pick%uint64(latest)])
	}
	if !st.atlas.faultable(st.replica, offset) || !st.Written(offset) {
		return
	}
	st.flip(offset, bit, both)
}

// flip flips bit of the piece at offset and, if both and it is a prepare
// slot whose ring header faults may strike too, the same bit of that
// header: damage in one region of a disk comes together.
func (st *simStorage) flip(offset, bit uint64, both bool) {
	st.FlipBit(offset, bit)
	st.atlas.stats.BitRot++
	if st.sim.logs(logFull) {
		st.sim.logf(logFull, "replica %d disk: bit rot in %s", st.replica, st.place(offset))
	}
	l := &st.layout
	if zone, slot := l.ZoneOf(offset); zone == vsr.ZonePrepares && both {
		sector := l.HeadersOffset + slot/headersPerSector*vsr.SectorSize
		if st.atlas.faultable(st.replica, sector) && st.Written(sector) {
			st.FlipBit(sector, slot%headersPerSector*vsr.HeaderSize*8+bit%(vsr.HeaderSize*8))
			st.atlas.stats.BitRot++
		}
	}
}

// rotAtRestart: a disk back from a crash may have lost one of the last
// writes it reported done (a latent sector error the open finds, a drive
// that lied about a flush). With bit rot on, half the restarts find a bit
// flipped in the header of one of the latest prepares written before the
// crash, where the atlas lets faults strike, and half of those in its ring
// header as well. Rot at random times seldom lands on a prepare that was
// acknowledged and still matters when the replica comes back (an op not
// yet known committed, which a view change may ask it about); this aims it
// there, where Protocol-Aware Recovery's rules (never nack what was once
// durable) are tested.
func (st *simStorage) rotAtRestart() {
	p := st.streams.restart
	hit, pick, bit, both := p.Bool(), p.Uint64(), p.Uint64N(vsr.HeaderSize*8), p.Bool()
	if st.opts.Atlas.BitRot.Num == 0 || !hit {
		return
	}
	var prepares [recentWrites]uint64
	found := 0
	for k := range min(st.recentAt, recentWrites) {
		if offset := st.recent[k]; st.layout.PreparesOffset <= offset && offset < st.layout.CheckpointOffset {
			prepares[found] = st.pieceOf(offset)
			found++
		}
	}
	if found == 0 {
		return
	}
	if piece := prepares[pick%uint64(found)]; st.atlas.faultable(st.replica, piece) && st.Written(piece) {
		st.flip(piece, bit, both)
		st.atlas.stats.RestartRot++
	}
}

// pieceOf returns the offset of the first sector of the piece of data
// (superblock copy, ring sector, slot, checkpoint area) holding offset.
func (st *simStorage) pieceOf(offset uint64) uint64 {
	return offset - st.offsetInPiece(offset) - offset%vsr.SectorSize
}

// stepStorage runs every 100 ms of the safety phase: bit rot on every
// disk. Every draw is made whatever the phase.
func (s *Simulator) stepStorage() {
	for _, r := range s.replicas {
		if s.phase == phaseSafety {
			r.storage.rot()
		}
	}
}

// audit counts, as replica i restarts, the damage its disk holds:
// superblock copies that fail their checksum, journal slots neither of
// whose copies is readable, and such slots that read as blank since.
func (s *Simulator) audit(i int) {
	st := s.replicas[i].storage
	if !s.opts.Storage.Atlas.any() {
		return
	}
	a, l := st.atlas, &st.layout
	// One buffer for the sector, ring and slot reads (each read fills its
	// part whole before it is looked at): a swarm restarts replicas often.
	size := vsr.SectorSize + uint64(a.chunks)*vsr.SectorSize + l.PrepareSlotSize
	if uint64(len(a.auditBuf)) != size {
		a.auditBuf = make([]byte, size)
	}
	b, ring, prepare := a.auditBuf[:vsr.SectorSize], a.auditBuf[vsr.SectorSize:size-l.PrepareSlotSize], a.auditBuf[size-l.PrepareSlotSize:]
	for c := range uint64(vsr.SuperblockCopies) {
		st.Peek(c*vsr.SectorSize, b)
		if !selfChecked(b) {
			a.stats.SuperblockCopiesInvalid++
		}
	}
	st.Peek(l.HeadersOffset, ring)
	for slot := range l.JournalSlots {
		st.Peek(l.PreparesOffset+slot*l.PrepareSlotSize, prepare)
		h := ring[slot*vsr.HeaderSize : (slot+1)*vsr.HeaderSize]
		class, _, _ := vsr.ClassifySlot(slot, l.JournalSlots, h, prepare, s.opts.MessageSizeMax, 0, 0)
		if class == vsr.SlotCorrupt {
			a.stats.SlotsLost++
		}
		if class == vsr.SlotBlank && a.corrupt[i][slot] {
			a.stats.SlotsForgotten++
			s.logf(logShort, "replica %d disk: slot %d, corrupt at the last restart, now reads as never written", i, slot)
		}
		a.corrupt[i][slot] = class == vsr.SlotCorrupt
		a.auditCopies(h, prepare, s.opts.MessageSizeMax)
	}
}

// replaceDisk, as replica i restarts, may find its disk replaced while it
// was down: the operator formatted a new one with --rejoin. The atlas must
// have room for one more lost disk (atlas.canReplace). The durability
// checker forgets what the lost disk had made durable.
func (s *Simulator) replaceDisk(i int) {
	r := s.replicas[i]
	a := r.storage.atlas
	if !a.replace.Chance(s.opts.Storage.Atlas.Replace) || s.phase != phaseSafety || !a.canReplace(i) {
		return
	}
	s.formatRejoin(i)
}

// formatRejoin replaces replica i's disk, while it is down, with one
// formatted --rejoin.
func (s *Simulator) formatRejoin(i int) {
	r := s.replicas[i]
	a := r.storage.atlas
	sectors, err := vsr.FormatDataFileForRejoin(r.opts)
	if err != nil {
		panic("vopr: FormatDataFileForRejoin: " + err.Error())
	}
	r.storage.Wipe()
	r.storage.Load(sectors)
	a.replaced[i] = true
	a.stats.Replacements++
	s.check.durability.forget(i)
	s.check.promises.forget(i)
	s.logf(logShort, "replica %d: disk replaced while down (formatted --rejoin)", i)
}

// auditCopies counts a slot whose two copies are both valid for one op
// with different checksums, or whose prepare is valid under a corrupt
// ring header: the open decides such slots without knowing (issue 8,
// finding 1), so the swarm should reach them.
func (a *atlas) auditCopies(ring, prepare []byte, sizeMax uint32) {
	p, _, pErr := vsr.Decode(prepare, sizeMax)
	if pErr != nil || p.Command != vsr.CommandPrepare {
		return
	}
	h, hErr := vsr.DecodeHeader(ring)
	switch {
	case hErr == nil && h.Command == vsr.CommandPrepare && h.Op == p.Op && h.Checksum != p.Checksum:
		a.stats.SlotsAmbiguous++
	case hErr != nil && !allZero(ring):
		a.stats.SlotsRingCorrupt++
	}
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
