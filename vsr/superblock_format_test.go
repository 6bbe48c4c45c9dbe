package vsr

import "testing"

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
