package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"math/bits"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/govsr/govsr/vopr"
)

// swarmConfig is a parsed `vopr swarm` command line.
type swarmConfig struct {
	from        uint64
	seeds       uint64        // --seeds: the size of the range the shards split; 0 with --duration
	duration    time.Duration // --duration; 0 with --seeds
	jobs        int
	shard       shard
	base        seedFlags // the per-seed flags every seed shares (faults forced, checks off, bug, limits)
	reportDir   string
	jsonPath    string
	determinism bool
	args        []string // the command line, for the JSON summary
}

const (
	swarmSeedsDefault = 100
	swarmJobsMax      = 1024
	// jobCompletionIndex is the variable a Kubernetes Indexed Job sets to
	// the index of each of its pods.
	jobCompletionIndex = "JOB_COMPLETION_INDEX"
)

const swarmUsage = `usage: vopr swarm [--seeds N | --duration D] [--from S] [--shard I/N | --shards N] [flags]

Runs seeds from S on, each drawing its own faults, --jobs of them at a time.
  --seeds N     runs the N seeds S .. S+N-1 (without --seeds or --duration: 100 seeds);
  --duration D  starts new seeds until D of wall time is spent (e.g. 8h), then finishes
                the seeds in flight. Give one of --seeds and --duration, not both.
Sharding splits the seeds between machines with no overlap and no coordination:
shard I of N runs S+I, S+I+N, S+I+2N, ... (with --seeds, those below S+N).
--shard I/N names the shard; --shards N takes I from $JOB_COMPLETION_INDEX, which
a Kubernetes Indexed Job sets; when that variable is set, --shard's I must equal it.
SIGINT or SIGTERM stops starting seeds; the summary follows once those in flight end.
Every failing seed writes a report to --report-dir and prints its replay command.

`

