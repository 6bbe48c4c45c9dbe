package vopr

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/govsr/govsr/faults"
	"github.com/govsr/govsr/vsr"
)

// Options is everything one simulation run depends on besides the code:
// the seed and every parameter drawn from it. A seed report stores the
// whole struct, so a replay reruns exactly what failed even if the swarm's
// draws change later.
type Options struct {
	Seed uint64 `json:"seed"`

	Replicas        int    `json:"replicas"`
	Clients         int    `json:"clients"`
	PipelineMax     int    `json:"pipeline_max"`
	JournalSlots    int    `json:"journal_slots"`
	ClientsMax      int    `json:"clients_max"`
	RequestQueueMax int    `json:"request_queue_max"`
	MessageSizeMax  uint32 `json:"message_size_max"`

	// The safety phase ends after RequestsMax replies or TicksMax ticks
	// (10 ms of simulated time each), whichever comes first; the liveness
	// phase then has LivenessTicksMax ticks to finish every request.
	RequestsMax      int `json:"requests_max"`
	TicksMax         int `json:"ticks_max"`
	LivenessTicksMax int `json:"liveness_ticks_max"`

	// Bug, for checker tests only, breaks the system on purpose: a
	// replica bug (vsr.ParseBug) or a state machine bug (MachineBugs).
	Bug string `json:"bug,omitempty"`

	Network  NetworkOptions  `json:"network"`
	Process  ProcessOptions  `json:"process"`
	Storage  StorageOptions  `json:"storage"`
	Workload WorkloadOptions `json:"workload"`
	Liveness LivenessOptions `json:"liveness"`
	Checks   CheckOptions    `json:"checks"`
	Chaos    ChaosOptions    `json:"chaos"`
}

// NetworkOptions are the simulated network's faults. Per-message ratios
// apply to each message sent; "per step" ratios are drawn every 100 ms of
// simulated time.
type NetworkOptions struct {
	LatencyNsMin  uint64       `json:"latency_min_ns"`
	LatencyNsMean uint64       `json:"latency_mean_ns"` // exponential, on top of the minimum
	Loss          faults.Ratio `json:"loss"`
	Duplicate     faults.Ratio `json:"duplicate"`
	Corrupt       faults.Ratio `json:"corrupt"`    // one bit flipped; the receiver must reject it
	Partition     faults.Ratio `json:"partition"`  // per step: a partition starts (if none)
	Heal          faults.Ratio `json:"heal"`       // per step: the partition heals
	Asymmetric    faults.Ratio `json:"asymmetric"` // a partition blocks one direction only
	Clog          faults.Ratio `json:"clog"`       // per step, per link: the link stalls
	ClogNsMean    uint64       `json:"clog_mean_ns"`
	LinkCapacity  int          `json:"link_capacity"` // messages in flight per link; more are dropped
}

// ProcessOptions are faults of the replica processes.
type ProcessOptions struct {
	Pause            faults.Ratio `json:"pause"` // per step, per replica
	PauseNsMean      uint64       `json:"pause_mean_ns"`
	Crash            faults.Ratio `json:"crash"` // per step, per replica: writes in flight tear, the replica restarts from disk
	RestartNsMean    uint64       `json:"restart_mean_ns"`
	ClockDriftPpmMax uint32       `json:"clock_drift_ppm_max"` // each replica's tick runs fast or slow by up to this
}

