package vopr

import "github.com/govsr/govsr/faults"

// LivenessOptions choose how the liveness phase heals the cluster.
type LivenessOptions struct {
	// Core heals only a core: a view-change quorum of replicas, chosen at
	// the start of the liveness phase from the seed (healthy disks first).
	// The others stay as they are or are left crashed, isolated or
	// paused, for good. Off (and in reports that predate it), the phase
	// heals every replica.
	Core bool `json:"core"`
}

// livenessCorePercent is how many seeds heal only a core: most, since a
// core that must work alone finds what healing everything hides, but not
// all, so that the heal-everything mode keeps being run.
const livenessCorePercent = 70

// drawLiveness draws the liveness options from a stream of their own, so
// that the draws of every other option stay as they were.
func drawLiveness(o *Options, force Force) {
	p := faults.New(o.Seed).Stream("options/liveness")
	o.Liveness.Core = p.Chance(faults.Percent(livenessCorePercent))
	if forced, ok := force["core"]; ok {
		o.Liveness.Core = forced
	}
}
