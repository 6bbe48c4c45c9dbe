// Command vopr runs govsr's deterministic simulator.
//
//	vopr [--seed N] [flags]   run one seed (a random one if none is given)
//	vopr --until-mark NAME --from S [--seeds-max K] [flags]
//	                          run seeds S, S+1, ... until one hits coverage mark NAME, then run it as --seed does
//	vopr replay FILE          rerun a seed report and say whether it failed the same way
//	vopr swarm [--seeds N | --duration D] [--shard I/N]
//	                          run many seeds, each with its own drawn faults, on every core
//	vopr shrink FILE          reduce a failing seed report's run while it fails the same way,
//	                          and write the reduced report as FILE's name with .shrunk.json
//
// Exit codes: 0 passed, 1 --until-mark found no seed, 2 bad usage, 3
// linearizability unknown (search timed out), 127 crash (a panic in the
// simulated system), 128 liveness, 129 correctness. vopr shrink exits 0
// once it wrote the shrunk report, 2 on bad usage, an unreadable report or
// one whose run no longer fails the way it records.
package main

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"time"

	"github.com/govsr/govsr/faults"
	"github.com/govsr/govsr/vopr"
	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/tw"
)

const (
	exitPass        = 0
	exitUsage       = 2
	exitUnknown     = 3
	exitCrash       = 127
	exitLiveness    = 128
	exitCorrectness = 129
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "replay" {
		return replay(args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "shrink" {
		return shrink(args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "swarm" {
		return swarm(args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "scenario" {
		return scenario(args[1:], stdout, stderr)
	}
	return runSeed(args, stdout, stderr)
}

type seedFlags struct {
	seed             uint64
	seedSet          bool
	log              string
	ticksMax         int
	requestsMax      int
	on, off          string
	reportDir        string
	checkDeterminism bool
	bug              string
	checksOff        string
	html             string
	untilMark        string // --until-mark (marks.go)
	from             string
	seedsMax         int
}

func parseSeedFlags(args []string, stderr io.Writer) (*seedFlags, error) {
	f := &seedFlags{}
	fs := flag.NewFlagSet("vopr", flag.ContinueOnError)
	fs.SetOutput(stderr)
	seed := fs.String("seed", "", "the seed to run (decimal u64); random if not given")
	fs.StringVar(&f.log, "log", "none", "event log: none, short (faults, view changes) or full (every event)")
	fs.IntVar(&f.ticksMax, "ticks-max", 0, "end the safety phase after this many 10 ms ticks (0: the seed's)")
	fs.IntVar(&f.requestsMax, "requests-max", 0, "end the safety phase after this many replies (0: the seed's)")
	fs.StringVar(&f.on, "on", "", "fault kinds forced on, comma-separated: "+strings.Join(vopr.FaultKinds, ","))
	fs.StringVar(&f.off, "off", "", "fault kinds forced off, comma-separated")
	fs.StringVar(&f.reportDir, "report-dir", ".", "where a failing run writes its seed report")
	fs.BoolVar(&f.checkDeterminism, "check-determinism", false,
		"run the seed twice in lockstep; on a difference, fail naming the first divergent event")
	fs.StringVar(&f.checksOff, "checks-off", "", "checkers turned off (they count and log what they would fail), comma-separated: "+
		strings.Join(vopr.Checks, ","))
	fs.StringVar(&f.html, "html", "", "write the run's timeline picture (one self-contained HTML file) to this path")
	fs.StringVar(&f.bug, "bug", "", "break the system on purpose (checker demos): a vsr bug or "+strings.Join(vopr.MachineBugs, ", "))
	markFlags(fs, f)
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if *seed != "" {
		s, err := parseSeed(*seed)
		if err != nil {
			return nil, fmt.Errorf("--seed %w", err)
		}
		f.seed = s
		f.seedSet = true
	}
	return f, nil
}

func (f *seedFlags) options() (vopr.Options, error) {
	force := vopr.Force{}
	for _, list := range []struct {
		kinds string
		on    bool
	}{{f.on, true}, {f.off, false}} {
		kinds, err := vopr.ParseFaultList(list.kinds)
		if err != nil {
			return vopr.Options{}, err
		}
		for _, k := range kinds {
			if prev, ok := force[k]; ok && prev != list.on {
				return vopr.Options{}, fmt.Errorf("fault kind %q forced both on and off", k)
			}
			force[k] = list.on
		}
	}
	o := vopr.Draw(f.seed, force)
	if f.ticksMax < 0 || f.requestsMax < 0 {
		return o, fmt.Errorf("--ticks-max and --requests-max must not be negative")
	}
	if f.ticksMax > 0 {
		o.TicksMax = f.ticksMax
	}
	if f.requestsMax > 0 {
		o.RequestsMax = f.requestsMax
	}
	o.Bug = f.bug
	checksOff, err := vopr.ParseCheckList(f.checksOff)
	if err != nil {
		return o, err
	}
	o.Checks.Off = checksOff
	return o, o.Validate()
}

func runSeed(args []string, stdout, stderr io.Writer) int {
	f, err := parseSeedFlags(args, stderr)
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(stderr, "vopr: %v\n", err)
		}
		return exitUsage
	}
	if f.untilMark != "" {
		return untilMark(f, stdout, stderr)
	}
	if !f.seedSet {
		var b [8]byte
		_, _ = rand.Read(b[:])
		f.seed = binary.LittleEndian.Uint64(b[:])
	}
	return runFlags(f, stdout, stderr)
}

// runFlags runs f's seed, prints its options and result, and returns the
// verdict's exit code.
func runFlags(f *seedFlags, stdout, stderr io.Writer) int {
	opts, err := f.options()
	if err != nil {
		fmt.Fprintf(stderr, "vopr: %v\n", err)
		return exitUsage
	}
	level, err := vopr.ParseLogLevel(f.log)
	if err != nil {
		fmt.Fprintf(stderr, "vopr: --log: %v\n", err)
		return exitUsage
	}
	html, err := openHTML(f.html)
	if err != nil {
		fmt.Fprintf(stderr, "vopr: %v\n", err)
		return exitUsage
	}
	fmt.Fprintf(stdout, "seed %d\n", opts.Seed)
	printOptions(stdout, &opts)
	run := simulate
	if f.checkDeterminism {
		run = simulateTwice
	}
	res, wall, err := run(opts, stdout, level)
	if err != nil {
		fmt.Fprintf(stderr, "vopr: %v\n", err)
		return exitUsage
	}
	printResult(stdout, &opts, res, wall)
	writeTimelines(html, &opts, res, f.reportDir, stdout, stderr)
	return verdict(&opts, res, f.reportDir, stdout, stderr)
}

func simulate(opts vopr.Options, log io.Writer, level vopr.LogLevel) (*vopr.Result, time.Duration, error) {
	return simulateIn(nil, opts, log, level)
}

// simulateIn is simulate in arena (vopr.NewIn): a swarm worker's seeds
// reuse the buffers of the seed before.
func simulateIn(arena *vopr.Arena, opts vopr.Options, log io.Writer, level vopr.LogLevel) (*vopr.Result, time.Duration, error) {
	sim, err := vopr.NewIn(arena, opts, log, level)
	if err != nil {
		return nil, 0, err
	}
	start := time.Now()
	res := sim.Run()
	return res, time.Since(start), nil
}

// simulateTwice runs opts twice in lockstep, comparing the runs event by
// event (vopr.CheckDeterminism). The wall time returned is per run: half
// the pair's.
func simulateTwice(opts vopr.Options, log io.Writer, level vopr.LogLevel) (*vopr.Result, time.Duration, error) {
	start := time.Now()
	res, err := vopr.CheckDeterminism(opts, log, level)
	return res, time.Since(start) / 2, err
}

// verdict prints the last line, writes a report on failure and returns the
// exit code.
func verdict(opts *vopr.Options, res *vopr.Result, reportDir string, stdout, stderr io.Writer) int {
	if res.Class == vopr.Pass {
		if res.Excuse != "" {
			fmt.Fprintf(stdout, "liveness stall EXCUSED: %s\n", res.Excuse)
		}
		fmt.Fprintf(stdout, "PASSED seed=%d digest=%s\n", opts.Seed, res.Digest)
		return exitPass
	}
	fmt.Fprintf(stdout, "\n%s\n\n", res.Message)
	if res.Linearizability == "illegal" {
		path := filepath.Join(reportDir, fmt.Sprintf("vopr-%d.html", opts.Seed))
		if err := res.WriteVisualization(path); err != nil {
			fmt.Fprintf(stderr, "vopr: %v\n", err)
		} else {
			fmt.Fprintf(stdout, "history: %s\n", path)
		}
	}
	report := vopr.NewReport(*opts, res, gitRevision(), runtime.Version())
	if path, err := report.Write(reportDir); err != nil {
		fmt.Fprintf(stderr, "vopr: %v\n", err)
	} else {
		fmt.Fprintf(stdout, "report: %s\nreplay: vopr replay %s\n", path, path)
	}
	fmt.Fprintf(stdout, "FAILED %s seed=%d digest=%s\n", res.Class, opts.Seed, res.Digest)
	return exitCode(res.Class)
}

func exitCode(c vopr.Class) int {
	switch c {
	case vopr.Pass:
		return exitPass
	case vopr.Crash:
		return exitCrash
	case vopr.Liveness:
		return exitLiveness
	case vopr.Unknown:
		return exitUnknown
	}
	return exitCorrectness
}

func replay(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("vopr replay", flag.ContinueOnError)
	fs.SetOutput(stderr)
	logFlag := fs.String("log", "none", "event log while replaying: none, short or full")
	if err := fs.Parse(args); err != nil || fs.NArg() != 1 {
		fmt.Fprintln(stderr, "vopr: usage: vopr replay [--log short|full] FILE")
		return exitUsage
	}
	level, err := vopr.ParseLogLevel(*logFlag)
	if err != nil {
		fmt.Fprintf(stderr, "vopr: --log: %v\n", err)
		return exitUsage
	}
	report, err := vopr.LoadReport(fs.Arg(0))
	if err != nil {
		fmt.Fprintf(stderr, "%v\n", err)
		return exitUsage
	}
	fmt.Fprintf(stdout, "replaying seed %d (%s, recorded at git %s with %s)\n",
		report.Seed, report.Class, report.GitRevision, report.GoVersion)
	res, same, err := vopr.Replay(report, stdout, level)
	if err != nil {
		fmt.Fprintf(stderr, "vopr: %v\n", err)
		return exitUsage
	}
	if res.Message != "" {
		fmt.Fprintf(stdout, "%s\n", res.Message)
	}
	if res.Excuse != "" {
		fmt.Fprintf(stdout, "liveness stall EXCUSED: %s\n", res.Excuse)
	}
	if same {
		fmt.Fprintf(stdout, "REPRODUCED %s seed=%d digest=%s\n", res.Class, report.Seed, res.Digest)
	} else {
		fmt.Fprintf(stdout, "NOT REPRODUCED: recorded %s digest=%s, now %s digest=%s\n",
			report.Class, report.Digest, res.Class, res.Digest)
	}
	return exitCode(res.Class)
}

// gitRevision is the commit the binary was built from: the build info's VCS
// stamp, or else what git says in the working directory.
func gitRevision() string {
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" {
				return s.Value
			}
		}
	}
	out, err := exec.Command("git", "rev-parse", "HEAD").Output()
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(out))
}

