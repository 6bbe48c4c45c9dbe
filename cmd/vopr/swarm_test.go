package main

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The shards of a range run every seed of it exactly once, and each
// shard's size is the number of seeds it runs.
func TestShardSeedsSplitRange(t *testing.T) {
	for _, c := range []struct{ from, total, count uint64 }{
		{1, 100, 1}, {1, 100, 4}, {1000, 7, 3}, {5, 3, 8}, {0, 1, 1}, {math.MaxUint64 - 9, 10, 4},
	} {
		seen := map[uint64]uint64{}
		for index := range c.count {
			sh := shard{index: index, count: c.count}
			var ran uint64
			for k := uint64(0); k <= c.total; k++ {
				seed, ok := sh.seed(c.from, k, c.total)
				if !ok {
					break
				}
				if seed < c.from || seed-c.from >= c.total || (seed-c.from)%c.count != index {
					t.Fatalf("%+v shard %s: seed %d is not its own", c, sh, seed)
				}
				seen[seed]++
				ran++
			}
			if ran != sh.size(c.total) {
				t.Fatalf("%+v shard %s: ran %d seeds, size says %d", c, sh, ran, sh.size(c.total))
			}
		}
		if uint64(len(seen)) != c.total {
			t.Fatalf("%+v: %d distinct seeds run, want %d", c, len(seen), c.total)
		}
		for seed, n := range seen {
			if n != 1 {
				t.Fatalf("%+v: seed %d ran %d times", c, seed, n)
			}
		}
	}
}

// Without a bound (--duration), a shard's seeds run on until the largest
// seed, never wrapping around.
func TestShardSeedsUnbounded(t *testing.T) {
	sh := shard{index: 2, count: 4}
	if seed, ok := sh.seed(10, 1_000_000, 0); !ok || seed != 10+2+4_000_000 {
		t.Fatalf("seed %d %v", seed, ok)
	}
	from := uint64(math.MaxUint64 - 5) // shard 2 of 4: MaxUint64-3, then past the end
	if seed, ok := sh.seed(from, 0, 0); !ok || seed != math.MaxUint64-3 {
		t.Fatalf("first seed %d %v", seed, ok)
	}
	if seed, ok := sh.seed(from, 1, 0); ok {
		t.Fatalf("seed %d past the largest seed", seed)
	}
	if _, ok := sh.seed(0, math.MaxUint64/2, 0); ok {
		t.Fatal("k*count overflowed into a seed")
	}
}

func TestResolveShard(t *testing.T) {
	env := func(value string) func(string) (string, bool) {
		return func(name string) (string, bool) {
			return value, name == jobCompletionIndex && value != ""
		}
	}
	good := []struct {
		spec   string
		shards uint64
		set    bool
		index  string
		want   shard
	}{
		{"", 0, false, "", shard{0, 1}},
		{"2/4", 0, false, "", shard{2, 4}},
		{"0/1", 0, false, "", shard{0, 1}},
		{"", 4, true, "3", shard{3, 4}},
		{"1/4", 0, false, "1", shard{1, 4}},
	}
	for _, c := range good {
		got, err := resolveShard(c.spec, c.shards, c.set, env(c.index))
		if err != nil || got != c.want {
			t.Errorf("%+v: %v %v, want %v", c, got, err, c.want)
		}
	}
	bad := []struct {
		spec   string
		shards uint64
		set    bool
		index  string
		want   string
	}{
		{"4/4", 0, false, "", "want I/N"}, {"1/0", 0, false, "", "want I/N"}, {"x", 0, false, "", "want I/N"},
		{"-1/4", 0, false, "", "want I/N"}, {"1/", 0, false, "", "want I/N"},
		{"", 0, true, "", "at least 1"}, {"", 4, true, "", "is not set"}, {"1/4", 4, true, "", "not both"},
		{"", 0, false, "2", "give the shard count"}, {"1/4", 0, false, "2", "conflicts with --shard 1/4"},
		{"", 4, true, "4", "not below the shard count 4"}, {"", 4, true, "x", "is not a shard index"},
	}
	for _, c := range bad {
		_, err := resolveShard(c.spec, c.shards, c.set, env(c.index))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: error %v, want one saying %q", c, err, c.want)
		}
	}
}

