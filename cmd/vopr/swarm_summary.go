package main

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"sort"
	"time"

	"github.com/govsr/govsr/vopr"
)

// swarmSummary is a swarm's whole summary: `vopr swarm --json FILE` writes
// it for machines to read (a nightly job's artifact, a cluster shard's
// result), and the tables print it. Fields are added, never renamed.
type swarmSummary struct {
	GitRevision      string            `json:"git_revision"`
	GoVersion        string            `json:"go_version"`
	Args             []string          `json:"args"`               // the command line after "vopr swarm"
	From             uint64            `json:"from"`               // the first seed of the range (all shards)
	Seeds            uint64            `json:"seeds,omitempty"`    // --seeds: the size of the range the shards split
	Duration         string            `json:"duration,omitempty"` // --duration, as Go writes it ("8h0m0s")
	Shard            swarmShard        `json:"shard"`
	Jobs             int               `json:"jobs"`
	CheckDeterminism bool              `json:"check_determinism"`
	Started          string            `json:"started"` // RFC 3339, UTC
	WallSeconds      float64           `json:"wall_seconds"`
	Interrupted      bool              `json:"interrupted"` // a signal stopped it before its seeds or time ran out
	SeedsRun         uint64            `json:"seeds_run"`
	Passed           uint64            `json:"passed"`
	Failed           uint64            `json:"failed"`
	FailedByClass    map[string]uint64 `json:"failed_by_class"` // class (crash, liveness, correctness, unknown) → seeds
	// Failures lists each failing seed, in the order they finished, up to
	// failuresListedMax; FailuresNotListed counts the rest.
	Failures          []swarmFailure `json:"failures"`
	FailuresNotListed uint64         `json:"failures_not_listed"`
	// ExcusedStalls lists the seeds whose liveness stall was excused, with
	// the proof, up to failuresListedMax.
	ExcusedStalls          []swarmExcuse     `json:"excused_stalls"`
	ExcusedNotListed       uint64            `json:"excused_not_listed"`
	SeedsIgnoredViolations uint64            `json:"seeds_with_ignored_violations"` // --checks-off: seeds a checker turned off would have failed
	SeedsPerHour           float64           `json:"seeds_per_hour"`
	SimulatedSeconds       float64           `json:"simulated_seconds"`         // simulated time over every seed
	MedianSimulatedPerReal float64           `json:"median_simulated_per_real"` // per seed: simulated time over its wall time
	FaultKindSeeds         map[string]uint64 `json:"fault_kind_seeds"`          // fault kind → seeds with it on; every kind present
	Chaos                  chaosTally        `json:"chaos"`
	// Marks: coverage marks, how many seeds hit each and which no seed
	// hit (cmd/vopr/marks.go).
	Marks *swarmMarks `json:"marks,omitempty"`
}

type swarmShard struct {
	Index uint64 `json:"index"`
	Count uint64 `json:"count"`
}

// swarmFailure is one failing seed and how to reproduce it.
type swarmFailure struct {
	Seed        uint64 `json:"seed"`
	Class       string `json:"class"`
	Message     string `json:"message"` // its first line
	Digest      string `json:"digest"`
	Tick        uint64 `json:"tick"`
	Report      string `json:"report"`                 // the seed report's path; "" if it could not be written
	ReportError string `json:"report_error,omitempty"` // why not
	Replay      string `json:"replay"`                 // the command that reruns it
}

type swarmExcuse struct {
	Seed   uint64 `json:"seed"`
	Excuse string `json:"excuse"`
}

// failuresListedMax bounds the failures and excuses a summary lists: a
// build broken overnight fails every seed, and the count says so.
const failuresListedMax = 1000

// ratiosMax bounds the per-seed ratios kept for the median: past it, every
// other one is dropped and then only every other seed's is kept (a
// deterministic thinning, so the median stays a median of a spread sample).
const ratiosMax = 1 << 20

// swarmTally folds seeds into the summary one by one.
type swarmTally struct {
	sum         swarmSummary
	simNs       uint64
	ratios      []float32
	ratioStride uint64
	firstFail   *swarmFailure // the failure of the lowest seed: it sets the exit code
}

