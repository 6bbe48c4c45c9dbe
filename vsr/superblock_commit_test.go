package vsr

import (
	"encoding/binary"
	"strings"
	"testing"
)

// The superblock carries the executed op's checksum, which the open's
// replay follows from the top; a copy whose commit is its checkpoint op
// must name the checkpoint's prepare, and one that does not is refused.
func TestSuperblockCommitChecksum(t *testing.T) {
	o := Options{Cluster: U128{Lo: 7}, ReplicaCount: 3}.withDefaults()
	root := rootChecksum(o.Cluster)
	executed := U128{Lo: 0xfeed, Hi: 0xbeef}
	s := superblockState{sequence: 9, view: 4, logView: 4, commit: 12, commitChecksum: executed,
		checkpoint: checkpointRef{prepare: root}}
	b := make([]byte, SectorSize)
	encodeSuperblock(b, &o, &s)
	got, err := decodeSuperblock(b, &o)
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	if got.commit != 12 || got.commitChecksum != executed {
		t.Fatalf("decoded commit %d checksum %s, want 12 %s", got.commit, got.commitChecksum, executed)
	}

	// A copy at its checkpoint that names another prepare as executed:
	// sealed by hand, since encodeSuperblock asserts against writing it.
	binary.LittleEndian.PutUint64(b[96:], 0) // commit 0: the checkpoint op
	putU128(b[0:], Checksum(b[16:]))
	if _, err := decodeSuperblock(b, &o); err == nil || !strings.Contains(err.Error(), "impossible") {
		t.Fatalf("a copy at its checkpoint naming another executed prepare: %v, want refused", err)
	}
	putU128(b[184:], root)
	putU128(b[0:], Checksum(b[16:]))
	if _, err := decodeSuperblock(b, &o); err != nil {
		t.Fatalf("a copy at its checkpoint naming the checkpoint's prepare: %v", err)
	}
}
