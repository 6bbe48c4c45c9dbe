package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/govsr/govsr/vopr"
	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// swarm runs many seeds, each drawing its own options, on several cores:
// each run is single-threaded and deterministic, so running runs side by
// side changes nothing but the wall time.
func swarm(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("vopr swarm", flag.ContinueOnError)
	fs.SetOutput(stderr)
	from := fs.Uint64("from", 1, "first seed")
	count := fs.Int("seeds", 100, "how many consecutive seeds to run")
	jobs := fs.Int("jobs", runtime.GOMAXPROCS(0), "seeds run at once")
	on := fs.String("on", "", "fault kinds forced on for every seed")
	off := fs.String("off", "", "fault kinds forced off for every seed")
	reportDir := fs.String("report-dir", ".", "where failing seeds write their reports")
	determinism := fs.Bool("check-determinism", false, "run every seed twice and fail on differing digests")
	checksOff := fs.String("checks-off", "", "checkers turned off for every seed (they count and log what they would fail): "+
		strings.Join(vopr.Checks, ","))
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitUsage
		}
		return exitUsage
	}
	if fs.NArg() > 0 || *count < 1 || *jobs < 1 {
		fmt.Fprintln(stderr, "vopr swarm: want --seeds >= 1 and --jobs >= 1, and no arguments")
		return exitUsage
	}
	base := &seedFlags{on: *on, off: *off, checksOff: *checksOff}
	if _, err := base.options(); err != nil {
		fmt.Fprintf(stderr, "vopr swarm: %v\n", err)
		return exitUsage
	}
	start := time.Now()
	results := runSwarm(*from, *count, *jobs, base, *determinism, *reportDir, stdout, stderr)
	return summarize(results, time.Since(start), stdout)
}

type swarmResult struct {
	opts vopr.Options
	res  *vopr.Result
	wall time.Duration
}

func runSwarm(from uint64, count, jobs int, base *seedFlags, determinism bool, reportDir string, stdout, stderr io.Writer) []swarmResult {
	results := make([]swarmResult, count)
	seeds := make(chan int)
	var mu sync.Mutex
	progress := newProgress(count, stderr)
	var wg sync.WaitGroup
	for range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			arena := vopr.NewArena() // this worker's: its seeds run one at a time
			for i := range seeds {
				f := *base
				f.seed = from + uint64(i)
				opts, _ := f.options()
				res, wall, _ := simulateIn(arena, opts, nil, 0)
				if determinism && res.Class != vopr.Crash {
					if again, _, _ := simulateIn(arena, opts, nil, 0); again.Digest != res.Digest {
						res.Class, res.Message = vopr.Correctness, "nondeterminism: digests "+res.Digest+" and "+again.Digest
					}
				}
				mu.Lock()
				results[i] = swarmResult{opts: opts, res: res, wall: wall}
				if res.Class != vopr.Pass {
					report := vopr.NewReport(opts, res, gitRevision(), runtime.Version())
					path, err := report.Write(reportDir)
					if err != nil {
						path = err.Error()
					}
					progress.println(fmt.Sprintf("FAILED %s seed=%d digest=%s: %s (report %s)",
						res.Class, opts.Seed, res.Digest, firstLine(res.Message), path), stdout)
				}
				if res.Excuse != "" {
					progress.println(fmt.Sprintf("EXCUSED liveness stall seed=%d: %s", opts.Seed, res.Excuse), stdout)
				}
				progress.add()
				mu.Unlock()
			}
		}()
	}
	for i := range count {
		seeds <- i
	}
	close(seeds)
	wg.Wait()
	progress.finish()
	return results
}

// progress is a bar on a terminal, and a plain line every twentieth of the
// work otherwise (CI logs).
type progress struct {
	bar   *progressbar.ProgressBar
	out   io.Writer
	done  int
	total int
}

func newProgress(total int, out io.Writer) *progress {
	p := &progress{out: out, total: total}
	if f, ok := out.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.bar = progressbar.NewOptions(total, progressbar.OptionSetWriter(out),
			progressbar.OptionSetDescription("seeds"), progressbar.OptionShowCount(), progressbar.OptionClearOnFinish())
	}
	return p
}

func (p *progress) add() {
	p.done++
	if p.bar != nil {
		_ = p.bar.Add(1)
		return
	}
	step := max(1, p.total/20)
	if p.done%step == 0 || p.done == p.total {
		fmt.Fprintf(p.out, "%d/%d seeds\n", p.done, p.total)
	}
}

func (p *progress) println(line string, stdout io.Writer) {
	if p.bar != nil {
		_ = p.bar.Clear()
	}
	fmt.Fprintln(stdout, line)
}

func (p *progress) finish() {
	if p.bar != nil {
		_ = p.bar.Finish()
	}
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

func summarize(results []swarmResult, wall time.Duration, stdout io.Writer) int {
	classes := map[vopr.Class]int{}
	faultSeeds := map[string]int{}
	var simNs uint64
	code := exitPass
	excused, ignored := 0, 0
	for _, r := range results {
		classes[r.res.Class]++
		if r.res.Excuse != "" {
			excused++
		}
		if r.res.Stats.IgnoredViolations > 0 {
			ignored++
		}
		simNs += r.res.TimeNs
		for _, k := range r.opts.Enabled() {
			faultSeeds[k]++
		}
		if r.res.Class != vopr.Pass && code == exitPass {
			code = exitCode(r.res.Class)
		}
	}
	t := newTable(stdout, "swarm", "value")
	_ = t.Append("seeds", len(results))
	names := make([]string, 0, len(classes))
	for c := range classes {
		names = append(names, string(c))
	}
	sort.Strings(names)
	for _, c := range names {
		_ = t.Append(c, classes[vopr.Class(c)])
	}
	for _, k := range vopr.FaultKinds {
		_ = t.Append("seeds with "+k, faultSeeds[k])
	}
	_ = t.Append("liveness stalls excused", excused)
	if len(results) > 0 && len(results[0].opts.Checks.Off) > 0 {
		_ = t.Append("seeds with violations ignored (checks off)", ignored)
	}
	for _, row := range chaosSwarmRows(results) {
		_ = t.Append(row...)
	}
	_ = t.Append("wall time", wall.Round(time.Millisecond))
	_ = t.Append("seeds / s", fmt.Sprintf("%.1f", float64(len(results))/wall.Seconds()))
	_ = t.Append("simulated time", time.Duration(simNs).Round(time.Second))
	_ = t.Render()
	if code == exitPass {
		fmt.Fprintf(stdout, "PASSED %d seeds\n", len(results))
	} else {
		fmt.Fprintf(stdout, "FAILED %d of %d seeds\n", len(results)-classes[vopr.Pass], len(results))
	}
	return code
}