func newTable(w io.Writer, header ...any) *tablewriter.Table {
	t := tablewriter.NewTable(w, tablewriter.WithHeaderAutoFormat(tw.Off))
	t.Header(header...)
	return t
}

func printOptions(w io.Writer, o *vopr.Options) {
	t := newTable(w, "option", "value")
	rows := [][]any{
		{"replicas", o.Replicas}, {"clients", o.Clients}, {"pipeline_max", o.PipelineMax},
		{"journal_slots", o.JournalSlots}, {"clients_max", o.ClientsMax}, {"request_queue_max", o.RequestQueueMax},
		{"message_size_max", o.MessageSizeMax}, {"requests_max", o.RequestsMax}, {"ticks_max", o.TicksMax},
		{"faults on", strings.Join(o.Enabled(), " ")},
		{"liveness", livenessMode(o)},
		{"latency (ms)", fmt.Sprintf("%.2f + exp(%.2f)", ms(o.Network.LatencyNsMin), ms(o.Network.LatencyNsMean))},
		{"loss / duplicate / corrupt", fmt.Sprintf("%s / %s / %s", pct(o.Network.Loss), pct(o.Network.Duplicate), pct(o.Network.Corrupt))},
		{"partition / heal per 100 ms", fmt.Sprintf("%s / %s (asymmetric %s)", pct(o.Network.Partition), pct(o.Network.Heal), pct(o.Network.Asymmetric))},
		{"clog per link per 100 ms", fmt.Sprintf("%s for exp(%.0f ms)", pct(o.Network.Clog), ms(o.Network.ClogNsMean))},
		{"link capacity", o.Network.LinkCapacity},
		{"pause per 100 ms", fmt.Sprintf("%s for exp(%.0f ms)", pct(o.Process.Pause), ms(o.Process.PauseNsMean))},
		{"crash per 100 ms", fmt.Sprintf("%s, restart after exp(%.0f ms)", pct(o.Process.Crash), ms(o.Process.RestartNsMean))},
		{"faulty disks", fmt.Sprintf("%v: read error %s, bit flip %s, misdirect %s per I/O", o.Storage.Faulty,
			pct(o.Storage.ReadError), pct(o.Storage.Corrupt), pct(o.Storage.Misdirect))},
		{"storage atlas", o.DescribeStorageAtlas()},
		{"write error per write", fmt.Sprintf("%s; burst %s for exp(%.1f ms)", pct(o.Storage.WriteError),
			pct(o.Storage.WriteErrorBurst), ms(o.Storage.WriteErrorBurstNsMean))},
		{"clock drift max (ppm)", o.Process.ClockDriftPpmMax},
		{"disk write latency (ms)", fmt.Sprintf("%.2f + exp(%.2f)", ms(o.Storage.WriteLatencyNsMin), ms(o.Storage.WriteLatencyNsMean))},
		{"workload", fmt.Sprintf("%d keys, skew %d, read %d%% write %d%% cas %d%%, think exp(%.1f ms)",
			o.Workload.Keys, o.Workload.KeySkew, o.Workload.ReadPercent, o.Workload.WritePercent,
			100-o.Workload.ReadPercent-o.Workload.WritePercent, ms(o.Workload.ThinkNsMean))},
	}
	rows = append(rows, chaosOptionRows(o)...)
	if o.Bug != "" {
		rows = append(rows, []any{"deliberate bug", o.Bug})
	}
	for _, r := range rows {
		_ = t.Append(r...)
	}
	_ = t.Render()
}

