package vopr

import (
	"fmt"

	"github.com/govsr/govsr/faults"
	"github.com/govsr/govsr/vsr"
)

// The storage fault atlas says where faults may strike each replica's disk
// (read errors, bit flips on write, misdirected writes, bit rot at rest,
// torn superblock sectors, a replaced disk), so that the cluster can always
// recover what it acknowledged: a failure is then a bug of the protocol,
// never an impossible scenario. What it guarantees, and why that is enough:
//
// Superblock. On every replica at most two of the four copies are
// faultable; the other two are never struck (no read error, bit flip, rot,
// torn sector, and no misdirected write lands on them or leaves them). An
// update writes all four copies with one sequence number and is durable
// once all four writes completed, and a crash lands an untouched copy's
// write whole or not at all. So each untouched copy holds the newest
// durable update, or one newer that landed whole. A faulty copy can only
// be unreadable, fail its checksum, or hold an older (or newer, really
// written) update: never a valid copy that was not written. The open takes
// the newest valid copy by sequence, so it reads the newest durable state
// or a newer one the replica had asked for. (One untouched copy would do;
// two is what a quorum of copies would need, should the open ever ask one.)
//
// Journal, per slot. Chunk c is header sector c of the ring and the
// prepare slots whose headers it holds (16); one more chunk is the
// checkpoint zone. For every chunk, the replicas that may lose it (faults
// may strike both its copies: prepare and ring header) together with the
// replicas whose disk was replaced this run number at most
// budget = min(Qr-1, n-Qvc) (faultyDisks: 0 for 1 and 2 replicas, Qr-1
// otherwise). A committed op was durable, prepare and ring header, on at
// least Qr replicas, so at least one of them keeps both intact: the
// cluster as a whole can repair every other copy from it. For view
// changes: a replica that lost the slot reads it back as corrupt (the op
// unknown: it must nack nothing, and may not lead a view change on its own
// journal), or as torn or missing (it names the op: it must not nack it);
// the replicas that never held the op number at most n-Qr, one short of
// the nack quorum n-Qr+1. So a protocol that keeps those rules can stall
// (until the intact holder is heard) but never lose a committed op: a loss
// under this atlas is a protocol bug. With the per-slot atlas spread over
// more than n-Qvc disks, a restart of the whole cluster may leave fewer
// than a view-change quorum of replicas with no corrupt slot; every op is
// still intact somewhere, so a protocol could recover, and a liveness
// failure there is a finding too.
//
// One double fault is left out, as TigerBeetle's atlas leaves it out: under
// the per-slot atlas a ring-sector write is never misdirected away. Its
// sector would keep an older valid header; were the prepare then lost as
// well, the slot would read exactly as "the older op's prepare was torn",
// which no protocol can tell from a write that never completed, so the
// replica would deny an op it had acknowledged. Misdirected prepare writes
// stay in: their slot keeps an older prepare under the new ring header
// (missing), and if the ring header is then lost too, the protocol must
// treat a valid prepare under a corrupt ring header as faulty.
//
// Faults of a crash (vsr.MemoryStorage.Crash) strike outside the atlas: a
// write in flight lands a prefix of its sectors and, with torn-sector on,
// its last landed sector part new, part old. That only destroys the new
// data (never acknowledged) and the old data it overwrites, which the
// replica had already let go (an op its durable checkpoint covers, or one
// a newer log replaces). The superblock is the exception, its copies all
// being written at once: only faultable copies tear.
type atlas struct {
	layout   vsr.Layout
	replicas int
	budget   int
	chunks   int // header sectors; chunk index chunks is the checkpoint zone
	slotLoss bool
	// lose[r][c]: faults may strike chunk c of replica r's disk. Under the
	// whole-disk atlas every chunk of a faulty disk, in only[r]'s zone.
	lose       [][]bool
	only       []vsr.Zone // whole-disk atlas: the one journal zone faults strike (0: both)
	superblock [][vsr.SuperblockCopies]bool
	runs       [][]byteRun // per replica: the faultable byte ranges, merged
	pieces     [][]uint64  // per replica: offsets of each faultable piece's first sector (bit rot)
	replaced   []bool      // disks replaced this run: each counts against budget to the end
	corrupt    [][]bool    // per replica, per slot: found corrupt at its last restart (audit)
	replace    *faults.PRNG
	stats      StorageAtlasStats
	auditBuf   []byte // audit's reads, kept from one restart to the next
}

// byteRun is the byte range [start, end) of a disk.
type byteRun struct{ start, end uint64 }