func newSwarmTally(cfg *swarmConfig, start time.Time) *swarmTally {
	s := swarmSummary{GitRevision: gitRevision(), GoVersion: runtime.Version(), Args: cfg.args, From: cfg.from,
		Seeds: cfg.seeds, Shard: swarmShard{Index: cfg.shard.index, Count: cfg.shard.count}, Jobs: cfg.jobs,
		CheckDeterminism: cfg.determinism, Started: start.UTC().Format(time.RFC3339),
		FailedByClass: map[string]uint64{}, Failures: []swarmFailure{}, ExcusedStalls: []swarmExcuse{},
		FaultKindSeeds: map[string]uint64{}, Marks: newSwarmMarks()}
	if cfg.duration > 0 {
		s.Duration = cfg.duration.String()
	}
	for _, k := range vopr.FaultKinds {
		s.FaultKindSeeds[k] = 0
	}
	return &swarmTally{sum: s, ratioStride: 1}
}

// add folds one seed in; report is where its failure report went (or why
// not), for a failing seed.
func (t *swarmTally) add(r *swarmResult, report string, reportErr error) {
	s := &t.sum
	s.SeedsRun++
	t.simNs += r.res.TimeNs
	t.addRatio(r)
	for _, k := range r.opts.Enabled() {
		s.FaultKindSeeds[k]++
	}
	s.Chaos.add(&r.res.Stats.Chaos)
	s.Marks.add(r.res)
	if r.res.Stats.IgnoredViolations > 0 {
		s.SeedsIgnoredViolations++
	}
	if r.res.Excuse != "" {
		if len(s.ExcusedStalls) < failuresListedMax {
			s.ExcusedStalls = append(s.ExcusedStalls, swarmExcuse{Seed: r.opts.Seed, Excuse: r.res.Excuse})
		} else {
			s.ExcusedNotListed++
		}
	}
	if r.res.Class == vopr.Pass {
		s.Passed++
		return
	}
	s.Failed++
	s.FailedByClass[string(r.res.Class)]++
	f := swarmFailure{Seed: r.opts.Seed, Class: string(r.res.Class), Message: firstLine(r.res.Message),
		Digest: r.res.Digest, Tick: r.res.Tick, Report: report, Replay: "vopr replay " + report}
	if reportErr != nil {
		f.Report, f.ReportError, f.Replay = "", reportErr.Error(), fmt.Sprintf("vopr --seed %d", r.opts.Seed)
	}
	if t.firstFail == nil || f.Seed < t.firstFail.Seed {
		t.firstFail = &f
	}
	if len(s.Failures) < failuresListedMax {
		s.Failures = append(s.Failures, f)
	} else {
		s.FailuresNotListed++
	}
}

func (t *swarmTally) addRatio(r *swarmResult) {
	if r.wall <= 0 || (t.sum.SeedsRun-1)%t.ratioStride != 0 {
		return
	}
	t.ratios = append(t.ratios, float32(time.Duration(r.res.TimeNs).Seconds()/r.wall.Seconds()))
	if len(t.ratios) == ratiosMax {
		for i := range ratiosMax / 2 {
			t.ratios[i] = t.ratios[2*i]
		}
		t.ratios = t.ratios[:ratiosMax/2]
		t.ratioStride *= 2
	}
}

// finish completes the summary once the seeds are done.
func (t *swarmTally) finish(wall time.Duration, interrupted bool) *swarmSummary {
	s := &t.sum
	s.WallSeconds = wall.Seconds()
	s.Interrupted = interrupted
	if wall > 0 {
		s.SeedsPerHour = float64(s.SeedsRun) / wall.Hours()
	}
	s.SimulatedSeconds = time.Duration(t.simNs).Seconds()
	s.Marks.finish()
	// Listed in seed order, whatever order the workers finished them in.
	slices.SortFunc(s.Failures, func(a, b swarmFailure) int { return cmp.Compare(a.Seed, b.Seed) })
	slices.SortFunc(s.ExcusedStalls, func(a, b swarmExcuse) int { return cmp.Compare(a.Seed, b.Seed) })
	if len(t.ratios) > 0 {
		sorted := slices.Clone(t.ratios)
		slices.Sort(sorted)
		s.MedianSimulatedPerReal = float64(sorted[len(sorted)/2])
	}
	return s
}

