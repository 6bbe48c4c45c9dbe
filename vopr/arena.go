package vopr

import (
	"fmt"

	"github.com/govsr/govsr/vsr"
)

// Arena keeps the large buffers of a simulator's replicas (vsr.Buffers, by
// replica index) for the next simulator built in it (NewIn), so that a
// swarm worker running seed after seed stops allocating, and the collector
// stops reclaiming, the same journal and reply buffers for every seed.
// Which buffer a replica gets changes nothing it does: a lent buffer is
// zeroed.
//
// Build a simulator in an Arena only once the one built there before is
// finished with: its Run returned and nothing of it is used again. An
// Arena is for one goroutine: a swarm gives each worker its own.
type Arena struct {
	replicas [vsr.ReplicasMax]*vsr.Buffers
}

// NewArena returns an empty Arena.
func NewArena() *Arena { return &Arena{} }

// take reclaims every buffer the previous simulator built in a was lent:
// a new simulator takes the arena over. A nil Arena stays nil.
func (a *Arena) take() *Arena {
	if a == nil {
		return nil
	}
	for i, b := range a.replicas {
		if b != nil {
			b.Reclaim()
		} else {
			a.replicas[i] = vsr.NewBuffers()
		}
	}
	return a
}

// buffers returns the Buffers of replica i: the arena's, or new ones if
// there is no arena.
func (a *Arena) buffers(i int) *vsr.Buffers {
	if a == nil {
		return vsr.NewBuffers()
	}
	if i < 0 || i >= len(a.replicas) {
		panic(fmt.Sprintf("vopr: arena: no replica %d", i))
	}
	return a.replicas[i]
}
