package vsr

import (
	"bytes"
	"testing"
)

// The format a formatted file records is the options' own, from every
// copy; a damaged copy is refused.
func TestDataFileFormatRoundTrip(t *testing.T) {
	o := DefaultOptions(U128{Lo: 3}, 1, 3)
	o.ClientsMax, o.JournalSlots = 48, 128
	sectors, err := FormatDataFile(o)
	if err != nil {
		t.Fatal(err)
	}
	for offset, sector := range sectors {
		f, err := DecodeDataFileFormat(sector)
		if err != nil || f != o.Format() {
			t.Fatalf("copy at %d: %+v, %v; want %+v", offset, f, err, o.Format())
		}
		sector[100] ^= 1
		if _, err := DecodeDataFileFormat(sector); err == nil {
			t.Fatalf("copy at %d with a flipped bit decoded", offset)
		}
	}
}

// ReadDataFileFormat takes the first copy that decodes, and reports
// failure when none does.
func TestReadDataFileFormat(t *testing.T) {
	o := DefaultOptions(U128{Lo: 3}, 1, 3)
	sectors, err := FormatDataFile(o)
	if err != nil {
		t.Fatal(err)
	}
	file := make([]byte, SuperblockCopies*SectorSize)
	for offset, sector := range sectors {
		copy(file[offset:], sector)
	}
	file[100] ^= 1                         // copy 0 fails its checksum
	clear(file[SectorSize : 2*SectorSize]) // copy 1 is blank
	f, ok := ReadDataFileFormat(bytes.NewReader(file))
	if !ok || f != o.Format() {
		t.Fatalf("with copies 2 and 3 intact: %+v, %v; want %+v", f, ok, o.Format())
	}
	clear(file[2*SectorSize:])
	if f, ok := ReadDataFileFormat(bytes.NewReader(file)); ok {
		t.Fatalf("no copy intact, yet a format: %+v", f)
	}
	if _, ok := ReadDataFileFormat(bytes.NewReader(file[:100])); ok {
		t.Fatal("a file shorter than a sector gave a format")
	}
}
