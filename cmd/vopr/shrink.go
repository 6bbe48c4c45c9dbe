package main

import (
	"flag"
	"fmt"
	"io"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/govsr/govsr/vopr"
)

// shrinkAttemptsMax is --attempts-max's default: a few passes over the
// fault kinds and the bisections of a typical seed, a minute or two of
// runs on one core.
const shrinkAttemptsMax = 150

// shrink reduces the failing run of a seed report (vopr.Shrink) and writes
// the smaller report next to it.
func shrink(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("vopr shrink", flag.ContinueOnError)
	fs.SetOutput(stderr)
	attempts := fs.Int("attempts-max", shrinkAttemptsMax, "runs of edited options at most")
	same := fs.String("same", "kind", "what every kept run shares with the report's: kind (the class and, for "+
		"correctness and crash, the kind of message) or class")
	out := fs.String("out", "", "where to write the shrunk report (default: REPORT's name with .shrunk.json)")
	if err := fs.Parse(args); err != nil || fs.NArg() != 1 || *attempts < 1 || (*same != "kind" && *same != "class") {
		fmt.Fprintln(stderr, "vopr: usage: vopr shrink [--attempts-max N>=1] [--same kind|class] [--out FILE] REPORT")
		return exitUsage
	}
	path := fs.Arg(0)
	report, err := vopr.LoadReport(path)
	if err != nil {
		fmt.Fprintln(stderr, oneLine(err))
		return exitUsage
	}
	if *out == "" {
		*out = strings.TrimSuffix(path, ".json") + ".shrunk.json"
	}
	fmt.Fprintf(stdout, "shrinking seed %d (%s) with at most %d attempts\n",
		report.Seed, vopr.Headline(report.Class, report.Message), *attempts)
	so := vopr.ShrinkOptions{AttemptsMax: *attempts, ClassOnly: *same == "class",
		GitRevision: gitRevision(), GoVersion: runtime.Version()}
	start := time.Now()
	last := start
	progress := func(step vopr.ShrinkStep) {
		now := time.Now()
		printShrinkStep(stdout, &step, now.Sub(last))
		last = now
	}
	shrunk, err := vopr.Shrink(report, so, progress)
	if err != nil {
		fmt.Fprintln(stderr, oneLine(err))
		return exitUsage
	}
	if err := shrunk.Report.WriteFile(*out); err != nil {
		fmt.Fprintln(stderr, oneLine(err))
		return exitUsage
	}
	printShrunk(stdout, shrunk)
	fmt.Fprintf(stdout, "shrunk report: %s\nreplay: vopr replay %s\n", *out, *out)
	fmt.Fprintf(stdout, "SHRUNK %s seed=%d digest=%s attempts=%d kept=%d wall=%s\n", shrunk.Report.Class,
		report.Seed, shrunk.Report.Digest, shrunk.Attempts, shrunk.Kept, time.Since(start).Round(time.Millisecond))
	return exitPass
}

func printShrinkStep(w io.Writer, step *vopr.ShrinkStep, wall time.Duration) {
	switch {
	case step.Skipped != "":
		fmt.Fprintf(w, "  skipped      %s: %s\n", step.What, step.Skipped)
	case step.Kept:
		fmt.Fprintf(w, "  attempt %3d  %s: kept (%s simulated, %d events; %s)\n", step.Attempt, step.What,
			simulated(step.Result), step.Result.Stats.Events, wall.Round(time.Millisecond))
	default:
		fmt.Fprintf(w, "  attempt %3d  %s: not kept, %s (%s)\n", step.Attempt, step.What, step.Got,
			wall.Round(time.Millisecond))
	}
}

// printShrunk says what the shrink removed: a before/after table.
func printShrunk(w io.Writer, s *vopr.Shrunk) {
	if s.DigestChanged {
		fmt.Fprintf(w, "note: the report's run no longer has its recorded digest (the code changed since); "+
			"it still fails the same way, and the shrink started from it as it runs today\n")
	}
	if s.Exhausted {
		fmt.Fprintf(w, "note: the attempts ran out before the shrink settled; more --attempts-max may shrink further\n")
	}
	a, b := &s.Original.Options, &s.Report.Options
	t := newTable(w, "", "before", "after")
	rows := [][]any{
		{"fault kinds on", len(a.Enabled()), len(b.Enabled())},
		{"requests_max", a.RequestsMax, b.RequestsMax},
		{"ticks_max", a.TicksMax, b.TicksMax},
		{"liveness_ticks_max", a.LivenessTicksMax, b.LivenessTicksMax},
		{"clients", a.Clients, b.Clients},
		{"replicas", a.Replicas, b.Replicas},
		{"simulated time", simulated(s.Before), simulated(s.After)},
		{"events", s.Before.Stats.Events, s.After.Stats.Events},
		{"replies", s.Before.Stats.Replies, s.After.Stats.Replies},
	}
	for _, r := range rows {
		_ = t.Append(r...)
	}
	_ = t.Render()
	var removed []string
	for _, k := range a.Enabled() {
		if !slices.Contains(b.Enabled(), k) {
			removed = append(removed, k)
		}
	}
	fmt.Fprintf(w, "fault kinds removed: %s\nfault kinds left: %s\n", orNone(removed), orNone(b.Enabled()))
	fmt.Fprintf(w, "failure before: %s\nfailure after:  %s\n", vopr.Headline(s.Before.Class, s.Before.Message),
		vopr.Headline(s.After.Class, s.After.Message))
}

// oneLine is err's message on one line (options errors join several).
func oneLine(err error) string { return strings.ReplaceAll(err.Error(), "\n", "; ") }

func orNone(kinds []string) string {
	if len(kinds) == 0 {
		return "none"
	}
	return strings.Join(kinds, " ")
}

func simulated(res *vopr.Result) time.Duration {
	return time.Duration(res.TimeNs).Round(time.Millisecond)
}
