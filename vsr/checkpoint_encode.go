package vsr

import (
	"fmt"
	"slices"
)

// Checkpoint layout (little-endian): a header sector, the state machine's
// snapshot from the next sector on (padded with zeros to a sector), then
// the sessions:
//
//	offset size field
//	     0   16 checksum of bytes 16..SectorSize (CheckpointChecksum)
//	    16    8 magic "govsrCP2"
//	    24    8 op
//	    32   16 checksum of op's prepare (the chain continues from it)
//	    48    8 timestamp of op's prepare (later prepares' timestamps exceed it)
//	    56    4 sessions count
//	    60    4 sessions size in bytes
//	    64  256 op's prepare header: the head of the log of a replica that
//	            restores the checkpoint with nothing in its journal above it
//	   320    8 snapshot size in bytes
//	   328    4 page size: the snapshot is checksummed page by page
//	   336   16 pages sum: sum mod 2^128 of PageChecksum(i, page i) over the
//	            snapshot's pages (the last may be short)
//	   352   16 checksum of the sessions
//	   368    - zeros to the end of the sector
//	  4096    - the snapshot, then zeros to a sector, then the sessions
//	            (clientTable.appendTo)
//
// The checksum covers the snapshot through the pages sum, so a replica
// whose state machine pages its snapshot (PagedStateMachine) rehashes only
// the pages it rewrites, and writes only those, the header sector and the
// sessions. The snapshot sits at a fixed offset so that unchanged pages
// stay where they are.
const (
	checkpointMagic       = "govsrCP2"
	checkpointHeaderSize  = SectorSize // the least a checkpoint holds
	checkpointFieldsSize  = 368
	checkpointSnapshotOff = SectorSize
	// checkpointPageSize is the page of the checksum of a snapshot that is
	// not paged (it is rewritten and rehashed whole at each checkpoint).
	checkpointPageSize = 16 * SectorSize
)

// checkpointArea is what a replica knows of one checkpoint area: the bytes
// of the checkpoint last written there, and, if its state machine pages
// its snapshot, the mark of that snapshot and the checksum of each page,
// so that the next checkpoint written there rewrites only what changed.
type checkpointArea struct {
	buf          []byte // the area's checkpoint, padded to a sector
	snapshotSize int
	// mark is the state machine's mark of the snapshot in buf, 0 if buf
	// is not known to hold a snapshot it made since its last Restore, nor
	// the area on disk to hold buf: then everything is written.
	mark     uint64
	sums     []U128 // PageChecksum of each snapshot page in buf, while mark != 0
	pagesSum U128
}

// byteRun is a range [start, end) of a checkpoint area to write.
type byteRun struct{ start, end uint64 }

// encodeCheckpoint brings area's buffer to the checkpoint of the state at
// op, and returns the checkpoint and the runs of the area to write: all
// of it, or, for a paged state machine whose previous snapshot there is
// known, the header sector, the pages that changed and the sessions.
func (r *Replica) encodeCheckpoint(area uint8, op uint64, prepare *Header) (checkpointRef, []byteRun) {
	assert(prepare.Op == op, "a checkpoint names its op's prepare")
	a := &r.checkpoint.areas[area]
	c := &r.checkpoint
	c.sessions = r.clients.appendTo(c.sessions[:0])
	paged, isPaged := r.machine.(PagedStateMachine)
	full := !isPaged || a.mark == 0
	if full {
		a.mark, a.sums, a.pagesSum = 0, a.sums[:0], U128{}
	}
	var snapshot []byte
	var pageSize int
	if isPaged {
		pageSize = paged.SnapshotPageSize()
		r.growArea(a, paged.SnapshotSize()+len(c.sessions))
		snapshot, c.changed, a.mark = paged.UpdateSnapshot(
			a.buf[checkpointSnapshotOff:checkpointSnapshotOff+a.snapshotSize:len(a.buf)], a.mark, c.changed[:0])
		assert(a.mark != 0, "a paged snapshot's mark is not zero")
	} else {
		pageSize = checkpointPageSize
		c.scratch = r.machine.AppendSnapshot(c.scratch[:0])
		r.growArea(a, len(c.scratch)+len(c.sessions))
		snapshot = a.buf[checkpointSnapshotOff : checkpointSnapshotOff+len(c.scratch)]
		copy(snapshot, c.scratch)
		c.changed = c.changed[:0]
		for p := 0; p*pageSize < len(snapshot); p++ {
			c.changed = append(c.changed, p)
		}
	}
	assert(len(snapshot) == 0 || &snapshot[0] == &a.buf[checkpointSnapshotOff], "the snapshot is made in its area's buffer")
	assert(!isPaged || len(snapshot)%pageSize == 0, "a paged snapshot is whole pages")
	a.snapshotSize = len(snapshot)
	r.sumPages(a, snapshot, pageSize, c.changed)
	size := r.encodeCheckpointRest(a, op, prepare, pageSize)
	ref := checkpointRef{op: op, checksum: getU128(a.buf[0:]), prepare: prepare.Checksum, size: size, area: area}
	if full {
		return ref, append(c.runs[:0], byteRun{0, sectorCeil(size)})
	}
	c.runs = checkpointRuns(c.runs[:0], c.changed, uint64(pageSize), uint64(a.snapshotSize), size)
	return ref, c.runs
}