// parseSwarmFlags parses a `vopr swarm` command line without running
// anything; lookupEnv reads the environment (os.LookupEnv, or a test's).
// A flag.ErrHelp error means the usage was asked for and printed.
func parseSwarmFlags(args []string, stderr io.Writer, lookupEnv func(string) (string, bool)) (*swarmConfig, error) {
	c := &swarmConfig{args: args}
	fs := flag.NewFlagSet("vopr swarm", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are reported in one line by the caller
	fs.Uint64Var(&c.from, "from", 1, "first seed `S`")
	fs.Uint64Var(&c.seeds, "seeds", swarmSeedsDefault, "run the `N` seeds S .. S+N-1, split among the shards")
	fs.DurationVar(&c.duration, "duration", 0, "start new seeds until `D` of wall time is spent (e.g. 30m, 8h)")
	// The CPUs this process may use: runtime.NumCPU on a machine of its
	// own, less under a container's CPU limit (Go sets GOMAXPROCS from
	// it), where NumCPU would count the whole node's.
	fs.IntVar(&c.jobs, "jobs", runtime.GOMAXPROCS(0), "seeds run at once; the default is the CPUs this process may use")
	spec := fs.String("shard", "", "run shard `I/N` of the seeds: S+I, S+I+N, ...")
	shards := fs.Uint64("shards", 0, "run one of `N` shards, its index I from $"+jobCompletionIndex)
	fs.StringVar(&c.jsonPath, "json", "", "write the whole summary as JSON to `FILE`")
	fs.StringVar(&c.reportDir, "report-dir", ".", "where failing seeds write their reports")
	fs.BoolVar(&c.determinism, "check-determinism", false,
		"run every seed twice in lockstep; on a difference, name the first divergent event")
	fs.StringVar(&c.base.on, "on", "", "fault kinds forced on for every seed, comma-separated: "+strings.Join(vopr.FaultKinds, ","))
	fs.StringVar(&c.base.off, "off", "", "fault kinds forced off for every seed")
	fs.StringVar(&c.base.checksOff, "checks-off", "", "checkers turned off for every seed (they count and log what they would fail): "+
		strings.Join(vopr.Checks, ","))
	fs.StringVar(&c.base.bug, "bug", "", "break the system on purpose in every seed: a vsr bug or "+strings.Join(vopr.MachineBugs, ", "))
	fs.IntVar(&c.base.requestsMax, "requests-max", 0, "end each seed's safety phase after this many replies (0: the seed's)")
	fs.IntVar(&c.base.ticksMax, "ticks-max", 0, "end each seed's safety phase after this many ticks (0: the seed's)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stderr, swarmUsage)
			fs.SetOutput(stderr)
			fs.PrintDefaults()
		}
		return nil, err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if err := c.check(fs, set); err != nil {
		return nil, err
	}
	sh, err := resolveShard(*spec, *shards, set["shards"], lookupEnv)
	if err != nil {
		return nil, err
	}
	c.shard = sh
	return c, nil
}

// check validates everything but the shard.
func (c *swarmConfig) check(fs *flag.FlagSet, set map[string]bool) error {
	switch {
	case fs.NArg() > 0:
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	case set["seeds"] && set["duration"]:
		return fmt.Errorf("give --seeds or --duration, not both")
	case set["duration"] && c.duration <= 0:
		return fmt.Errorf("--duration %s: want a positive duration such as 30m or 8h", c.duration)
	case c.jobs < 1 || c.jobs > swarmJobsMax:
		return fmt.Errorf("--jobs %d: want 1 to %d", c.jobs, swarmJobsMax)
	}
	if set["duration"] {
		c.seeds = 0
	} else if c.seeds < 1 {
		return fmt.Errorf("--seeds must be at least 1")
	} else if c.seeds-1 > math.MaxUint64-c.from {
		return fmt.Errorf("--from %d --seeds %d runs past the largest seed", c.from, c.seeds)
	}
	if _, err := c.base.options(); err != nil {
		return err
	}
	return nil
}

// shard is one of count disjoint parts of a seed range: the seeds whose
// offset from the first is index modulo count.
type shard struct{ index, count uint64 }

func (sh shard) String() string { return fmt.Sprintf("%d/%d", sh.index, sh.count) }

// seed is the k-th seed of the shard, from+index+k*count, and whether it
// exists: below from+total (total 0: no bound but the largest seed).
func (sh shard) seed(from, k, total uint64) (uint64, bool) {
	hi, step := bits.Mul64(k, sh.count)
	offset, carry := bits.Add64(step, sh.index, 0)
	if hi != 0 || carry != 0 || (total > 0 && offset >= total) || offset > math.MaxUint64-from {
		return 0, false
	}
	return from + offset, true
}

// size is how many of total seeds the shard runs.
func (sh shard) size(total uint64) uint64 {
	if sh.index >= total {
		return 0
	}
	return (total-sh.index-1)/sh.count + 1
}

// parseShard parses "I/N" with N >= 1 and I < N.
func parseShard(spec string) (shard, error) {
	i, n, ok := strings.Cut(spec, "/")
	index, errI := strconv.ParseUint(i, 10, 64)
	count, errN := strconv.ParseUint(n, 10, 64)
	if !ok || errI != nil || errN != nil || count < 1 || index >= count {
		return shard{}, fmt.Errorf("--shard %q: want I/N with 0 <= I < N, e.g. 2/4", spec)
	}
	return shard{index: index, count: count}, nil
}

// resolveShard combines --shard, --shards and JOB_COMPLETION_INDEX: the
// variable, when set, is the index; N comes from --shards or --shard; a
// conflict or a missing half is an error. Without any: one shard of one.
func resolveShard(spec string, shards uint64, shardsSet bool, lookupEnv func(string) (string, bool)) (shard, error) {
	sh := shard{index: 0, count: 1}
	switch {
	case spec != "" && shardsSet:
		return sh, fmt.Errorf("give --shard I/N or --shards N, not both")
	case spec != "":
		parsed, err := parseShard(spec)
		if err != nil {
			return sh, err
		}
		sh = parsed
	case shardsSet && shards < 1:
		return sh, fmt.Errorf("--shards must be at least 1")
	case shardsSet:
		sh.count = shards
	}
	value, ok := lookupEnv(jobCompletionIndex)
	if !ok || value == "" {
		if shardsSet {
			return sh, fmt.Errorf("--shards takes the shard index from %s, which is not set (or give --shard I/N)", jobCompletionIndex)
		}
		return sh, nil
	}
	index, err := strconv.ParseUint(value, 10, 64)
	switch {
	case err != nil:
		return sh, fmt.Errorf("%s=%q is not a shard index", jobCompletionIndex, value)
	case spec == "" && !shardsSet:
		return sh, fmt.Errorf("%s=%d is set: give the shard count with --shards N (or --shard %d/N)", jobCompletionIndex, index, index)
	case spec != "" && index != sh.index:
		return sh, fmt.Errorf("%s=%d conflicts with --shard %s", jobCompletionIndex, index, spec)
	case index >= sh.count:
		return sh, fmt.Errorf("%s=%d is not below the shard count %d", jobCompletionIndex, index, sh.count)
	}
	sh.index = index
	return sh, nil
}
