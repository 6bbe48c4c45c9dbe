package chaos

import (
	"bytes"
	"math/bits"
	"os"
	"path/filepath"
	"testing"

	"github.com/govsr/govsr/faults"
	"github.com/govsr/govsr/vsr"
)

// formattedFile writes a freshly formatted data file for o to a temporary
// directory and returns its path.
func formattedFile(t *testing.T, o vsr.Options) string {
	t.Helper()
	sectors, err := vsr.FormatDataFile(o)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "replica.vsr")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(int64(vsr.NewLayout(o).Size)); err != nil {
		t.Fatal(err)
	}
	for offset, sector := range sectors {
		if _, err := f.WriteAt(sector, int64(offset)); err != nil {
			t.Fatal(err)
		}
	}
	return path
}

func rotOptions() vsr.Options {
	return vsr.Options{Cluster: vsr.U128{Lo: 1}, ReplicaCount: 3, JournalSlots: 64, MessageSizeMax: 16 << 10, CheckpointSizeMax: 1 << 20}
}

// TestRotStrikesStayInZones: every strike lies inside the zone it names,
// a rot strikes at most one superblock copy and at most rotSectorsMax
// sectors, and over many rots every zone is struck.
func TestRotStrikesStayInZones(t *testing.T) {
	l := vsr.NewLayout(rotOptions())
	random := faults.New(7)
	zones := map[string]int{}
	for range 2000 {
		strikes := drawRot(random, l)
		if len(strikes) < 1 || len(strikes) > rotSectorsMax {
			t.Fatalf("a rot of %d strikes", len(strikes))
		}
		superblocks := 0
		for _, s := range strikes {
			zones[s.zone]++
			lo, hi := rotZoneBounds(l, s.zone)
			if s.offset%vsr.SectorSize != 0 || s.offset < lo || s.offset+vsr.SectorSize > hi {
				t.Fatalf("strike %s outside its zone [%d, %d)", s, lo, hi)
			}
			if s.zone == "superblock" {
				superblocks++
			}
		}
		if superblocks > 1 {
			t.Fatalf("a rot struck %d superblock copies: %v", superblocks, strikes)
		}
	}
	for _, zone := range []string{"superblock", "headers", "prepare", "checkpoint"} {
		if zones[zone] == 0 {
			t.Errorf("no rot struck the %s zone in 2,000 rots: %v", zone, zones)
		}
	}
}

func rotZoneBounds(l vsr.Layout, zone string) (lo, hi uint64) {
	switch zone {
	case "superblock":
		return 0, l.HeadersOffset
	case "headers":
		return l.HeadersOffset, l.PreparesOffset
	case "prepare":
		return l.PreparesOffset, l.CheckpointOffset
	case "checkpoint":
		return l.CheckpointOffset, l.Size
	}
	return 0, 0
}

// TestRotFileDamagesOnlyItsStrikes: dataFileLayout reads the layout back
// from a formatted file, and rotFile changes exactly the struck sectors, a
// flipped one in one bit and a zeroed one to zeros, and nothing else.
func TestRotFileDamagesOnlyItsStrikes(t *testing.T) {
	o := rotOptions()
	path := formattedFile(t, o)
	l, err := dataFileLayout(path)
	if err != nil {
		t.Fatal(err)
	}
	if l != vsr.NewLayout(o) {
		t.Fatalf("layout read back %+v, formatted %+v", l, vsr.NewLayout(o))
	}
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	strikes := []rotStrike{{zone: "superblock", offset: vsr.SectorSize}, {zone: "headers", offset: l.HeadersOffset},
		{zone: "superblock", offset: 2 * vsr.SectorSize, zeroed: true}}
	if err := rotFile(path, strikes, faults.New(1)); err != nil {
		t.Fatal(err)
	}
	after, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	struck := map[uint64]rotStrike{}
	for _, s := range strikes {
		struck[s.offset] = s
	}
	for offset := uint64(0); offset < uint64(len(after)); offset += vsr.SectorSize {
		was, is := before[offset:offset+vsr.SectorSize], after[offset:offset+vsr.SectorSize]
		s, hit := struck[offset]
		switch {
		case !hit && !bytes.Equal(was, is):
			t.Fatalf("sector at %d changed, struck none there", offset)
		case hit && s.zeroed && !bytes.Equal(is, make([]byte, vsr.SectorSize)):
			t.Fatalf("zeroed sector at %d is not zeros", offset)
		case hit && !s.zeroed && differingBits(was, is) != 1:
			t.Fatalf("flipped sector at %d differs in %d bits", offset, differingBits(was, is))
		}
	}
	if _, err := dataFileLayout(path); err != nil {
		t.Fatalf("two copies of four struck, the layout must still read: %v", err)
	}
}

func differingBits(a, b []byte) int {
	n := 0
	for i := range a {
		n += bits.OnesCount8(a[i] ^ b[i])
	}
	return n
}

// TestDataFileLayoutNeedsACopy: a file whose every superblock copy is
// damaged gives an error naming it, not a layout.
func TestDataFileLayoutNeedsACopy(t *testing.T) {
	path := formattedFile(t, rotOptions())
	var strikes []rotStrike
	for c := range uint64(vsr.SuperblockCopies) {
		strikes = append(strikes, rotStrike{zone: "superblock", offset: c * vsr.SectorSize, zeroed: true})
	}
	if err := rotFile(path, strikes, faults.New(1)); err != nil {
		t.Fatal(err)
	}
	if _, err := dataFileLayout(path); err == nil {
		t.Fatal("a file with no readable superblock copy gave a layout")
	}
}