// Every bad swarm command line exits 2 with one line on stderr and nothing
// run.
func TestSwarmBadUsage(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		env  string // JOB_COMPLETION_INDEX, if set
		args []string
	}{
		{"", []string{"--seeds", "0"}}, {"", []string{"--seeds", "3", "--duration", "1m"}},
		{"", []string{"--duration", "-1s"}}, {"", []string{"--duration", "0s"}}, {"", []string{"--duration", "soon"}},
		{"", []string{"--jobs", "0"}}, {"", []string{"--jobs", "5000"}}, {"", []string{"--shard", "4/4"}},
		{"", []string{"--shard", "x"}}, {"", []string{"--shards", "0"}}, {"", []string{"--shards", "4"}},
		{"", []string{"--shard", "1/4", "--shards", "4"}}, {"", []string{"--from", "18446744073709551615", "--seeds", "2"}},
		{"", []string{"--json", filepath.Join(dir, "missing", "s.json")}}, {"", []string{"--report-dir", filepath.Join(dir, "missing")}},
		{"", []string{"stray"}}, {"", []string{"--on", "earthquake"}}, {"", []string{"--bug", "no-such-bug"}},
		{"", []string{"--requests-max", "-1"}}, {"", []string{"--frobnicate"}},
		{"2", nil}, {"2", []string{"--shard", "1/4"}}, {"9", []string{"--shards", "4"}}, {"two", []string{"--shards", "4"}},
	}
	for _, c := range cases {
		t.Setenv(jobCompletionIndex, c.env)
		code, out, errOut := runVopr(t, append([]string{"swarm", "--report-dir", dir}, c.args...)...)
		if code != exitUsage || out != "" || strings.Count(errOut, "\n") != 1 || !strings.HasPrefix(errOut, "vopr swarm: ") {
			t.Errorf("%s %v: exit %d, stdout %q, stderr %q; want exit 2 and one line", c.env, c.args, code, out, errOut)
		}
	}
}

func TestSwarmHelp(t *testing.T) {
	code, _, errOut := runVopr(t, "swarm", "--help")
	for _, want := range []string{"--duration D", "JOB_COMPLETION_INDEX", "-shards", "-json", "S+I+N"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("help lacks %q:\n%s", want, errOut)
		}
	}
	if code != exitUsage {
		t.Fatalf("exit %d", code)
	}
}

// readSummary runs a swarm with --json and returns its exit code, output
// and summary.
func readSummary(t *testing.T, args ...string) (int, string, swarmSummary) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "summary.json")
	code, out, errOut := runVopr(t, append(append([]string{"swarm"}, args...), "--json", path)...)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("exit %d, no summary: %v\n%s\n%s", code, err, out, errOut)
	}
	var s swarmSummary
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatalf("summary is not valid JSON: %v\n%s", err, data)
	}
	return code, out + errOut, s
}

// A deliberately broken replica fails every seed: the exit code, the
// summary's failures with their reports and replay commands, the table.
func TestSwarmJSONFailures(t *testing.T) {
	dir := t.TempDir()
	code, out, s := readSummary(t, "--seeds", "3", "--from", "1", "--jobs", "2", "--bug", "panic-at-op-50", "--report-dir", dir)
	if code != exitCrash || s.SeedsRun != 3 || s.Failed != 3 || s.Passed != 0 || s.FailedByClass["crash"] != 3 {
		t.Fatalf("exit %d, summary %+v\n%s", code, s, out)
	}
	for i, f := range s.Failures {
		report := filepath.Join(dir, "vopr-"+strconv.Itoa(i+1)+".json")
		if f.Seed != uint64(i+1) || f.Class != "crash" || !strings.Contains(f.Message, "panic at op 50") ||
			f.Replay != "vopr replay "+report || strings.Contains(f.Message, "\n") {
			t.Fatalf("failure %d: %+v", i, f)
		}
		if f.Report != report {
			t.Fatalf("failure %d: report %q, want %q", i, f.Report, report)
		}
		if _, err := os.Stat(report); err != nil {
			t.Fatalf("no report: %v", err)
		}
		if !strings.Contains(out, f.Replay) {
			t.Fatalf("the output does not list %q:\n%s", f.Replay, out)
		}
	}
	if len(s.FaultKindSeeds) == 0 || s.SeedsPerHour <= 0 || s.MedianSimulatedPerReal <= 0 || s.GoVersion == "" ||
		s.Shard != (swarmShard{Index: 0, Count: 1}) || s.From != 1 || s.Seeds != 3 {
		t.Fatalf("summary lacks fields: %+v", s)
	}
	if !strings.Contains(out, "FAILED 3 of 3 seeds\n") {
		t.Fatalf("no verdict line:\n%s", out)
	}
	// The listed replay command reproduces the failure.
	if code, replayOut, _ := runVopr(t, "replay", s.Failures[0].Report); code != exitCrash ||
		!strings.Contains(replayOut, "REPRODUCED crash seed=1") {
		t.Fatalf("replay: exit %d\n%s", code, replayOut)
	}
}

// Shard 1 of 3 of seeds 10..16 runs 11 and 14, named by --shard or by
// JOB_COMPLETION_INDEX with --shards.
func TestSwarmShardRunsItsSeeds(t *testing.T) {
	for _, c := range []struct {
		env  string
		args []string
	}{{"", []string{"--shard", "1/3"}}, {"1", []string{"--shards", "3"}}, {"1", []string{"--shard", "1/3"}}} {
		t.Setenv(jobCompletionIndex, c.env)
		args := append([]string{"--seeds", "7", "--from", "10", "--jobs", "2", "--bug", "panic-at-op-50",
			"--requests-max", "60", "--report-dir", t.TempDir()}, c.args...)
		_, out, s := readSummary(t, args...)
		var seeds []uint64
		for _, f := range s.Failures {
			seeds = append(seeds, f.Seed)
		}
		if !slices.Equal(seeds, []uint64{11, 14}) || s.Shard != (swarmShard{Index: 1, Count: 3}) || s.SeedsRun != 2 {
			t.Fatalf("%v: seeds %v, shard %+v\n%s", c, seeds, s.Shard, out)
		}
		if !strings.Contains(out, "1/3: seeds 11, 14, 17, ...") {
			t.Fatalf("the table does not name the shard:\n%s", out)
		}
	}
}