// StorageOptions are the simulated disks' behaviour. Faulty turns storage
// faults on for the disks the fault atlas picks (see simStorage); the
// ratios are per I/O.
type StorageOptions struct {
	WriteLatencyNsMin  uint64       `json:"write_latency_min_ns"`
	WriteLatencyNsMean uint64       `json:"write_latency_mean_ns"`
	Faulty             bool         `json:"faulty"`
	ReadError          faults.Ratio `json:"read_error"`
	Corrupt            faults.Ratio `json:"corrupt"`
	Misdirect          faults.Ratio `json:"misdirect"`
	// WriteError: per write, on every disk, the chance that it fails
	// (vopr/write_errors.go). Drawn from a stream of its own.
	WriteError faults.Ratio `json:"write_error"`
	// WriteErrorBurst: per write, on every disk, the chance that the disk
	// fails every write for exp(WriteErrorBurstNsMean) from then on
	// (vopr/write_errors.go). Drawn from a stream of its own.
	WriteErrorBurst       faults.Ratio `json:"write_error_burst"`
	WriteErrorBurstNsMean uint64       `json:"write_error_burst_ns_mean"`

	Atlas StorageAtlasOptions `json:"atlas"` // faults beyond whole disks (vopr/atlas_options.go)
}

// WorkloadOptions shape what the clients ask.
type WorkloadOptions struct {
	Keys         int    `json:"keys"`
	KeySkew      uint8  `json:"key_skew"` // 0 uniform; higher favours the first keys
	ThinkNsMean  uint64 `json:"think_mean_ns"`
	ReadPercent  uint32 `json:"read_percent"`
	WritePercent uint32 `json:"write_percent"` // the rest are compare-and-set
}

// FaultKinds lists the faults a swarm turns on or off per seed, by name.
var FaultKinds = append([]string{"loss", "duplicate", "corrupt", "partition", "clog", "pause", "drift", "crash", "storage"},
	append(append(storageFaultKinds, writeErrorKind, writeErrorBurstKind, "core"), chaosKinds...)...)

// Force holds fault kinds forced on or off, whatever the seed draws.
type Force map[string]bool

// ParseFaultList parses a comma-separated list of fault kinds.
func ParseFaultList(list string) ([]string, error) {
	if list == "" {
		return nil, nil
	}
	var kinds []string
	for _, k := range strings.Split(list, ",") {
		k = strings.TrimSpace(k)
		if !slices.Contains(FaultKinds, k) {
			return nil, fmt.Errorf("unknown fault kind %q (known: %s)", k, strings.Join(FaultKinds, ", "))
		}
		kinds = append(kinds, k)
	}
	return kinds, nil
}