// StorageAtlasStats counts the faults of StorageAtlasOptions.
type StorageAtlasStats struct {
	SuperblockCopiesInvalid uint64 // superblock copies found failing their checksum at a restart
	SuperblockMisdirects    uint64 // writes misdirected from or to a superblock copy
	SlotsLost               uint64 // journal slots found with neither copy valid at a restart
	// SlotsForgotten counts slots found corrupt at one restart of a
	// replica and blank at its next: the replica wrote a blank ring header
	// over a slot it had found faulty, and now takes it for never written.
	SlotsForgotten uint64
	// SlotsAmbiguous counts slots found at a restart with a valid ring
	// header and a valid prepare of one op but different checksums;
	// SlotsRingCorrupt, a valid prepare under a corrupt, not blank, ring
	// header (issue 8, finding 1: the open must not decide either by view).
	SlotsAmbiguous, SlotsRingCorrupt uint64
	Misdirects                       uint64 // misdirected writes under these options
	MisdirectsFar                    uint64 // of those, landing in another zone or at another offset of their zone
	TornSectors                      uint64 // sectors a crash left part new, part old
	BitRot                           uint64 // bits flipped at rest
	RestartRot                       uint64 // of the prepares that bit rot struck, those found at a restart
	Replacements                     uint64 // disks replaced by a --rejoin format while down
}

func (s StorageAtlasStats) String() string {
	return fmt.Sprintf("superblock copies invalid %d, superblock misdirects %d, slots lost %d, misdirects %d (far %d), "+
		"torn sectors %d, bit rot %d, disks replaced %d, slots forgotten %d", s.SuperblockCopiesInvalid,
		s.SuperblockMisdirects, s.SlotsLost, s.Misdirects, s.MisdirectsFar, s.TornSectors, s.BitRot, s.Replacements,
		s.SlotsForgotten) + fmt.Sprintf(", slots ambiguous %d, valid prepares under a corrupt ring header %d",
		s.SlotsAmbiguous, s.SlotsRingCorrupt) + fmt.Sprintf(", prepares rotted at a restart %d", s.RestartRot)
}

const headersPerSector = vsr.SectorSize / vsr.HeaderSize

// newAtlas draws the atlas of a run. faulty says which disks the
// whole-disk atlas picked (StorageOptions.Faulty); their journal zone is
// drawn from the stream simStorage draws it from, so both agree.
func newAtlas(s *Simulator, faulty []bool) *atlas {
	n := s.opts.Replicas
	l := vsr.NewLayout(s.replicaOptions(0))
	a := &atlas{layout: l, replicas: n, budget: faultyDisks(n), chunks: int(l.PreparesOffset-l.HeadersOffset) / vsr.SectorSize,
		lose: make([][]bool, n), only: make([]vsr.Zone, n), superblock: make([][vsr.SuperblockCopies]bool, n),
		replaced: make([]bool, n), replace: s.root.Stream("storage/replace")}
	ao := &s.opts.Storage.Atlas
	a.slotLoss = ao.SlotLoss && a.budget > 0
	for r := range n {
		a.lose[r] = make([]bool, a.chunks+1)
		zone := vsr.ZonePrepares
		if s.root.Stream(fmt.Sprintf("storage/replica-%d/atlas", r)).Bool() {
			zone = vsr.ZoneHeaders
		}
		if faulty[r] && !a.slotLoss {
			a.only[r] = zone
			for c := range a.lose[r] {
				a.lose[r][c] = true
			}
		}
	}
	if a.slotLoss {
		a.drawSlotLoss(s.root.Stream("atlas/journal"), ao.SlotLossDisks, ao.SlotLossReplicas)
	}
	if ao.Superblock {
		a.drawSuperblock(s.root.Stream("atlas/superblock"))
	}
	for r := range n {
		a.runs = append(a.runs, a.mapRuns(r))
		a.corrupt = append(a.corrupt, make([]bool, l.JournalSlots))
	}
	return a
}

// drawSlotLoss picks the disks that may lose slots, then for every chunk
// the perChunk of them (at most budget) that may lose it.
func (a *atlas) drawSlotLoss(p *faults.PRNG, disks, perChunk int) {
	order := make([]int, a.replicas)
	for i := range order {
		order[i] = i
	}
	p.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
	pool := order[:min(disks, a.replicas)]
	k := min(perChunk, a.budget, len(pool))
	for c := 0; c <= a.chunks; c++ {
		p.Shuffle(len(pool), func(i, j int) { pool[i], pool[j] = pool[j], pool[i] })
		for _, r := range pool[:k] {
			a.lose[r][c] = true
		}
	}
}

// drawSuperblock makes one or two copies of each replica's superblock
// faultable.
func (a *atlas) drawSuperblock(p *faults.PRNG) {
	for r := range a.replicas {
		copies := [vsr.SuperblockCopies]int{0, 1, 2, 3}
		p.Shuffle(len(copies), func(i, j int) { copies[i], copies[j] = copies[j], copies[i] })
		for _, c := range copies[:1+p.IntN(2)] {
			a.superblock[r][c] = true
		}
	}
}

