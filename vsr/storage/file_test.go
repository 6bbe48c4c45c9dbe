package storage

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/govsr/govsr/vsr"
)

func testOptions() vsr.Options {
	o := vsr.DefaultOptions(vsr.U128{Lo: 3}, 0, 3)
	o.JournalSlots, o.MessageSizeMax, o.CheckpointSizeMax = 64, 8<<10, 1<<20
	return o
}

func TestFormatOpenWriteRead(t *testing.T) {
	path := filepath.Join(t.TempDir(), "0.vsr")
	o := testOptions()
	if err := Format(path, o, false); err != nil {
		t.Fatal(err)
	}
	if err := Format(path, o, false); err == nil {
		t.Fatal("Format overwrote an existing data file")
	}
	f, err := Open(path, o)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	data := bytes.Repeat([]byte{0xab}, vsr.SectorSize)
	offset := vsr.NewLayout(o).PreparesOffset
	f.Write(offset, data, 1)
	buf := make([]byte, vsr.SectorSize)
	f.Read(offset, buf, 2)
	tags := drainAll(t, f, 2)
	if tags[0] != 1 || tags[1] != 2 {
		t.Fatalf("completions %v, want tags 1 then 2", tags)
	}
	if !bytes.Equal(buf, data) {
		t.Fatal("read back different bytes")
	}
	if f.Pending() || f.Drain(func(uint64, error) {}) != 0 {
		t.Fatal("completions left after draining")
	}
}

// openFormatted formats a data file for testOptions in a temporary
// directory and opens it; the test's cleanup closes it.
func openFormatted(t *testing.T) (*File, vsr.Options) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "0.vsr")
	o := testOptions()
	if err := Format(path, o, false); err != nil {
		t.Fatal(err)
	}
	f, err := Open(path, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f, o
}

// drainAll drains f until it has handed over n completions (or fails the
// test after a few seconds), and returns their tags in order.
func drainAll(t *testing.T, f *File, n int) []uint64 {
	t.Helper()
	var tags []uint64
	deadline := time.Now().Add(10 * time.Second)
	for len(tags) < n && time.Now().Before(deadline) {
		f.Drain(func(tag uint64, err error) {
			if err != nil {
				t.Fatal(err)
			}
			tags = append(tags, tag)
		})
		time.Sleep(time.Millisecond)
	}
	if len(tags) != n {
		t.Fatalf("drained %d completions %v, want %d", len(tags), tags, n)
	}
	return tags
}

// TestGroupCommit submits many writes at once and checks that they all
// complete, in order, with their bytes in the file, under fewer fdatasyncs
// than writes.
func TestGroupCommit(t *testing.T) {
	f, o := openFormatted(t)
	offset := vsr.NewLayout(o).PreparesOffset
	const writes = 64
	data := make([]byte, vsr.SectorSize)
	for i := range writes {
		data[0] = byte(i) // Write copies: changing data afterwards changes nothing written
		f.Write(offset+uint64(i%8)*vsr.SectorSize, data, uint64(i))
	}
	tags := drainAll(t, f, writes)
	for i, tag := range tags {
		if tag != uint64(i) {
			t.Fatalf("completion %d has tag %d: completions out of order", i, tag)
		}
	}
	s := f.Stats()
	if s.Writes != writes || s.Syncs == 0 || s.Syncs >= writes {
		t.Fatalf("stats %+v: want %d writes under fewer fdatasyncs", s, writes)
	}
	buf := make([]byte, vsr.SectorSize)
	for slot := range 8 {
		f.Read(offset+uint64(slot)*vsr.SectorSize, buf, 0)
		drainAll(t, f, 1)
		if want := byte(writes - 8 + slot); buf[0] != want {
			t.Fatalf("slot %d holds write %d, want the last one, %d", slot, buf[0], want)
		}
	}
}

func TestOpenRefusesOtherGeometry(t *testing.T) {
	path := filepath.Join(t.TempDir(), "0.vsr")
	o := testOptions()
	if err := Format(path, o, false); err != nil {
		t.Fatal(err)
	}
	other := o
	other.JournalSlots = 128
	if _, err := Open(path, other); err == nil || !strings.Contains(err.Error(), "formatted with others") {
		t.Fatalf("opened a file formatted for other options: %v", err)
	}
	if _, err := Open(filepath.Join(t.TempDir(), "missing"), o); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing file: %v", err)
	}
}

func TestUnalignedIOPanics(t *testing.T) {
	f, _ := openFormatted(t)
	defer func() {
		if recover() == nil {
			t.Fatal("an I/O off the sector grid was accepted")
		}
	}()
	f.Write(100, make([]byte, vsr.SectorSize), 1)
}

// TestFormatAllocatesTheJournal checks that no hole is left in the journal
// (headers ring and prepare slots), so that journal writes overwrite
// allocated blocks, and that it reads as zeros as a hole would.
func TestFormatAllocatesTheJournal(t *testing.T) {
	path := filepath.Join(t.TempDir(), "0.vsr")
	o := testOptions()
	if err := Format(path, o, false); err != nil {
		t.Fatal(err)
	}
	file, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	l := vsr.NewLayout(o)
	hole, err := unix.Seek(int(file.Fd()), int64(l.HeadersOffset), unix.SEEK_HOLE)
	if err != nil {
		t.Skipf("the file system cannot report holes: %v", err)
	}
	if uint64(hole) < l.CheckpointOffset {
		t.Fatalf("a hole at %d inside the journal [%d, %d)", hole, l.HeadersOffset, l.CheckpointOffset)
	}
	journal := make([]byte, l.CheckpointOffset-l.HeadersOffset)
	if _, err := file.ReadAt(journal, int64(l.HeadersOffset)); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(journal, make([]byte, len(journal))) {
		t.Fatal("a formatted journal is not all zeros")
	}
}