// Draw returns the options seed stands for: the swarm draws the cluster's
// shape and, for each fault kind, whether it is on at all this seed and at
// what rate (Groce et al., ISSTA 2012: leaving faults out finds more bugs
// than always turning all on). Every draw is made whether or not it is
// used, so forcing a kind does not change the rest of the seed's options.
func Draw(seed uint64, force Force) Options {
	p := faults.New(seed).Stream("options")
	o := Options{Seed: seed}
	o.Replicas = p.RangeInt(1, 6)
	o.Clients = p.RangeInt(1, 16)
	o.PipelineMax = p.RangeInt(1, 8)
	o.JournalSlots = p.RangeInt(32, 256)
	// Some seeds have fewer sessions than clients: evictions, then
	// registrations again, under every other fault.
	o.ClientsMax = p.RangeInt(max(1, o.Clients-2), 32)
	o.RequestQueueMax = p.RangeInt(1, 64)
	o.MessageSizeMax = uint32(p.RangeInt(4, 16)) << 10
	o.RequestsMax = 2000
	o.TicksMax = 30_000
	o.LivenessTicksMax = 12_000

	on := func(kind string) bool {
		drawn := p.Chance(faults.Percent(60))
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
	n := &o.Network
	n.LatencyNsMin = p.Range(100_000, 5_000_000)
	n.LatencyNsMean = p.Range(500_000, 20_000_000)
	n.Loss = rate("loss", faults.PerMillion(1_000), faults.PerMillion(100_000))
	n.Duplicate = rate("duplicate", faults.PerMillion(1_000), faults.PerMillion(50_000))
	n.Corrupt = rate("corrupt", faults.PerMillion(1_000), faults.PerMillion(20_000))
	n.Partition = rate("partition", faults.PerMillion(5_000), faults.PerMillion(50_000))
	n.Heal = p.RatioBetween(faults.PerMillion(50_000), faults.PerMillion(300_000))
	n.Asymmetric = p.RatioBetween(faults.Percent(0), faults.Percent(50))
	n.Clog = rate("clog", faults.PerMillion(1_000), faults.PerMillion(20_000))
	n.ClogNsMean = p.Range(100_000_000, 2_000_000_000)
	n.LinkCapacity = p.RangeInt(8, 64)

	pr := &o.Process
	pr.Pause = rate("pause", faults.PerMillion(1_000), faults.PerMillion(10_000))
	pr.PauseNsMean = p.Range(50_000_000, 2_000_000_000)
	drift := uint32(p.Range(1, 2_000))
	if on("drift") {
		pr.ClockDriftPpmMax = drift
	}
	pr.Crash = rate("crash", faults.PerMillion(1_000), faults.PerMillion(10_000))
	pr.RestartNsMean = p.Range(100_000_000, 3_000_000_000)

	s := &o.Storage
	s.WriteLatencyNsMin = p.Range(50_000, 1_000_000)
	s.WriteLatencyNsMean = p.Range(100_000, 5_000_000)
	s.ReadError = p.RatioBetween(faults.PerMillion(100), faults.PerMillion(10_000))
	s.Corrupt = p.RatioBetween(faults.PerMillion(100), faults.PerMillion(10_000))
	s.Misdirect = p.RatioBetween(faults.PerMillion(100), faults.PerMillion(5_000))
	s.Faulty = on("storage")
	s.WriteError = drawWriteError(seed, force)
	s.WriteErrorBurst, s.WriteErrorBurstNsMean = drawWriteErrorBurst(seed, force)

	w := &o.Workload
	// At least a key per four clients, and a moderate skew: a single key
	// hammered by sixteen clients makes linearizability checking
	// exponential (porcupine answers unknown) without finding more bugs.
	w.Keys = p.RangeInt(max(1, (o.Clients+3)/4), 16)
	w.KeySkew = uint8(p.Range(0, 128))
	w.ThinkNsMean = p.Range(0, 50_000_000)
	w.ReadPercent = uint32(p.Range(10, 50))
	w.WritePercent = uint32(p.Range(20, 100-uint64(w.ReadPercent)))
	// The chaos kinds may reshape the cluster (replicas, clients, message
	// size), so they are drawn before what depends on its shape.
	drawChaos(seed, force, &o)
	drawPartitionRestart(seed, force, &o.Chaos)
	drawHeadLoss(seed, force, &o.Chaos)
	drawClientReplay(seed, force, &o.Chaos)
	drawTails(seed, force, &o)
	drawStalePrepares(seed, force, &o.Chaos)
	drawNearTransfer(seed, force, &o.Chaos)
	drawLiveness(&o, force)
	o.Storage.Atlas = drawStorageAtlas(seed, o.Replicas, force)
	return o
}

// Validate reports the first option out of range.
func (o *Options) Validate() error {
	var errs []error
	check := func(ok bool, format string, args ...any) {
		if !ok {
			errs = append(errs, fmt.Errorf(format, args...))
		}
	}
	check(o.Replicas >= 1 && o.Replicas <= 6, "replicas %d outside [1, 6]", o.Replicas)
	check(o.Clients >= 1 && o.Clients <= 64, "clients %d outside [1, 64]", o.Clients)
	check(o.RequestsMax >= 1, "requests max %d below 1", o.RequestsMax)
	check(o.TicksMax >= 1 && o.TicksMax <= 10_000_000, "ticks max %d outside [1, 10000000]", o.TicksMax)
	check(o.LivenessTicksMax >= 100, "liveness ticks max %d below 100", o.LivenessTicksMax)
	check(o.Network.LinkCapacity >= 1, "link capacity %d below 1", o.Network.LinkCapacity)
	check(o.JournalSlots >= 32 && o.JournalSlots <= 4096, "journal slots %d outside [32, 4096]", o.JournalSlots)
	check(o.PipelineMax >= 1 && o.PipelineMax <= 8, "pipeline max %d outside [1, 8]", o.PipelineMax)
	check(o.Workload.Keys >= 1 && o.Workload.Keys <= 1024, "keys %d outside [1, 1024]", o.Workload.Keys)
	check(o.Workload.ReadPercent+o.Workload.WritePercent <= 100, "read %d%% + write %d%% above 100%%",
		o.Workload.ReadPercent, o.Workload.WritePercent)
	for _, r := range []struct {
		name  string
		ratio faults.Ratio
	}{
		{"loss", o.Network.Loss}, {"duplicate", o.Network.Duplicate}, {"corrupt", o.Network.Corrupt},
		{"partition", o.Network.Partition}, {"heal", o.Network.Heal}, {"asymmetric", o.Network.Asymmetric},
		{"clog", o.Network.Clog}, {"pause", o.Process.Pause}, {"crash", o.Process.Crash},
		{"read error", o.Storage.ReadError}, {"storage corrupt", o.Storage.Corrupt}, {"misdirect", o.Storage.Misdirect},
		{"write error", o.Storage.WriteError}, {"write error burst", o.Storage.WriteErrorBurst},
	} {
		if err := r.ratio.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", r.name, err))
		}
	}
	for _, name := range o.Checks.Off {
		check(slices.Contains(Checks, name), "unknown checker %q turned off", name)
	}
	errs = append(errs, o.Storage.Atlas.validate(o.Replicas)...)
	o.Chaos.validate(o, check)
	if _, err := vsr.ParseBug(o.Bug); o.Bug != "" && err != nil && !slices.Contains(MachineBugs, o.Bug) {
		errs = append(errs, fmt.Errorf("unknown bug %q", o.Bug))
	}
	if len(errs) > 0 {
		return fmt.Errorf("vopr: options: %w", errors.Join(errs...))
	}
	return nil
}