// growArea makes area's buffer hold a checkpoint of a snapshot and
// sessions of size bytes, keeping its bytes: it grows a quarter ahead, up
// to the largest checkpoint, so a replica holds memory in proportion to its
// state, not to what its options would allow.
func (r *Replica) growArea(a *checkpointArea, size int) {
	need := int(sectorCeil(uint64(checkpointSnapshotOff+size))) + SectorSize
	if size > int(r.opts.CheckpointSizeMax) {
		panic(fmt.Sprintf("vsr: checkpoint of %d bytes exceeds checkpoint size max %d", size, r.opts.CheckpointSizeMax))
	}
	assert(size >= 0, "a checkpoint holds a size")
	if len(a.buf) >= need {
		return
	}
	largest := int(sectorCeil(uint64(r.checkpointSizeMax()))) + SectorSize
	buf := r.buffers.make(max(need, min(largest, int(sectorCeil(uint64(need+need/4))))))
	copy(buf, a.buf)
	a.buf = buf
}

// sumPages updates area's page checksums for the snapshot's pages listed
// in changed (and drops those of pages the snapshot no longer has).
func (r *Replica) sumPages(a *checkpointArea, snapshot []byte, pageSize int, changed []int) {
	pages := (len(snapshot) + pageSize - 1) / pageSize
	for _, s := range a.sums[min(pages, len(a.sums)):] {
		a.pagesSum = a.pagesSum.Sub(s)
	}
	a.sums = a.sums[:min(pages, len(a.sums))]
	assert(pageSize%SectorSize == 0, "snapshot pages are whole sectors")
	for len(a.sums) < pages {
		a.sums = append(a.sums, U128{})
	}
	for _, p := range changed {
		assert(p < pages, "a changed page is in the snapshot")
		sum := PageChecksum(uint64(p), snapshot[p*pageSize:min((p+1)*pageSize, len(snapshot))])
		a.pagesSum = a.pagesSum.Sub(a.sums[p]).Add(sum)
		a.sums[p] = sum
	}
}

// encodeCheckpointRest writes the sessions after area's snapshot and the
// header sector, and returns the checkpoint's size.
func (r *Replica) encodeCheckpointRest(a *checkpointArea, op uint64, prepare *Header, pageSize int) uint64 {
	sessions := r.checkpoint.sessions
	snapshotEnd := checkpointSnapshotOff + sectorCeil(uint64(a.snapshotSize))
	size := snapshotEnd + uint64(len(sessions))
	assert(uint64(len(a.buf)) >= sectorCeil(size), "the area's buffer holds the checkpoint")
	clear(a.buf[checkpointSnapshotOff+a.snapshotSize : snapshotEnd])
	copy(a.buf[snapshotEnd:], sessions)
	clear(a.buf[size:sectorCeil(size)])
	assert(snapshotEnd%SectorSize == 0, "the sessions start on a sector")
	b := a.buf[:SectorSize]
	clear(b)
	copy(b[16:24], checkpointMagic)
	le.PutUint64(b[24:], op)
	putU128(b[32:], prepare.Checksum)
	le.PutUint64(b[48:], prepare.Timestamp)
	le.PutUint32(b[56:], uint32(r.clients.count()))
	le.PutUint32(b[60:], uint32(len(sessions)))
	prepare.put(b[64:])
	le.PutUint64(b[320:], uint64(a.snapshotSize))
	le.PutUint32(b[328:], uint32(pageSize))
	putU128(b[336:], a.pagesSum)
	putU128(b[352:], Checksum(sessions))
	putU128(b[0:], Checksum(b[16:]))
	return size
}

// checkpointRuns lists the runs of an area to write for a checkpoint of
// size bytes whose snapshot of snapshotSize bytes changed in pages changed
// (in increasing order): the header sector, those pages, the sessions,
// adjacent runs merged.
func checkpointRuns(runs []byteRun, changed []int, pageSize, snapshotSize, size uint64) []byteRun {
	assert(slices.IsSorted(changed), "changed pages are listed in order")
	add := func(start, end uint64) {
		if k := len(runs) - 1; k >= 0 && runs[k].end == start {
			runs[k].end = end
			return
		}
		runs = append(runs, byteRun{start, end})
	}
	add(0, SectorSize)
	for _, p := range changed {
		start := checkpointSnapshotOff + uint64(p)*pageSize
		add(start, min(start+pageSize, checkpointSnapshotOff+sectorCeil(snapshotSize)))
	}
	assert(runs[0].start == 0, "the header sector is written")
	if sessions := checkpointSnapshotOff + sectorCeil(snapshotSize); sectorCeil(size) > sessions {
		add(sessions, sectorCeil(size))
	}
	return runs
}

// CheckpointChecksum is the checksum checkpoint b holds if it is intact:
// that of its header sector with the pages sum and the sessions checksum
// computed from b's bytes. It is zero if b is too short for the sizes its
// header names.
func CheckpointChecksum(b []byte) U128 {
	if len(b) < checkpointHeaderSize {
		return U128{}
	}
	sessionsSize, snapshotSize := uint64(le.Uint32(b[60:])), le.Uint64(b[320:])
	pageSize := uint64(le.Uint32(b[328:]))
	if pageSize == 0 || snapshotSize > uint64(len(b)) ||
		checkpointSnapshotOff+sectorCeil(snapshotSize)+sessionsSize != uint64(len(b)) {
		return U128{}
	}
	snapshot := b[checkpointSnapshotOff : checkpointSnapshotOff+snapshotSize]
	var pages U128
	for p := uint64(0); p*pageSize < snapshotSize; p++ {
		pages = pages.Add(PageChecksum(p, snapshot[p*pageSize:min((p+1)*pageSize, snapshotSize)]))
	}
	var header [SectorSize]byte
	copy(header[:], b[:SectorSize])
	putU128(header[336:], pages)
	putU128(header[352:], Checksum(b[len(b)-int(sessionsSize):]))
	return Checksum(header[16:])
}
