package vopr

import (
	"encoding/binary"
	"fmt"

	"github.com/govsr/govsr/vsr"
)

// Where vsr's superblock copy holds the checkpoint's prepare checksum, and
// where a checkpoint's header sector holds its op and its prepare's
// checksum (vsr/superblock.go and vsr/checkpoint_encode.go's layouts;
// TestCheckpointNameLayout checks them against real disks).
const (
	superblockCheckpointPrepareOffset = 128
	checkpointHeaderOpOffset          = 24
	checkpointHeaderPrepareOffset     = 32
)

// checkCheckpointName fails the run if superblock copy data, which replica
// i is writing, names a checkpoint (op, prepare) that the area it points at
// does not hold: the area's header sector, intact and of the checkpoint the
// copy names by checksum, says another op or prepare. A replica that opened
// such a superblock would restore one state believing it another, and let
// its journal go of ops no checkpoint covers; the name is wrong the moment
// it is written. A header sector that does not check out (a fault struck
// it, or the area holds another checkpoint) proves nothing either way.
func (c *promisesChecker) checkCheckpointName(i int, data []byte) {
	le := binary.LittleEndian
	if len(data) < vsr.SectorSize {
		return
	}
	checksum := readU128(data[superblockCheckpointOffset+8:])
	area := uint64(data[superblockCheckpointAreaOffset])
	if checksum.IsZero() || area > 1 {
		return // the empty state at op 0 has no area; a copy with area > 1 fails vsr's own decode
	}
	st := c.cluster.disk(i)
	l := &st.layout
	header := st.PeekSector(l.CheckpointOffset + area*l.CheckpointAreaSize)[:]
	if readU128(header[0:]) != checksum || !selfChecked(header) {
		return
	}
	op, prepare := le.Uint64(data[superblockCheckpointOffset:]), readU128(data[superblockCheckpointPrepareOffset:])
	heldOp, heldPrepare := le.Uint64(header[checkpointHeaderOpOffset:]), readU128(header[checkpointHeaderPrepareOffset:])
	if op != heldOp || prepare != heldPrepare {
		c.v.fail(Correctness, fmt.Sprintf("replica %d writes a superblock naming checkpoint op %d (prepare %s) in area %d, "+
			"whose checkpoint is of op %d (prepare %s)", i, op, prepare, area, heldOp, heldPrepare))
	}
}

// selfChecked reports whether sector b (a superblock copy or a checkpoint's
// header sector) holds, in its first 16 bytes, the checksum of the rest.
func selfChecked(b []byte) bool { return vsr.Checksum(b[16:]) == readU128(b) }

// readU128 reads a little-endian 128-bit value.
func readU128(b []byte) vsr.U128 {
	return vsr.U128{Lo: binary.LittleEndian.Uint64(b[0:]), Hi: binary.LittleEndian.Uint64(b[8:])}
}