// --duration stops starting seeds once the time is spent and finishes the
// seeds in flight.
func TestSwarmDurationStops(t *testing.T) {
	start := time.Now()
	code, out, s := readSummary(t, "--duration", "2s", "--from", "500", "--jobs", "2", "--requests-max", "100",
		"--report-dir", t.TempDir())
	elapsed := time.Since(start)
	if code != exitPass || s.SeedsRun < 1 || s.Duration != "2s" || s.Seeds != 0 || s.Interrupted {
		t.Fatalf("exit %d, summary %+v\n%s", code, s, out)
	}
	// A seed of 100 requests takes well under 10 s, even on a loaded machine.
	if elapsed < 2*time.Second || elapsed > 30*time.Second || s.WallSeconds < 2 {
		t.Fatalf("ran %s (summary says %.1f s) for --duration 2s", elapsed, s.WallSeconds)
	}
	if !strings.Contains(out, " seeds/hour, ") || !strings.Contains(out, " of 2s") {
		t.Fatalf("no plain progress lines:\n%s", out)
	}
}

func TestSwarmCheckDeterminism(t *testing.T) {
	code, out, s := readSummary(t, "--seeds", "2", "--from", "30", "--jobs", "2", "--requests-max", "100",
		"--check-determinism", "--report-dir", t.TempDir())
	if code != exitPass || !s.CheckDeterminism || s.Passed != 2 {
		t.Fatalf("exit %d, summary %+v\n%s", code, s, out)
	}
}

// Off a terminal, progress is a plain line per twentieth of the work and
// at least every 30 s, and a last line at the end if the last is stale.
func TestProgressPlainLines(t *testing.T) {
	var buf bytes.Buffer
	start := time.Unix(1_000_000, 0)
	p := newProgress(&buf, 1000, 0, start)
	p.add(false, start.Add(time.Second))   // 1 of 1000: not a twentieth yet
	p.tick(start.Add(20 * time.Second))    // not 30 s yet
	p.add(true, start.Add(31*time.Second)) // 30 s since the start: a line
	for range 48 {
		p.add(false, start.Add(32*time.Second)) // the 48th: 50 of 1000, a twentieth
	}
	p.add(false, start.Add(33*time.Second))
	p.tick(start.Add(34 * time.Second))
	p.finish(start.Add(35 * time.Second)) // a seed since the last line
	p.finish(start.Add(36 * time.Second)) // nothing new
	want := "2/1000 seeds, 1 failed, 232 seeds/hour\n50/1000 seeds, 1 failed, 5625 seeds/hour\n" +
		"51/1000 seeds, 1 failed, 5246 seeds/hour\n"
	if buf.String() != want {
		t.Fatalf("got\n%swant\n%s", buf.String(), want)
	}
	buf.Reset()
	p = newProgress(&buf, 0, time.Minute, start)
	p.tick(start.Add(2 * time.Second))
	p.add(false, start.Add(2500*time.Millisecond))
	p.tick(start.Add(3 * time.Second)) // a twentieth of a minute
	p.tick(start.Add(4 * time.Second))
	p.add(false, start.Add(5*time.Second))
	p.finish(start.Add(5 * time.Second)) // a seed since the last line
	want = "1 seeds, 0 failed, 1200 seeds/hour, 3s of 1m0s\n2 seeds, 0 failed, 1440 seeds/hour, 5s of 1m0s\n"
	if buf.String() != want {
		t.Fatalf("got\n%swant\n%s", buf.String(), want)
	}
}

// A signal stops the dispatch of seeds: none starts after it, the summary
// says so.
func TestSwarmInterrupted(t *testing.T) {
	var stderr bytes.Buffer
	cfg, err := parseSwarmFlags([]string{"--seeds", "1000", "--jobs", "2"}, &stderr, func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	released := false
	start := time.Now()
	run := newSwarmRun(cfg, start, &stderr, &stderr)
	if !run.run(ctx, func() { released = true }) || !released {
		t.Fatalf("not interrupted, or the signal not released: %s", stderr.String())
	}
	sum := run.tally.finish(time.Since(start), true)
	if sum.SeedsRun != 0 || !sum.Interrupted || !strings.Contains(stderr.String(), "interrupted: finishing the seeds in flight") {
		t.Fatalf("seeds run %d, interrupted %v: %s", sum.SeedsRun, sum.Interrupted, stderr.String())
	}
}
