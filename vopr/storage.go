package vopr

import (
	"slices"

	"github.com/govsr/govsr/faults"
)

// storage is one replica's simulated disk: writes land in memory and
// complete after a latency of minimum + exponential, so completions
// reorder. (Read faults, corruption, misdirected and torn writes arrive with
// durable storage: until the replica reads its data file back, they could
// not bite.)
type storage struct {
	sim     *Simulator
	replica int
	rng     *faults.PRNG
	opts    *StorageOptions
	sectors map[uint64][]byte // offset → data; looked up, never iterated
}

func newStorage(sim *Simulator, replica int, rng *faults.PRNG, opts *StorageOptions) *storage {
	return &storage{sim: sim, replica: replica, rng: rng, opts: opts, sectors: map[uint64][]byte{}}
}

func (s *storage) Write(offset uint64, data []byte, tag uint64) {
	if old, ok := s.sectors[offset]; ok && cap(old) >= len(data) {
		s.sectors[offset] = append(old[:0], data...)
	} else {
		s.sectors[offset] = slices.Clone(data)
	}
	s.sim.stats.StorageWrites++
	s.complete(tag)
}

func (s *storage) Read(offset uint64, buf []byte, tag uint64) {
	copy(buf, s.sectors[offset])
	s.sim.stats.StorageReads++
	s.complete(tag)
}

func (s *storage) complete(tag uint64) {
	at := s.sim.now + s.opts.WriteLatencyMinNs + s.rng.Exponential(s.opts.WriteLatencyMeanNs)
	s.sim.queue.push(event{at: at, kind: eventStorage, a: s.replica, tag: tag})
}
