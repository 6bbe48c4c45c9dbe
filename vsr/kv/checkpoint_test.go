package kv

import (
	"encoding/binary"
	"fmt"
	"strings"
	"testing"

	"github.com/govsr/govsr/vsr"
)

// TestCheckpointWritesWhatChanged runs a one-replica cluster that
// checkpoints after every op over a store of 20,000 keys: once each area
// has been written whole, a checkpoint after one write writes a few
// sectors, not the store. Writes that add keys and grow values (moving
// entries between pages, packing them again) follow, and a replica opened
// from the disk then (which checks the checkpoint's checksum, page by
// page) must hold the same state.
func TestCheckpointWritesWhatChanged(t *testing.T) {
	br := newBenchReplica(t, 20_000)
	write := func(key, value string) int {
		input, err := EncodeWrite(nil, []byte(key), []byte(value))
		if err != nil {
			t.Fatal(err)
		}
		before := br.counter.checkpointBytes
		br.send(OperationWrite, input)
		return br.counter.checkpointBytes - before
	}
	full := write("key-00000000001", "a")
	write("key-00000000002", "b") // the other area, whole
	if _, size := br.replica.DurableCheckpoint(); full < int(size) || size < 1_000_000 {
		t.Fatalf("first checkpoint wrote %d bytes of a %d-byte checkpoint", full, size)
	}
	for i := range 20 {
		if n := write(fmt.Sprintf("key-%011d", i*997), "c"); n > 8*vsr.SectorSize || n == 0 {
			t.Fatalf("a checkpoint after one write wrote %d bytes (%d in the first)", n, full)
		}
	}
	for i := range 300 {
		write(fmt.Sprintf("key-%011d", i*61%25_000), strings.Repeat("g", i%65))
	}
	if br.replica.CommitMin() < 320 || br.bus.replies < 320 {
		t.Fatalf("executed %d ops, %d replies: the writes did not run", br.replica.CommitMin(), br.bus.replies)
	}
	reopened := reopen(t, br, 20_000)
	if reopened.Digest() != br.replica.Digest() {
		t.Fatalf("reopened replica's digest %s, want %s", reopened.Digest(), br.replica.Digest())
	}
	if op, _ := reopened.DurableCheckpoint(); op != br.replica.CommitMin() {
		t.Fatalf("reopened at checkpoint op %d, want %d", op, br.replica.CommitMin())
	}
	// One bit flipped in a page that no checkpoint since the first has
	// rewritten (its checksum comes from the cache): the open finds the
	// checkpoint damaged and starts from the empty state.
	for area := range uint64(2) {
		if !areaIntact(br, area) {
			t.Fatalf("area %d fails its checksum before any bit flipped", area)
		}
		offset := br.counter.layout.CheckpointOffset + area*br.counter.layout.CheckpointAreaSize + vsr.SectorSize + 100*4096
		br.storage.FlipBit(offset, 8*50+3)
		if areaIntact(br, area) {
			t.Fatalf("area %d passes its checksum with a bit flipped", area)
		}
	}
	if op, _ := reopen(t, br, 20_000).DurableCheckpoint(); op != 0 {
		t.Fatalf("a checkpoint with a flipped bit restored at op %d", op)
	}
}

// reopen opens a replica of a store of keys keys from a copy of br's disk
// and completes its reads.
func reopen(t testing.TB, br *benchReplica, keys int) *vsr.Replica {
	t.Helper()
	store, err := New(Options{KeysMax: keys, KeySizeMax: 16, ValueSizeMax: 64})
	if err != nil {
		t.Fatal(err)
	}
	st := br.storage.Clone(benchRandom{})
	var ids []uint64
	st.OnSubmit = func(id uint64) { ids = append(ids, id) }
	r, err := vsr.OpenReplica(br.opts, vsr.Env{Bus: br.bus, Storage: st, StateMachine: store, Random: benchRandom{}})
	if err != nil {
		t.Fatal(err)
	}
	for len(ids) > 0 {
		id := ids[0]
		ids = ids[1:]
		if tag, err, ok := st.Complete(id); ok {
			r.StorageDone(tag, err)
		}
	}
	if r.Opening() {
		t.Fatal("the reopened replica is still opening")
	}
	return r
}

// areaIntact reports whether checkpoint area area of br's disk holds a
// checkpoint that matches the checksum in its header (vsr/checkpoint_encode.go
// gives the layout: snapshot size at 320, sessions size at 60).
func areaIntact(br *benchReplica, area uint64) bool {
	l := br.counter.layout
	offset := l.CheckpointOffset + area*l.CheckpointAreaSize
	head := make([]byte, vsr.SectorSize)
	br.storage.Peek(offset, head)
	ceil := func(n uint64) uint64 { return (n + vsr.SectorSize - 1) / vsr.SectorSize * vsr.SectorSize }
	size := vsr.SectorSize + ceil(binary.LittleEndian.Uint64(head[320:])) + uint64(binary.LittleEndian.Uint32(head[60:]))
	b := make([]byte, ceil(size))
	br.storage.Peek(offset, b)
	return vsr.CheckpointChecksum(b[:size]) == getSum(head[0:])
}
