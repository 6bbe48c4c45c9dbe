package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/govsr/govsr/vopr"
)

// swarm runs many seeds, each drawing its own options, on several cores:
// each run is single-threaded and deterministic, so running runs side by
// side changes nothing but the wall time. The command line is described in
// swarmUsage (swarm_flags.go); the summary in swarmSummary.
func swarm(args []string, stdout, stderr io.Writer) int {
	cfg, err := parseSwarmFlags(args, stderr, os.LookupEnv)
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(stderr, "vopr swarm: %v\n", err)
		}
		return exitUsage
	}
	jsonFile, err := cfg.openOutputs()
	if err != nil {
		fmt.Fprintf(stderr, "vopr swarm: %v\n", err)
		return exitUsage
	}
	ctx, release := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer release()
	start := time.Now()
	run := newSwarmRun(cfg, start, stdout, stderr)
	interrupted := run.run(ctx, release)
	sum := run.tally.finish(time.Since(start), interrupted)
	sum.print(stdout)
	code := run.tally.exitCode()
	if jsonFile != nil {
		if err := sum.writeJSON(jsonFile); err != nil {
			fmt.Fprintf(stderr, "vopr swarm: --json: %v\n", err)
			code = max(code, exitUsage)
		}
	}
	return code
}

// openOutputs checks the report directory and creates the JSON file, if
// any, before the first seed runs.
func (c *swarmConfig) openOutputs() (*os.File, error) {
	if info, err := os.Stat(c.reportDir); err != nil || !info.IsDir() {
		return nil, fmt.Errorf("--report-dir %q is not a directory", c.reportDir)
	}
	if c.jsonPath == "" {
		return nil, nil
	}
	f, err := os.Create(c.jsonPath)
	if err != nil {
		return nil, fmt.Errorf("--json: %v", err)
	}
	return f, nil
}

type swarmResult struct {
	opts    vopr.Options
	res     *vopr.Result
	wall    time.Duration
	picture string // where a failure's timeline went (cmd/vopr/timeline.go)
}

// swarmRun is one swarm in progress.
type swarmRun struct {
	cfg            *swarmConfig
	start          time.Time
	stdout, stderr io.Writer
	progress       *progress
	mu             sync.Mutex // guards tally and the output of finished seeds
	tally          *swarmTally
}

func newSwarmRun(cfg *swarmConfig, start time.Time, stdout, stderr io.Writer) *swarmRun {
	return &swarmRun{cfg: cfg, start: start, stdout: stdout, stderr: stderr, tally: newSwarmTally(cfg, start),
		progress: newProgress(stderr, cfg.shard.size(cfg.seeds), cfg.duration, start)}
}

// run runs the shard's seeds on cfg.jobs workers until they, the time or a
// signal run out; it reports whether a signal stopped it.
func (s *swarmRun) run(ctx context.Context, release func()) bool {
	seeds := make(chan uint64)
	var wg sync.WaitGroup
	for range s.cfg.jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			arena := vopr.NewArena() // this worker's: its seeds run one at a time
			for seed := range seeds {
				r := runSwarmSeed(s.cfg, seed, arena)
				s.record(&r)
			}
		}()
	}
	stopTicks := tickEverySecond(s.progress)
	interrupted := s.dispatch(ctx, release, seeds)
	wg.Wait()
	stopTicks()
	s.progress.finish(time.Now())
	return interrupted
}

// dispatch hands the shard's seeds to the workers in order until the
// range, the time or a signal runs out, then closes seeds; the seeds in
// flight finish either way.
func (s *swarmRun) dispatch(ctx context.Context, release func(), seeds chan<- uint64) (interrupted bool) {
	defer close(seeds)
	var deadline <-chan time.Time
	if s.cfg.duration > 0 {
		timer := time.NewTimer(s.cfg.duration - time.Since(s.start))
		defer timer.Stop()
		deadline = timer.C
	}
	// Bounded: shard.seed runs out at the range's end or the largest seed.
	for k := uint64(0); ; k++ {
		seed, ok := s.cfg.shard.seed(s.cfg.from, k, s.cfg.seeds)
		if !ok || (s.cfg.duration > 0 && time.Since(s.start) >= s.cfg.duration) {
			return false
		}
		if ctx.Err() != nil {
			return s.interrupted(release)
		}
		select {
		case seeds <- seed:
		case <-deadline:
			return false
		case <-ctx.Done():
			return s.interrupted(release)
		}
	}
}

// interrupted says a signal came, and lets a second one end the process
// as usual.
func (s *swarmRun) interrupted(release func()) bool {
	release()
	fmt.Fprintln(s.stderr, "vopr swarm: interrupted: finishing the seeds in flight (interrupt again to abort)")
	return true
}

// runSwarmSeed runs one seed with the swarm's shared flags.
func runSwarmSeed(cfg *swarmConfig, seed uint64, arena *vopr.Arena) swarmResult {
	f := cfg.base
	f.seed = seed
	opts, err := f.options()
	run := func(opts vopr.Options, log io.Writer, level vopr.LogLevel) (*vopr.Result, time.Duration, error) {
		return simulateIn(arena, opts, log, level) // the worker's seeds reuse one another's buffers
	}
	if cfg.determinism {
		run = simulateTwice // two runs at once, each on its own buffers
	}
	var res *vopr.Result
	var wall time.Duration
	if err == nil {
		res, wall, err = run(opts, nil, 0)
	}
	if err != nil {
		// The shared flags were checked at the start; a seed's own draw
		// breaking them is a harness bug, reported as a crash.
		res = &vopr.Result{Class: vopr.Crash, Message: "vopr: options: " + err.Error(), Linearizability: "skipped"}
	}
	r := swarmResult{opts: opts, res: res, wall: wall}
	if res.Class != vopr.Pass {
		r.picture = swarmTimeline(opts, res, cfg.reportDir) // a run again with a recorder, outside the lock
	}
	return r
}

// record folds a finished seed into the tally, writes its report if it
// failed, and prints what a person watching needs.
func (s *swarmRun) record(r *swarmResult) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var path string
	var err error
	failed := r.res.Class != vopr.Pass
	if failed {
		report := vopr.NewReport(r.opts, r.res, s.tally.sum.GitRevision, runtime.Version())
		path, err = report.Write(s.cfg.reportDir)
		replay := "vopr replay " + path
		if err != nil {
			replay = fmt.Sprintf("report not written (%v); rerun: vopr --seed %d", err, r.opts.Seed)
		}
		s.progress.println(fmt.Sprintf("FAILED %s seed=%d digest=%s: %s\n  %s\n  %s",
			r.res.Class, r.opts.Seed, r.res.Digest, firstLine(r.res.Message), replay, r.picture), s.stdout)
	}
	if r.res.Excuse != "" {
		s.progress.println(fmt.Sprintf("EXCUSED liveness stall seed=%d: %s", r.opts.Seed, r.res.Excuse), s.stdout)
	}
	s.tally.add(r, path, err)
	s.progress.add(failed, time.Now())
}

// tickEverySecond moves the progress along with the wall clock until the
// returned function is called.
func tickEverySecond(p *progress) (stop func()) {
	done, finished := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(finished)
		ticker := time.NewTicker(time.Second)
		defer ticker.Stop()
		for {
			select {
			case now := <-ticker.C:
				p.tick(now)
			case <-done:
				return
			}
		}
	}()
	return func() {
		close(done)
		<-finished
	}
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
