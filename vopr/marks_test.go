package vopr

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/govsr/govsr/vsr"
)

// markSeeds between them hit every reachable mark at least twice (a greedy
// cover of the marks seeds 1-300 hit, weighted by run time), so that one
// seed drifting onto another path as the code moves does not by itself
// lose a mark. They run in a few seconds. (83 and 102 were added when write
// errors moved the seeds that had hit open_head_lost off its path; 189
// when incremental checkpoints moved the others off adopted_log_repaired,
// which it alone of seeds 1-400 hits now; 13 and 111 when the head-loss
// chaos kind moved 83 and 102 off open_head_lost.)
var markSeeds = []uint64{12, 13, 54, 66, 69, 83, 85, 98, 102, 111, 154, 189, 223, 275, 279, 293, 295}

// markSeedsForced are seeds that hit a mark only with fault kinds forced
// on, as `vopr --until-mark NAME --on KINDS` finds them.
var markSeedsForced = map[uint64]Force{
	// log_vouched, seed 301's path (a crash group whose head landed above
	// ops no disk kept, over committed ops of older views): 2,168 seeds of
	// `vopr --until-mark log_vouched --from 30000 --on crash-group` found
	// one; TestLogViewPrimaryVouchesForItsLogAcrossAGap scripts it too.
	32167: {"crash-group": true},
}

// marksUnreachable are the marks the simulator cannot hit today, each with
// the reason. Keep it short: each entry is a protocol path no seed tests.
var marksUnreachable = map[string]string{}

// TestMarksAllHit runs markSeeds and fails naming every mark none of them
// hit: a rare path that became unreachable, or a mark that moved off the
// path it names. (Regenerate markSeeds from a swarm if seeds merely
// drifted: `vopr swarm --seeds 300` lists how many seeds hit each mark.)
func TestMarksAllHit(t *testing.T) {
	seeds := slices.Clone(markSeeds)
	for seed := range markSeedsForced {
		seeds = append(seeds, seed)
	}
	slices.Sort(seeds) // the map's order must not reach the subtests' order
	hitBy := runMarkSeeds(t, seeds)
	var missing []string
	for _, name := range MarkNames() {
		_, excluded := marksUnreachable[name]
		switch {
		case len(hitBy[name]) == 0 && !excluded:
			missing = append(missing, name)
		case len(hitBy[name]) > 0 && excluded:
			t.Errorf("mark %s is listed unreachable (%s) but seeds %v hit it: remove it from marksUnreachable",
				name, marksUnreachable[name], hitBy[name])
		}
	}
	if len(missing) > 0 {
		t.Errorf("no seed of %v hit mark(s): %s", seeds, strings.Join(missing, ", "))
	}
	for name := range marksUnreachable {
		if err := CheckMarkNames([]string{name}); err != nil {
			t.Errorf("marksUnreachable: %v", err)
		}
	}
}

// runMarkSeeds runs seeds side by side and returns, for each mark hit, the
// seeds that hit it (in seed order).
func runMarkSeeds(t *testing.T, seeds []uint64) map[string][]uint64 {
	var mu sync.Mutex
	hitBy := map[string][]uint64{}
	t.Run("seeds", func(t *testing.T) {
		for _, seed := range seeds {
			t.Run(fmt.Sprint(seed), func(t *testing.T) {
				t.Parallel()
				res := runSeedForced(t, seed, markSeedsForced[seed])
				if res.Class != Pass {
					t.Logf("seed %d: %s: %s", seed, res.Class, firstLine(res.Message))
				}
				mu.Lock()
				defer mu.Unlock()
				for _, name := range res.MarksHit() {
					hitBy[name] = append(hitBy[name], seed)
				}
			})
		}
	})
	for name := range hitBy {
		slices.Sort(hitBy[name])
	}
	return hitBy
}

// TestMarkCounter: the counter lists marks in vsr's order with their
// counts, and the Result helpers read them back.
func TestMarkCounter(t *testing.T) {
	var c markCounter
	c.add(vsr.MarkNackTruncation)
	c.add(vsr.MarkViewChangeStarted)
	c.add(vsr.MarkNackTruncation)
	res := &Result{Marks: c.hits()}
	want := []MarkHits{{"view_change_started", 1}, {"nack_truncation", 2}}
	if !slices.Equal(res.Marks, want) {
		t.Fatalf("hits %v, want %v", res.Marks, want)
	}
	if got := res.MissingMarks([]string{"nack_truncation", "eviction"}); !slices.Equal(got, []string{"eviction"}) {
		t.Fatalf("missing %v", got)
	}
	if res.MarksSummary() != "view_change_started 1, nack_truncation 2" {
		t.Fatalf("summary %q", res.MarksSummary())
	}
	if err := CheckMarkNames([]string{"nack_truncation", "no_such_mark"}); err == nil ||
		!strings.Contains(err.Error(), `"no_such_mark"`) || !strings.Contains(err.Error(), "eviction") {
		t.Fatalf("CheckMarkNames of an unknown name: %v", err)
	}
}

// TestCorpusMarksRule: a corpus entry must name its marks, and one whose
// replay misses a named mark is reported stale with the command that finds
// a new seed.
func TestCorpusMarksRule(t *testing.T) {
	var c markCounter
	c.add(vsr.MarkViewChangeStarted)
	res := &Result{Marks: c.hits()}
	report := &Report{Seed: 77}
	if msg := staleCorpusEntry(report, res); !strings.Contains(msg, `names no "marks"`) {
		t.Fatalf("an entry without marks: %q", msg)
	}
	report.Marks = []string{}
	if msg := staleCorpusEntry(report, res); msg != "" {
		t.Fatalf("an entry with an empty list: %q", msg)
	}
	report.Marks = []string{"view_change_started", "nack_truncation"}
	msg := staleCorpusEntry(report, res)
	if !strings.Contains(msg, "no longer hits mark(s) nack_truncation") ||
		!strings.Contains(msg, "vopr --until-mark nack_truncation --from 77") {
		t.Fatalf("a stale entry: %q", msg)
	}
}

// TestReportMarks: a failing run's report records the marks it hit, they
// survive writing and loading, and a report naming an unknown mark is
// refused.
func TestReportMarks(t *testing.T) {
	o := Draw(13, nil)
	o.RequestsMax = 300
	res := runOptions(t, o)
	if len(res.Marks) == 0 {
		t.Fatal("seed 13 hit no mark")
	}
	report := NewReport(o, res, "test", "go")
	dir := t.TempDir()
	path, err := report.Write(dir)
	if err != nil {
		t.Fatal(err)
	}
	loaded, err := LoadReport(path)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(loaded.Marks, res.MarksHit()) {
		t.Fatalf("loaded marks %v, the run hit %v", loaded.Marks, res.MarksHit())
	}
	report.Marks = append(report.Marks, "no_such_mark")
	if path, err = report.Write(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadReport(path); err == nil || !strings.Contains(err.Error(), "no_such_mark") {
		t.Fatalf("a report naming an unknown mark loaded: %v", err)
	}
}
