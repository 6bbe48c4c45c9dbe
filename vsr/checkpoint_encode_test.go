package vsr

import (
	"slices"
	"testing"
)

// TestCheckpointRuns: an incremental checkpoint writes the header sector,
// each changed page and the sessions, merging runs that touch; a short
// last page of a snapshot ends at its sector.
func TestCheckpointRuns(t *testing.T) {
	const page = 2 * SectorSize
	tests := []struct {
		name               string
		changed            []int
		snapshotSize, size uint64
		want               []byteRun
	}{
		{"header page and a far page", []int{0, 3}, 5 * page, SectorSize + 5*page + 100,
			[]byteRun{{0, SectorSize + page}, {SectorSize + 3*page, SectorSize + 4*page}, {SectorSize + 5*page, 2*SectorSize + 5*page}}},
		{"last page and sessions touch", []int{4}, 5 * page, SectorSize + 5*page + 1,
			[]byteRun{{0, SectorSize}, {SectorSize + 4*page, 2*SectorSize + 5*page}}},
		{"no sessions", []int{1, 2}, 3 * page, SectorSize + 3*page,
			[]byteRun{{0, SectorSize}, {SectorSize + page, SectorSize + 3*page}}},
		{"short last page", []int{1}, page + 10, 4*SectorSize + 100,
			[]byteRun{{0, SectorSize}, {SectorSize + page, 3*SectorSize + page}}},
	}
	for _, tt := range tests {
		if got := checkpointRuns(nil, tt.changed, page, tt.snapshotSize, tt.size); !slices.Equal(got, tt.want) {
			t.Errorf("%s: runs %v, want %v", tt.name, got, tt.want)
		}
	}
}
