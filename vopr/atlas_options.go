package vopr

import (
	"fmt"

	"github.com/govsr/govsr/faults"
)

// StorageAtlasOptions widen the simulated disks' faults beyond the
// whole-disk atlas of StorageOptions.Faulty; vopr/atlas.go says what each
// may destroy and why the cluster can still recover all the same. A seed
// report older than them has none of these fields: each is then off, and
// the report replays as it was recorded.
type StorageAtlasOptions struct {
	// Superblock: read errors, bit flips and misdirected writes (at the
	// Storage rates), bit rot and torn sectors strike one or two of each
	// replica's four superblock copies, never the others.
	Superblock bool `json:"superblock"`
	// SlotLoss: journal and checkpoint faults follow a per-slot atlas
	// rather than whole disks. Both copies of a slot (prepare and ring
	// header) may be lost, on at most SlotLossReplicas replicas per slot,
	// chosen among SlotLossDisks replicas.
	SlotLoss         bool `json:"slot_loss"`
	SlotLossDisks    int  `json:"slot_loss_disks"`
	SlotLossReplicas int  `json:"slot_loss_replicas"`
	// MisdirectFar: a misdirected write lands anywhere else the atlas lets
	// faults strike on its disk (another zone, or another offset of its
	// zone), not only on the same offset of another piece of its zone.
	MisdirectFar bool `json:"misdirect_far"`
	// TornSector: per write a crash cuts short, the chance that the last
	// sector it landed is torn (its first bytes new, the rest old).
	TornSector faults.Ratio `json:"torn_sector"`
	// BitRot: per 100 ms per disk, the chance that a bit flips at rest
	// somewhere the atlas lets faults strike.
	BitRot faults.Ratio `json:"bit_rot"`
	// Replace: per restart, the chance that the replica's disk was replaced
	// while it was down (a fresh --rejoin format), if the atlas has room.
	Replace faults.Ratio `json:"replace"`
}

// storageFaultKinds are the fault kinds of StorageAtlasOptions.
var storageFaultKinds = []string{"superblock", "slot-loss", "misdirect-far", "torn-sector", "bit-rot", "replace"}

// drawStorageAtlas draws the StorageAtlasOptions of seed from a stream of
// their own, so that the draws of every other option stay as they were.
// Every draw is made whether or not its kind is on.
func drawStorageAtlas(seed uint64, replicas int, force Force) StorageAtlasOptions {
	p := faults.New(seed).Stream("options/storage")
	on := func(kind string) bool {
		drawn := p.Chance(faults.Percent(50))
		if forced, ok := force[kind]; ok {
			return forced
		}
		return drawn
	}
	rate := func(kind string, lo, hi faults.Ratio) faults.Ratio {
		r := p.RatioBetween(lo, hi)
		if !on(kind) {
			return faults.Never
		}
		return r
	}
	var a StorageAtlasOptions
	a.Superblock = on("superblock")
	budget := max(faultyDisks(replicas), 1)
	disks, per := p.RangeInt(1, replicas), p.RangeInt(1, budget)
	if on("slot-loss") {
		a.SlotLoss, a.SlotLossDisks, a.SlotLossReplicas = true, disks, per
	}
	a.MisdirectFar = on("misdirect-far")
	a.TornSector = rate("torn-sector", faults.Percent(10), faults.Percent(100))
	a.BitRot = rate("bit-rot", faults.PerMillion(2_000), faults.PerMillion(50_000))
	a.Replace = rate("replace", faults.Percent(10), faults.Percent(60))
	return a
}

// absentRatiosNever: a report predating these options leaves them zero.
func (a *StorageAtlasOptions) absentRatiosNever() {
	for _, r := range []*faults.Ratio{&a.TornSector, &a.BitRot, &a.Replace} {
		if *r == (faults.Ratio{}) {
			*r = faults.Never
		}
	}
}

// validate reports the options out of range.
func (a *StorageAtlasOptions) validate(replicas int) []error {
	var errs []error
	if a.SlotLoss && (a.SlotLossDisks < 1 || a.SlotLossDisks > replicas || a.SlotLossReplicas < 1) {
		errs = append(errs, fmt.Errorf("slot loss on %d disks, %d replicas per slot, with %d replicas",
			a.SlotLossDisks, a.SlotLossReplicas, replicas))
	}
	for _, r := range []struct {
		name  string
		ratio faults.Ratio
	}{{"torn sector", a.TornSector}, {"bit rot", a.BitRot}, {"replace", a.Replace}} {
		if err := r.ratio.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", r.name, err))
		}
	}
	return errs
}

// enabled reports whether storage fault kind is on in o and can strike:
// faults that cross replicas (slot loss, replacement) need a budget, and
// those of a crash need crashes.
func (a *StorageAtlasOptions) enabled(kind string, o *Options) bool {
	crash := o.Process.Crash.Num > 0
	struck := a.Superblock || ((a.SlotLoss || o.Storage.Faulty) && faultyDisks(o.Replicas) > 0)
	switch kind {
	case "superblock":
		return a.Superblock
	case "slot-loss":
		return a.SlotLoss && faultyDisks(o.Replicas) > 0
	case "misdirect-far":
		return a.MisdirectFar && o.Storage.Misdirect.Num > 0 && struck
	case "torn-sector":
		return a.TornSector.Num > 0 && crash
	case "bit-rot":
		return a.BitRot.Num > 0 && struck
	case "replace":
		return a.Replace.Num > 0 && crash && faultyDisks(o.Replicas) > 0
	}
	return false
}

// any reports whether any of these options is on: if none is, the disks
// behave exactly as before they existed (old seed reports replay alike).
func (a *StorageAtlasOptions) any() bool {
	return a.Superblock || a.SlotLoss || a.MisdirectFar || a.TornSector.Num > 0 || a.BitRot.Num > 0 || a.Replace.Num > 0
}

// describe is the options table's line for these options.
func (a *StorageAtlasOptions) describe() string {
	slot := "off"
	if a.SlotLoss {
		slot = fmt.Sprintf("%d per slot among %d disks", a.SlotLossReplicas, a.SlotLossDisks)
	}
	return fmt.Sprintf("superblock %v, slot loss %s, misdirect far %v, torn sector %s, bit rot %s per 100 ms, replace %s per restart",
		a.Superblock, slot, a.MisdirectFar, a.TornSector, a.BitRot, a.Replace)
}

// DescribeStorageAtlas is the options table's line for the storage atlas
// options.
func (o *Options) DescribeStorageAtlas() string { return o.Storage.Atlas.describe() }