// exitCode is the exit code of the lowest failing seed, or a pass.
func (t *swarmTally) exitCode() int {
	if t.firstFail == nil {
		return exitPass
	}
	return exitCode(vopr.Class(t.firstFail.Class))
}

// writeJSON writes the summary to f (opened at the start, so that a bad
// path fails before hours of seeds rather than after).
func (s *swarmSummary) writeJSON(f *os.File) error {
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	if _, err := f.Write(append(data, '\n')); err != nil {
		return fmt.Errorf("writing %s: %w", f.Name(), err)
	}
	return f.Close()
}

// failuresPrintedMax bounds the failures table; --json lists more.
const failuresPrintedMax = 50

// print writes the summary tables and the verdict line.
func (s *swarmSummary) print(w io.Writer) {
	t := newTable(w, "swarm", "value")
	shard := "none (one machine)"
	if s.Shard.Count > 1 {
		first := s.From + s.Shard.Index
		shard = fmt.Sprintf("%d/%d: seeds %d, %d, %d, ... (one in %d)", s.Shard.Index, s.Shard.Count,
			first, first+s.Shard.Count, first+2*s.Shard.Count, s.Shard.Count)
	}
	rows := [][]any{{"shard", shard}, {"seeds run", s.SeedsRun}, {"passed", s.Passed}, {"failed", s.Failed}}
	classes := make([]string, 0, len(s.FailedByClass))
	for c := range s.FailedByClass {
		classes = append(classes, c)
	}
	sort.Strings(classes)
	for _, c := range classes {
		rows = append(rows, []any{"failed: " + c, s.FailedByClass[c]})
	}
	rows = append(rows, []any{"liveness stalls excused", uint64(len(s.ExcusedStalls)) + s.ExcusedNotListed})
	if s.SeedsIgnoredViolations > 0 {
		rows = append(rows, []any{"seeds with violations ignored (checks off)", s.SeedsIgnoredViolations})
	}
	for _, k := range vopr.FaultKinds {
		rows = append(rows, []any{"seeds with " + k, s.FaultKindSeeds[k]})
	}
	rows = append(rows, s.Chaos.rows()...)
	rows = append(rows, marksSwarmRows(s.Marks)...)
	rows = append(rows,
		[]any{"wall time", roundWall(time.Duration(s.WallSeconds * float64(time.Second)))},
		[]any{"seeds / hour", fmt.Sprintf("%.0f", s.SeedsPerHour)},
		[]any{"median simulated / real", fmt.Sprintf("%.0fx", s.MedianSimulatedPerReal)},
		[]any{"simulated time", time.Duration(s.SimulatedSeconds * float64(time.Second)).Round(time.Second)})
	if s.Interrupted {
		rows = append(rows, []any{"interrupted", "yes: stopped by a signal"})
	}
	for _, r := range rows {
		_ = t.Append(r...)
	}
	_ = t.Render()
	s.printFailures(w)
	if s.Failed == 0 {
		fmt.Fprintf(w, "PASSED %d seeds\n", s.SeedsRun)
	} else {
		fmt.Fprintf(w, "FAILED %d of %d seeds\n", s.Failed, s.SeedsRun)
	}
}

// printFailures lists the failing seeds with the command to replay each.
func (s *swarmSummary) printFailures(w io.Writer) {
	if len(s.Failures) == 0 {
		return
	}
	t := newTable(w, "failed seed", "class", "message", "replay")
	for i, f := range s.Failures {
		if i == failuresPrintedMax {
			break
		}
		_ = t.Append(f.Seed, f.Class, truncate(f.Message, 60), f.Replay)
	}
	_ = t.Render()
	if more := uint64(len(s.Failures)) + s.FailuresNotListed - uint64(min(len(s.Failures), failuresPrintedMax)); more > 0 {
		fmt.Fprintf(w, "... and %d more failing seeds (--json lists up to %d)\n", more, failuresListedMax)
	}
}

// truncate shortens s to n runes at most.
func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-3]) + "..."
}

// roundWall rounds a wall time to what a reader wants: seconds for long
// runs, hundredths for short ones.
func roundWall(d time.Duration) time.Duration {
	if d >= time.Minute {
		return d.Round(time.Second)
	}
	return d.Round(10 * time.Millisecond)
}
