package server

import (
	"fmt"
	"os"
	"strings"

	"github.com/govsr/govsr/vsr"
)

// checkFormat compares what the data file at path records of its format
// with what o asks for, and names each setting that differs by its
// command-line flag, so that a replica started with other limits than it
// was formatted with is refused with a message saying which. A file whose
// superblock copies are all unreadable is left to the open to judge.
func checkFormat(path string, o vsr.Options) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("storage: open: %w", err)
	}
	defer f.Close()
	found, ok := vsr.ReadDataFileFormat(f)
	if !ok {
		return nil
	}
	if found.Layout != vsr.DataFileLayout {
		return fmt.Errorf("%w: %s has data file layout %d, written by another govsr version; this one "+
			"reads layout %d: format it again, or replace it with --rejoin", ErrConfig, path,
			found.Layout, vsr.DataFileLayout)
	}
	if diff := formatDiff(found, o.Format()); diff != "" {
		return fmt.Errorf("%w: %s was formatted with %s: start it with the settings it was formatted with",
			ErrConfig, path, diff)
	}
	return nil
}

// formatDiff lists the settings of found (the file's) that differ from
// want (the command's), or returns "".
func formatDiff(found, want vsr.DataFileFormat) string {
	var diffs []string
	differ := func(flag string, found, want any) {
		if found != want {
			diffs = append(diffs, fmt.Sprintf("%s %v (not %v)", flag, found, want))
		}
	}
	differ("--cluster", found.Cluster.Lo, want.Cluster.Lo)
	differ("--replica", found.Replica, want.Replica)
	differ("replicas in --addresses", found.ReplicaCount, want.ReplicaCount)
	differ("--journal-slots", found.JournalSlots, want.JournalSlots)
	differ("--message-size-max-kib", found.MessageSizeMax>>10, want.MessageSizeMax>>10)
	differ("--clients-max", found.ClientsMax, want.ClientsMax)
	if len(diffs) == 0 && found.CheckpointSizeMax != want.CheckpointSizeMax {
		// The checkpoint bound follows from the limits above and --keys-max.
		diffs = append(diffs, fmt.Sprintf("another --keys-max (checkpoint size max %d, not %d)",
			found.CheckpointSizeMax, want.CheckpointSizeMax))
	}
	if found.Cluster.Hi != want.Cluster.Hi {
		diffs = append(diffs, "another cluster")
	}
	return strings.Join(diffs, ", ")
}