// chunkOf returns the chunk holding offset, if it is in the journal or
// the checkpoint zone, and the zone.
func (a *atlas) chunkOf(offset uint64) (vsr.Zone, int) {
	zone, index := a.layout.ZoneOf(offset)
	switch zone {
	case vsr.ZoneHeaders:
		return zone, int(index)
	case vsr.ZonePrepares:
		return zone, int(index / headersPerSector)
	case vsr.ZoneCheckpoint:
		return zone, a.chunks
	}
	return zone, -1
}

// faultable reports whether faults may strike replica r's disk at offset.
func (a *atlas) faultable(r int, offset uint64) bool {
	zone, c := a.chunkOf(offset)
	switch zone {
	case vsr.ZoneSuperblock:
		return a.superblock[r][offset/vsr.SectorSize]
	case vsr.ZoneHeaders, vsr.ZonePrepares:
		return a.lose[r][c] && (a.only[r] == 0 || a.only[r] == zone)
	case vsr.ZoneCheckpoint:
		return a.lose[r][c]
	}
	return false
}

// faultableRange reports whether every sector of [offset, offset+size) is
// faultable on replica r's disk.
func (a *atlas) faultableRange(r int, offset, size uint64) bool {
	for _, run := range a.runs[r] {
		if offset >= run.start && offset+size <= run.end {
			return true
		}
	}
	return false
}

// struck reports whether faults may strike replica r's disk anywhere.
func (a *atlas) struck(r int) bool { return len(a.runs[r]) > 0 }

// tearable reports whether a crash may tear the sector at offset: any
// sector but an untouched superblock copy.
func (a *atlas) tearable(r int, offset uint64) bool {
	zone, _ := a.layout.ZoneOf(offset)
	return zone != vsr.ZoneSuperblock || a.superblock[r][offset/vsr.SectorSize]
}

// mapRuns lists replica r's faultable pieces (superblock copies, ring
// sectors, prepare slots, checkpoint areas) and merges them into runs.
func (a *atlas) mapRuns(r int) []byteRun {
	l := &a.layout
	var runs []byteRun
	var pieces []uint64
	add := func(start, size uint64) {
		if !a.faultable(r, start) {
			return
		}
		pieces = append(pieces, start)
		if k := len(runs) - 1; k >= 0 && runs[k].end == start {
			runs[k].end += size
			return
		}
		runs = append(runs, byteRun{start, start + size})
	}
	for c := range uint64(vsr.SuperblockCopies) {
		add(c*vsr.SectorSize, vsr.SectorSize)
	}
	for s := range uint64(a.chunks) {
		add(l.HeadersOffset+s*vsr.SectorSize, vsr.SectorSize)
	}
	for slot := range l.JournalSlots {
		add(l.PreparesOffset+slot*l.PrepareSlotSize, l.PrepareSlotSize)
	}
	for area := range uint64(2) {
		add(l.CheckpointOffset+area*l.CheckpointAreaSize, l.CheckpointAreaSize)
	}
	a.pieces = append(a.pieces, pieces)
	return runs
}

// pickRange returns a sector-aligned place for size bytes, other than
// avoid, entirely inside one of replica r's faultable runs, or false.
func (a *atlas) pickRange(r int, p *faults.PRNG, size, avoid uint64) (uint64, bool) {
	runs := a.runs[r]
	pick, at := p.Uint64(), p.Uint64()
	fit := 0
	for _, run := range runs {
		if run.end-run.start >= size {
			fit++
		}
	}
	if fit == 0 {
		return avoid, false
	}
	k := int(pick % uint64(fit))
	for _, run := range runs {
		if run.end-run.start < size {
			continue
		}
		if k > 0 {
			k--
			continue
		}
		places := (run.end-run.start-size)/vsr.SectorSize + 1
		offset := run.start + at%places*vsr.SectorSize
		return offset, offset != avoid
	}
	return avoid, false
}

// chunkLosers returns how many replicas may lose chunk c: those the atlas
// lets faults strike there and those whose disk was replaced, with extra
// counted as replaced too (if not negative).
func (a *atlas) chunkLosers(c, extra int) int {
	n := 0
	for r := range a.replicas {
		if a.lose[r][c] || a.replaced[r] || r == extra {
			n++
		}
	}
	return n
}

// canReplace reports whether replica r's disk may be replaced: for every
// chunk, the replicas that may have lost it stay within the budget.
func (a *atlas) canReplace(r int) bool {
	if a.budget == 0 {
		return false
	}
	for c := 0; c <= a.chunks; c++ {
		if a.chunkLosers(c, r) > a.budget {
			return false
		}
	}
	return true
}