// livenessMode says what the liveness phase heals.
func livenessMode(o *vopr.Options) string {
	if o.Liveness.Core {
		return "heal a core (a view-change quorum); the rest stay as they are or are crashed, isolated or paused"
	}
	return "heal everything"
}

func ms(ns uint64) float64 { return float64(ns) / 1e6 }

// pct formats a rate as a percentage, or "off".
func pct(r faults.Ratio) string {
	if r.Num == 0 {
		return "off"
	}
	return fmt.Sprintf("%.3g%%", 100*float64(r.Num)/float64(r.Den))
}

func printResult(w io.Writer, o *vopr.Options, res *vopr.Result, wall time.Duration) {
	st := &res.Stats
	n := &st.Network
	sim := time.Duration(res.TimeNs)
	ratio := "-"
	if wall > 0 {
		ratio = fmt.Sprintf("%.0fx", sim.Seconds()/wall.Seconds())
	}
	t := newTable(w, "result", "value")
	rows := [][]any{
		{"ticks", res.Tick}, {"simulated time", sim.Round(time.Millisecond)},
		{"wall time", wall.Round(time.Millisecond)}, {"simulated / real", ratio},
		{"requests issued / replied", fmt.Sprintf("%d / %d", st.Requests, st.Replies)},
		{"ops committed", st.Committed}, {"events", st.Events},
		{"messages sent / delivered", fmt.Sprintf("%d / %d", n.Sent, n.Delivered)},
		{"dropped (partition, capacity)", fmt.Sprintf("%d (%d, %d)", n.Dropped, n.DroppedPartition, n.DroppedCapacity)},
		{"duplicated / corrupted", fmt.Sprintf("%d / %d", n.Duplicated, n.Corrupted)},
		{"partitions / clogs", fmt.Sprintf("%d / %d", n.Partitions, n.Clogs)},
		{"view changes", st.ViewChanges}, {"pauses", st.Pauses},
		{"crashes / restarts", fmt.Sprintf("%d / %d", st.Crashes, st.Restarts)},
		{"storage writes / reads", fmt.Sprintf("%d / %d", st.StorageWrites, st.StorageReads)},
		{"storage faults / torn writes", fmt.Sprintf("%d / %d", st.StorageFaults, st.TornWrites)},
		{"storage atlas faults", st.StorageAtlas.String()},
		{"checkpoints / state transfers", fmt.Sprintf("%d / %d", st.Checkpoints, st.StateTransfers)},
		{"evictions", st.Evictions}, {"linearizability", res.Linearizability}, {"digest", res.Digest},
	}
	if res.Excuse != "" {
		rows = append(rows, []any{"liveness stall excused", res.Excuse})
	}
	if len(o.Checks.Off) > 0 {
		rows = append(rows, []any{"violations ignored (checks off: " + strings.Join(o.Checks.Off, ",") + ")", st.IgnoredViolations})
	}
	rows = append(rows, chaosResultRows(&st.Chaos)...)
	rows = append(rows, markResultRows(res)...)
	for _, r := range rows {
		_ = t.Append(r...)
	}
	_ = t.Render()
}
