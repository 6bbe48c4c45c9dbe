package vopr

import (
	"github.com/govsr/govsr/faults"
	"github.com/govsr/govsr/vsr"
)

// Write errors: a disk reports a write failed (EIO), after landing none,
// or a prefix, of its sectors, as a crash would leave them. The replica
// must write again before it counts on the data (the write-retry paths of
// the journal, the headers ring, the checkpoint and the superblock). A
// failed write destroys nothing the replica still counts on: what it
// overwrote, it had chosen to overwrite, and what it wrote it has not yet
// promised to anyone (the promises checker reads the disk to hold it to
// that). So write errors strike every disk, every zone, outside the fault
// atlas; they stop, as every disk fault does, for the liveness phase.

// writeErrorKind is the fault kind's name.
const writeErrorKind = "write-error"

// drawWriteError draws the write error rate of seed from a stream of its
// own, so that every other option of every seed stays as it was drawn
// before write errors existed, and a seed with the kind off runs exactly
// as it did. The rate is drawn whether or not the kind is on.
func drawWriteError(seed uint64, force Force) faults.Ratio {
	p := faults.New(seed).Stream("options/write-error")
	drawn := p.Chance(faults.Percent(30))
	r := p.RatioBetween(faults.PerMillion(1_000), faults.PerMillion(50_000))
	on := drawn
	if forced, ok := force[writeErrorKind]; ok {
		on = forced
	}
	if !on {
		return faults.Never
	}
	return r
}

// writeErrorFault returns the disk's vsr.MemoryFaults.WriteError hook,
// drawing from p (the disk's own stream), or nil when the seed has no
// write errors (its disks then draw nothing).
func (st *simStorage) writeErrorFault(p *faults.PRNG) func(offset, size uint64) (uint64, bool) {
	if st.opts.WriteError.Num == 0 {
		return nil
	}
	return func(offset, size uint64) (uint64, bool) {
		failed := p.Chance(st.opts.WriteError)
		landed := p.Uint64N(size / vsr.SectorSize)
		if !failed {
			return 0, false
		}
		if st.sim.logs(logFull) {
			st.sim.logf(logFull, "replica %d disk: write of %d bytes to %s failed after %d sectors", st.replica, size,
				st.place(offset), landed)
		}
		return landed, true
	}
}
