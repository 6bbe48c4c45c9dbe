package vsr

import (
	"bytes"
	"errors"
	"testing"
)

// TestMemoryStorageWriteError: a write WriteError fails completes with
// ErrWriteFault and leaves exactly the sectors it says landed new, the
// rest as they were; the next write, not failed, lands whole.
func TestMemoryStorageWriteError(t *testing.T) {
	old := bytes.Repeat([]byte{1}, 4*SectorSize)
	fresh := bytes.Repeat([]byte{2}, 4*SectorSize)
	fail := true
	var asked []uint64
	s := NewMemoryStorage(&splitMix{state: 1}, MemoryFaults{WriteError: func(offset, size uint64) (uint64, bool) {
		asked = append(asked, offset, size)
		return 3, fail
	}})
	s.Load(map[uint64][]byte{8 * SectorSize: old})
	complete := func() error {
		t.Helper()
		var id uint64
		s.OnSubmit = func(i uint64) { id = i }
		s.Write(8*SectorSize, fresh, 42)
		tag, err, ok := s.Complete(id)
		if !ok || tag != 42 {
			t.Fatalf("write did not complete with its tag: tag %d, ok %v", tag, ok)
		}
		return err
	}
	if err := complete(); !errors.Is(err, ErrWriteFault) {
		t.Fatalf("failed write: err %v, want ErrWriteFault", err)
	}
	if asked[0] != 8*SectorSize || asked[1] != 4*SectorSize {
		t.Fatalf("WriteError asked about %v, want offset %d size %d", asked, 8*SectorSize, 4*SectorSize)
	}
	buf := make([]byte, 4*SectorSize)
	s.Peek(8*SectorSize, buf)
	want := append(append([]byte(nil), fresh[:3*SectorSize]...), old[3*SectorSize:]...)
	if !bytes.Equal(buf, want) {
		t.Fatal("a failed write did not land exactly its first 3 sectors")
	}
	if got := s.Stats().WriteErrors; got != 1 {
		t.Fatalf("WriteErrors %d, want 1", got)
	}
	fail = false
	if err := complete(); err != nil {
		t.Fatalf("write not failed: err %v", err)
	}
	s.Peek(8*SectorSize, buf)
	if !bytes.Equal(buf, fresh) {
		t.Fatal("a write not failed did not land whole")
	}
}
