package vopr

import (
	"fmt"
	"testing"
)

// TestArenaChangesNothing runs seeds of different cluster shapes (2 to 6
// replicas, crashes and restarts among them) one after another in one
// Arena, as a swarm worker does, and each again on fresh memory: digests
// and statistics must be the same.
func TestArenaChangesNothing(t *testing.T) {
	seeds := []uint64{14, 1, 10, 19, 11, 14} // 6, 2, 5, 2, 3, 6 replicas
	arena := NewArena()
	for _, seed := range seeds {
		o := Draw(seed, nil)
		s, err := NewIn(arena, o, nil, logNone)
		if err != nil {
			t.Fatal(err)
		}
		reused := s.Run()
		fresh := runOptions(t, o)
		if got, want := fmt.Sprintf("%s %s %+v", reused.Class, reused.Digest, reused.Stats),
			fmt.Sprintf("%s %s %+v", fresh.Class, fresh.Digest, fresh.Stats); got != want {
			t.Fatalf("seed %d in an arena: %s\non fresh memory: %s", seed, got, want)
		}
	}
}