// absentRatiosNever sets rates a report predating them left out (zero
// ratios) to Never: a report replays with the faults it knew of.
func (o *Options) absentRatiosNever() {
	for _, r := range []*faults.Ratio{&o.Network.Loss, &o.Network.Duplicate, &o.Network.Corrupt, &o.Network.Partition,
		&o.Network.Heal, &o.Network.Asymmetric, &o.Network.Clog, &o.Process.Pause, &o.Process.Crash,
		&o.Storage.ReadError, &o.Storage.Corrupt, &o.Storage.Misdirect, &o.Storage.WriteError,
		&o.Storage.WriteErrorBurst} {
		if *r == (faults.Ratio{}) {
			*r = faults.Never
		}
	}
	o.Storage.Atlas.absentRatiosNever()
	o.Chaos.absentRatiosNever()
}

// Enabled reports which fault kinds are on in o.
func (o *Options) Enabled() []string {
	var on []string
	never := func(r faults.Ratio) bool { return r.Num == 0 }
	for _, k := range FaultKinds {
		var off bool
		switch k {
		case "loss":
			off = never(o.Network.Loss)
		case "duplicate":
			off = never(o.Network.Duplicate)
		case "corrupt":
			off = never(o.Network.Corrupt)
		case "partition":
			off = never(o.Network.Partition)
		case "clog":
			off = never(o.Network.Clog)
		case "pause":
			off = never(o.Process.Pause)
		case "drift":
			off = o.Process.ClockDriftPpmMax == 0
		case "crash":
			off = never(o.Process.Crash)
		case "storage":
			off = !o.Storage.Faulty || faultyDisks(o.Replicas) == 0
		case writeErrorKind:
			off = never(o.Storage.WriteError)
		case writeErrorBurstKind:
			off = never(o.Storage.WriteErrorBurst)
		case "core":
			off = !o.Liveness.Core || coreSize(o.Replicas) == o.Replicas
		default:
			if on, ok := o.Chaos.kindOn(k); ok {
				off = !on
			} else {
				off = !o.Storage.Atlas.enabled(k, o)
			}
		}
		if !off {
			on = append(on, k)
		}
	}
	return on
}
