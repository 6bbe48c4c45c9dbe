package vopr

import (
	"fmt"

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
// drawing from p (the disk's own stream) and, for bursts, from burst (nil
// when the seed has none), or nil when the seed has no write errors (its
// disks then draw nothing).
func (st *simStorage) writeErrorFault(p, burst *faults.PRNG) func(offset, size uint64) (uint64, bool) {
	if st.opts.WriteError.Num == 0 && burst == nil {
		return nil
	}
	var burstUntilNs uint64
	return func(offset, size uint64) (uint64, bool) {
		if burst != nil {
			if landed, failed := st.burstFails(burst, &burstUntilNs, size); failed {
				return landed, true
			}
		}
		if st.opts.WriteError.Num == 0 {
			return 0, false // bursts only: this disk draws nothing else
		}
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

// Write error bursts: a disk that fails every write for a while (a
// controller reset, a path failover, a device that went read-only and
// came back), so that writes submitted together fail together: every
// copy of a superblock update, a prepare and its headers-ring sector. A
// replica that counts a write as done because another copy "surely"
// landed, or that acts on an update before every copy reports success
// (mutant 30-superblock-write-error-ignored), is then caught by the
// promises checker the first time it acts on what its disk does not hold.
// Independent per-write errors almost never fail four copies at once.

// writeErrorBurstKind is the fault kind's name.
const writeErrorBurstKind = "write-error-burst"

// drawWriteErrorBurst draws the burst rate and mean length of seed from a
// stream of its own, every draw made whether or not bursts are on, so that
// every other option stays as drawn before bursts existed and a seed with
// them off runs exactly as it did. Bursts are on in 15% of seeds.
func drawWriteErrorBurst(seed uint64, force Force) (faults.Ratio, uint64) {
	p := faults.New(seed).Stream("options/" + writeErrorBurstKind)
	on := p.Chance(faults.Percent(15))
	r := p.RatioBetween(faults.PerMillion(500), faults.PerMillion(5_000))
	mean := p.Range(1_000_000, 50_000_000)
	if forced, ok := force[writeErrorBurstKind]; ok {
		on = forced
	}
	if !on {
		return faults.Never, 0
	}
	return r, mean
}

// writeErrorBurstStream returns replica's burst stream, or nil when the
// seed has no bursts (a seed without them draws nothing more).
func (st *simStorage) writeErrorBurstStream(root *faults.PRNG, replica int) *faults.PRNG {
	if st.opts.WriteErrorBurst.Num == 0 {
		return nil
	}
	return root.Stream(fmt.Sprintf("storage/replica-%d/%s", replica, writeErrorBurstKind))
}

// burstFails reports whether a write of size bytes fails in a burst (one
// in progress, or one that starts with it), and how many sectors landed.
func (st *simStorage) burstFails(p *faults.PRNG, untilNs *uint64, size uint64) (uint64, bool) {
	now := st.sim.nowNs()
	if now >= *untilNs && p.Chance(st.opts.WriteErrorBurst) {
		*untilNs = now + 1 + p.Exponential(st.opts.WriteErrorBurstNsMean)
		st.sim.logf(logShort, "replica %d disk: every write fails for %d us", st.replica, (*untilNs-now)/1_000)
	}
	if now >= *untilNs {
		return 0, false
	}
	return p.Uint64N(size / vsr.SectorSize), true
}
