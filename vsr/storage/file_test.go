package storage

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

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
	var tags []uint64
	if n := f.Drain(func(tag uint64, err error) {
		if err != nil {
			t.Fatal(err)
		}
		tags = append(tags, tag)
	}); n != 2 || tags[0] != 1 || tags[1] != 2 {
		t.Fatalf("drained %d completions %v", n, tags)
	}
	if !bytes.Equal(buf, data) {
		t.Fatal("read back different bytes")
	}
	if f.Pending() || f.Drain(func(uint64, error) {}) != 0 {
		t.Fatal("completions left after draining")
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
	path := filepath.Join(t.TempDir(), "0.vsr")
	o := testOptions()
	if err := Format(path, o, false); err != nil {
		t.Fatal(err)
	}
	f, err := Open(path, o)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	defer func() {
		if recover() == nil {
			t.Fatal("an I/O off the sector grid was accepted")
		}
	}()
	f.Write(100, make([]byte, vsr.SectorSize), 1)
}
