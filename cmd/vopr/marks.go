package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/govsr/govsr/vopr"
)

// exitNotFound is the exit code of --until-mark when no seed of the range
// hit the mark.
const exitNotFound = 1

// untilMarkSeedsMax is how many seeds --until-mark tries by default.
const untilMarkSeedsMax = 200

// marksPerLine keeps the result table's marks cell readable.
const marksPerLine = 4

// markResultRows are the result table's rows for the coverage marks a run
// hit: one cell, a few marks to a line.
func markResultRows(res *vopr.Result) [][]any {
	cell := "none"
	if len(res.Marks) > 0 {
		var lines []string
		for i := 0; i < len(res.Marks); i += marksPerLine {
			var parts []string
			for _, h := range res.Marks[i:min(i+marksPerLine, len(res.Marks))] {
				parts = append(parts, fmt.Sprintf("%s %d", h.Name, h.Count))
			}
			lines = append(lines, strings.Join(parts, ", "))
		}
		cell = strings.Join(lines, "\n")
	}
	title := fmt.Sprintf("marks hit (%d of %d)", len(res.Marks), len(vopr.MarkNames()))
	return [][]any{{title, cell}}
}

// swarmMarks counts, over a swarm, the seeds that hit each coverage mark.
type swarmMarks struct {
	Seeds    map[string]uint64 `json:"seeds"`     // mark → seeds that hit it; every mark present
	NeverHit []string          `json:"never_hit"` // marks no seed hit, in vsr's order of marks
}

func newSwarmMarks() *swarmMarks {
	m := &swarmMarks{Seeds: map[string]uint64{}, NeverHit: []string{}}
	for _, name := range vopr.MarkNames() {
		m.Seeds[name] = 0
	}
	return m
}

// add counts the marks one seed hit.
func (m *swarmMarks) add(res *vopr.Result) {
	for _, name := range res.MarksHit() {
		m.Seeds[name]++
	}
}

// finish lists the marks no seed hit.
func (m *swarmMarks) finish() {
	m.NeverHit = m.NeverHit[:0]
	for _, name := range vopr.MarkNames() {
		if m.Seeds[name] == 0 {
			m.NeverHit = append(m.NeverHit, name)
		}
	}
}

// marksSwarmRows are the swarm summary's rows for the coverage marks, in
// vsr's order of marks: how many seeds hit each, and the marks no seed hit
// (paths the swarm did not test).
func marksSwarmRows(m *swarmMarks) [][]any {
	names := vopr.MarkNames()
	rows := make([][]any, 0, len(names)+1)
	for _, name := range names {
		rows = append(rows, []any{"seeds hitting mark " + name, m.Seeds[name]})
	}
	never := "none"
	if len(m.NeverHit) > 0 {
		never = strings.Join(m.NeverHit, ", ")
	}
	return append(rows, []any{fmt.Sprintf("marks never hit (%d of %d)", len(m.NeverHit), len(names)), never})
}

// markFlags registers --until-mark, --from and --seeds-max on fs.
func markFlags(fs *flag.FlagSet, f *seedFlags) {
	fs.StringVar(&f.untilMark, "until-mark", "", "run seeds --from on until one hits this coverage mark, then run it as --seed would: "+
		strings.Join(vopr.MarkNames(), ","))
	fs.StringVar(&f.from, "from", "1", "with --until-mark: the first seed to try (decimal u64)")
	fs.IntVar(&f.seedsMax, "seeds-max", untilMarkSeedsMax, "with --until-mark: how many seeds to try at most")
}

// untilMark runs seeds f.from, f.from+1, ... with f's options until one
// hits the mark f.untilMark; then it runs that seed again the way --seed
// does (options, result, verdict) and says how to rerun it.
func untilMark(f *seedFlags, stdout, stderr io.Writer) int {
	if err := checkUntilMark(f); err != nil {
		fmt.Fprintf(stderr, "vopr: %v\n", err)
		return exitUsage
	}
	from, _ := parseSeed(f.from)
	for i := 0; i < f.seedsMax; i++ {
		seed := from + uint64(i)
		if seed < from {
			break // the range wrapped past the largest seed
		}
		try := *f
		try.seed = seed
		opts, err := try.options()
		if err != nil {
			fmt.Fprintf(stderr, "vopr: seed %d: %v\n", seed, err)
			return exitUsage
		}
		res, _, err := simulate(opts, nil, 0)
		if err != nil {
			fmt.Fprintf(stderr, "vopr: seed %d: %v\n", seed, err)
			return exitUsage
		}
		if count := res.MarkCount(f.untilMark); count > 0 {
			fmt.Fprintf(stdout, "seed %d hits mark %s (%d times; %d seeds tried)\nrerun: %s\n\n",
				seed, f.untilMark, count, i+1, rerunCommand(&try))
			try.seedSet, try.untilMark = true, ""
			return runFlags(&try, stdout, stderr)
		}
		fmt.Fprintf(stderr, "vopr: seed %d: %s, no %s\n", seed, res.Class, f.untilMark)
	}
	fmt.Fprintf(stdout, "NOT FOUND: no seed of %d from %d hit mark %s; try more (--seeds-max), other seeds (--from) or forced faults (--on)\n",
		f.seedsMax, from, f.untilMark)
	return exitNotFound
}

// checkUntilMark checks the flags of --until-mark before any seed runs.
func checkUntilMark(f *seedFlags) error {
	if err := vopr.CheckMarkNames([]string{f.untilMark}); err != nil {
		return fmt.Errorf("--until-mark: %w", err)
	}
	if f.seedSet {
		return errors.New("--until-mark chooses the seed: give --from, not --seed")
	}
	if _, err := parseSeed(f.from); err != nil {
		return fmt.Errorf("--from: %w", err)
	}
	if f.seedsMax < 1 {
		return fmt.Errorf("--seeds-max %d: want at least 1", f.seedsMax)
	}
	_, err := f.options()
	return err
}

// parseSeed parses a decimal u64 seed.
func parseSeed(s string) (uint64, error) {
	var seed uint64
	if _, err := fmt.Sscanf(s, "%d", &seed); err != nil || fmt.Sprint(seed) != s {
		return 0, fmt.Errorf("%q is not a decimal u64", s)
	}
	return seed, nil
}

// rerunCommand is the command line that runs f's seed with f's options.
func rerunCommand(f *seedFlags) string {
	args := []string{"vopr", "--seed", fmt.Sprint(f.seed)}
	for _, flag := range []struct{ name, value string }{
		{"--on", f.on}, {"--off", f.off}, {"--bug", f.bug}, {"--checks-off", f.checksOff},
	} {
		if flag.value != "" {
			args = append(args, flag.name, flag.value)
		}
	}
	if f.ticksMax > 0 {
		args = append(args, "--ticks-max", fmt.Sprint(f.ticksMax))
	}
	if f.requestsMax > 0 {
		args = append(args, "--requests-max", fmt.Sprint(f.requestsMax))
	}
	return strings.Join(args, " ")
}
