package vopr

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/govsr/govsr/vsr"
	"github.com/govsr/govsr/vsr/kv"
)

// Each chaos kind must be seen happening over a few fixed seeds, with the
// other chaos kinds off so that what a test counts is its kind's doing;
// the runs are cut short to keep the suite fast. They need not pass: a
// failure there is a finding for the protocol, not for these tests. A
// panic of the simulator itself (a "vopr:" message) fails them.

// chaosOff forces every chaos kind off, then the kinds on, on.
func chaosOff(on ...string) Force {
	f := Force{}
	for _, k := range chaosKinds {
		f[k] = false
	}
	for _, k := range on {
		f[k] = true
	}
	return f
}

func chaosAllOn() Force {
	return chaosOff(chaosKinds...)
}

// chaosRun runs seeds with force, edits applied, and returns every run's
// result; it fails the test on a panic of the simulator itself.
func chaosRun(t *testing.T, seeds []uint64, force Force, edit func(o *Options)) []*Result {
	t.Helper()
	var out []*Result
	for _, seed := range seeds {
		o := Draw(seed, force)
		if edit != nil {
			edit(&o)
		}
		s := mustNew(t, o)
		res := s.Run()
		if res.Class == Crash && strings.Contains(res.Message, "vopr:") {
			t.Fatalf("seed %d: the simulator panicked: %s", seed, firstLine(res.Message))
		}
		out = append(out, res)
	}
	return out
}

// chaosSum adds up the chaos stats of results.
func chaosSum(results []*Result) (total ChaosStats, evictions, torn uint64) {
	for _, res := range results {
		c := &res.Stats.Chaos
		for _, p := range []struct{ dst, src *uint64 }{
			{&total.ClientCuts, &c.ClientCuts}, {&total.ClientSides, &c.ClientSides},
			{&total.LongDelays, &c.LongDelays}, {&total.LateDeliveries, &c.LateDeliveries},
			{&total.LateOldRegisters, &c.LateOldRegisters}, {&total.LateOldRequests, &c.LateOldRequests},
			{&total.TargetPrepare, &c.TargetPrepare}, {&total.TargetViewChange, &c.TargetViewChange},
			{&total.TargetRepair, &c.TargetRepair}, {&total.TargetCrashes, &c.TargetCrashes},
			{&total.TargetIsolations, &c.TargetIsolations}, {&total.AimedCuts, &c.AimedCuts},
			{&total.CrashJournalWrite, &c.CrashJournalWrite}, {&total.CrashSuperblockWrite, &c.CrashSuperblockWrite},
			{&total.CrashPrepareOk, &c.CrashPrepareOk}, {&total.CrashViewChangeSent, &c.CrashViewChangeSent},
			{&total.CrashGroups, &c.CrashGroups}, {&total.CrashWholeCluster, &c.CrashWholeCluster},
			{&total.ChurnEpisodes, &c.ChurnEpisodes}, {&total.ChurnIsolations, &c.ChurnIsolations},
			{&total.TailsEpisodes, &c.TailsEpisodes}, {&total.TailsReturns, &c.TailsReturns},
			{&total.CheckpointChunks, &c.CheckpointChunks},
			{&total.BacklogPauses, &c.BacklogPauses}, {&total.BacklogBeyondJournal, &c.BacklogBeyondJournal},
			{&total.BacklogCrashes, &c.BacklogCrashes},
			{&total.ViewChanges, &c.ViewChanges}, {&total.ViewChangesDiffering, &c.ViewChangesDiffering},
			{&total.ViewChangesDivergent, &c.ViewChangesDivergent},
		} {
			*p.dst += *p.src
		}
		total.CheckpointBytesMax = max(total.CheckpointBytesMax, c.CheckpointBytesMax)
		evictions += res.Stats.Evictions
		torn += res.Stats.TornWrites
	}
	return total, evictions, torn
}

// expectHappened fails for every named count that is zero.
func expectHappened(t *testing.T, counts map[string]uint64) {
	t.Helper()
	for name, n := range counts {
		if n == 0 {
			t.Errorf("%s never happened", name)
		}
	}
	t.Logf("%v", counts)
}

// short cuts a run to a fifth of the safety phase.
func short(o *Options) { o.TicksMax = 6_000 }

func TestChaosClientLinksHappen(t *testing.T) {
	force := chaosOff("client-links")
	force["partition"] = true
	results := chaosRun(t, []uint64{1, 2, 3}, force, func(o *Options) {
		short(o)
		o.Replicas = max(o.Replicas, 3)
	})
	st, _, _ := chaosSum(results)
	expectHappened(t, map[string]uint64{"client link cut": st.ClientCuts, "client on a minority side": st.ClientSides})
}

func TestChaosLongDelaysHappen(t *testing.T) {
	seeds := []uint64{2, 7, 8}
	squeezed := 0
	for _, seed := range seeds {
		if o := Draw(seed, chaosOff("long-delay")); o.ClientsMax < o.Clients {
			squeezed++
		}
	}
	results := chaosRun(t, seeds, chaosOff("long-delay"), short)
	st, evictions, _ := chaosSum(results)
	expectHappened(t, map[string]uint64{"long delay": st.LongDelays, "late delivery": st.LateDeliveries,
		"late register after a later one": st.LateOldRegisters, "late request after a later reply": st.LateOldRequests,
		"eviction": evictions, "seed with fewer sessions than clients": uint64(squeezed)})
}

// TestChaosTargetedFaultsHappen: every trigger fires, and over the same
// seeds the targeted kind makes view changes over divergent logs more
// common than they are without it. (Over 100 whole seeds of a swarm, 232
// with it, 81 without; these short runs show the same.)
func TestChaosTargetedFaultsHappen(t *testing.T) {
	seeds := []uint64{10, 13, 16, 17}
	st, _, _ := chaosSum(chaosRun(t, seeds, chaosOff("target"), short))
	expectHappened(t, map[string]uint64{"strike after a prepare": st.TargetPrepare,
		"strike in a view change": st.TargetViewChange, "strike while a backup repairs": st.TargetRepair,
		"targeted crash": st.TargetCrashes, "targeted isolation": st.TargetIsolations, "aimed cut": st.AimedCuts,
		"view change over divergent logs": st.ViewChangesDivergent})
	without, _, _ := chaosSum(chaosRun(t, seeds, chaosOff(), short))
	if st.ViewChangesDivergent <= without.ViewChangesDivergent {
		t.Errorf("view changes over divergent logs: %d with targeted faults, %d without", st.ViewChangesDivergent,
			without.ViewChangesDivergent)
	}
}

func TestChaosCrashWindowsHappen(t *testing.T) {
	force := chaosOff("crash-window", "crash-group")
	force["crash"] = false
	force[writeErrorKind] = false // the runs these seeds were picked for
	results := chaosRun(t, []uint64{1, 7, 10}, force, short)
	st, _, torn := chaosSum(results)
	expectHappened(t, map[string]uint64{"crash with a journal write in flight": st.CrashJournalWrite,
		"crash with a superblock write in flight": st.CrashSuperblockWrite,
		"crash right after a prepare_ok":          st.CrashPrepareOk,
		"crash right after a view change message": st.CrashViewChangeSent,
		"correlated crash":                        st.CrashGroups, "whole-cluster crash": st.CrashWholeCluster,
		"torn or lost write": torn})
}

func TestChaosChurnHappens(t *testing.T) {
	st, _, _ := chaosSum(chaosRun(t, []uint64{16, 18}, chaosOff("churn"), short))
	expectHappened(t, map[string]uint64{"churn episode": st.ChurnEpisodes,
		"churn isolation beyond the first": st.ChurnIsolations - min(st.ChurnIsolations, st.ChurnEpisodes),
		"view change over divergent logs":  st.ViewChangesDivergent})
}

// TestChaosSmallMessagesHappen: messages below 4 KiB (a do_view_change
// carries at most 15 headers) through view changes and state transfers.
func TestChaosSmallMessagesHappen(t *testing.T) {
	seeds := []uint64{2, 3}
	small := uint64(0)
	for _, seed := range seeds {
		if o := Draw(seed, chaosOff("small-messages")); o.MessageSizeMax < 4<<10 && o.MessageSizeMax >= vsr.MessageSizeMin {
			small++
		}
	}
	st, _, _ := chaosSum(chaosRun(t, seeds, chaosOff("small-messages"), short))
	expectHappened(t, map[string]uint64{"seed with messages below 4 KiB": small / uint64(len(seeds)),
		"view change": st.ViewChanges, "state transfer chunk": st.CheckpointChunks})
}

// TestChaosBigStateHappens: a checkpoint that a state transfer sends in
// more than 8 chunks.
func TestChaosBigStateHappens(t *testing.T) {
	seeds := []uint64{5, 12}
	results := chaosRun(t, seeds, chaosOff("big-state"), short)
	st, _, _ := chaosSum(results)
	chunksMax := uint64(0)
	for i, seed := range seeds {
		o := Draw(seed, chaosOff("big-state"))
		chunks := results[i].Stats.Chaos.CheckpointBytesMax / uint64(o.MessageSizeMax-vsr.HeaderSize)
		chunksMax = max(chunksMax, chunks)
	}
	expectHappened(t, map[string]uint64{"state transfer chunk": st.CheckpointChunks,
		"checkpoint of more than 8 chunks": chunksMax / 9})
}

// TestChaosBacklogHappens: under load, a paused backup falls more than a
// journal behind, resumes, and another backup crashes (finding 8).
func TestChaosBacklogHappens(t *testing.T) {
	st, _, _ := chaosSum(chaosRun(t, []uint64{2}, chaosOff("load", "backlog"), func(o *Options) {
		o.TicksMax = 2_000
		o.Chaos.BacklogAtNs = min(o.Chaos.BacklogAtNs, 3_000_000_000)
	}))
	expectHappened(t, map[string]uint64{"backlog pause": st.BacklogPauses,
		"backlog beyond the journal": st.BacklogBeyondJournal, "crash after the backlog": st.BacklogCrashes})
}

// TestChaosOffReplaysOldReports: a report written before the chaos kinds
// (no "chaos" field) loads with every chaos kind off and runs exactly as
// the seed does with them forced off.
func TestChaosOffReplaysOldReports(t *testing.T) {
	o := Draw(5, chaosOff())
	data, err := json.Marshal(o)
	if err != nil {
		t.Fatal(err)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(data, &fields); err != nil {
		t.Fatal(err)
	}
	delete(fields, "chaos")
	if data, err = json.Marshal(fields); err != nil {
		t.Fatal(err)
	}
	var old Options
	if err := json.Unmarshal(data, &old); err != nil {
		t.Fatal(err)
	}
	old.absentRatiosNever()
	if err := old.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, k := range old.Enabled() {
		if _, ok := old.Chaos.kindOn(k); ok {
			t.Errorf("chaos kind %s on in a report without chaos options", k)
		}
	}
	a, b := runShort(t, o), runShort(t, old)
	if a.Digest != b.Digest {
		t.Fatalf("chaos forced off gives digest %s, an old report of the seed %s", a.Digest, b.Digest)
	}
}

// runShort runs o with a short safety phase.
func runShort(t *testing.T, o Options) *Result {
	t.Helper()
	o.TicksMax = 3_000
	s := mustNew(t, o)
	return s.Run()
}

// TestCASHeaderSize: the request size bound of big state assumes the
// compare-and-set encoding's header size.
func TestCASHeaderSize(t *testing.T) {
	b, err := kv.EncodeCAS(nil, []byte("k"), []byte("ab"), []byte("cde"))
	if err != nil {
		t.Fatal(err)
	}
	if got := len(b) - 1 - 2 - 3; got != kvCASHeaderSize {
		t.Fatalf("cas header is %d bytes, kvCASHeaderSize %d", got, kvCASHeaderSize)
	}
}

// TestHeaderCommandOffset: the wire watcher peeks at the command byte.
func TestHeaderCommandOffset(t *testing.T) {
	h := vsr.Header{Command: vsr.CommandStartView, Cluster: vsr.U128{Lo: 1}, View: 3, Replica: 1}
	b := make([]byte, vsr.HeaderSize)
	if _, err := vsr.Encode(b, &h, nil); err != nil {
		t.Fatal(err)
	}
	if vsr.Command(b[headerCommandOffset]) != vsr.CommandStartView {
		t.Fatalf("byte %d holds %d, not the command", headerCommandOffset, b[headerCommandOffset])
	}
}

// Deliberately broken replicas that only the chaos kinds catch.

// expectCaughtOnSeeds runs bug over seeds with force: at least one run
// must fail as class with text, and none in another class.
func expectCaughtOnSeeds(t *testing.T, bug string, seeds []uint64, force Force, class Class, text string) {
	t.Helper()
	var got []string
	caught := false
	for _, res := range chaosRun(t, seeds, force, func(o *Options) { o.Bug, o.Checks.Off = bug, caughtEarlierBy[bug] }) {
		switch {
		case res.Class == Pass:
		case res.Class != class:
			t.Fatalf("got %s: %q; want %s", res.Class, firstLine(res.Message), class)
		case strings.Contains(res.Message, text):
			caught = true
		default:
			got = append(got, firstLine(res.Message))
		}
	}
	if !caught {
		t.Fatalf("no seed failed with %q; failures: %q", text, got)
	}
}

// A new primary that adopts the longest log whatever its log_view
// replaces committed ops once a replica holding an old view's tail votes:
// view churn makes that happen (in 3 of seeds 1-30 with churn alone).
func TestChaosChurnCatchesLongestLogWins(t *testing.T) {
	expectCaughtOnSeeds(t, "longest-log-wins", []uint64{12, 15}, chaosOff("churn"), Correctness, "canonical")
}

// A backup that installs an older view's start_view needs one delivered
// after a newer view formed: long delays deliver it. (The replica's own
// assertion, after the filter the bug skips, is what stops it.)
func TestChaosLongDelaysCatchOldStartView(t *testing.T) {
	expectCaughtOnSeeds(t, "old-start-view", []uint64{6, 7}, chaosOff("long-delay"), Crash, "a start_view is of this view or a newer one")
}

// A superblock that never records a new view is caught when a crash lands
// while a superblock write is in flight: the crash-window kind aims there.
func TestChaosCrashWindowsCatchStaleSuperblock(t *testing.T) {
	force := chaosOff("crash-window")
	force["crash"] = false
	expectCaughtOnSeeds(t, "stale-superblock", []uint64{1, 2}, force, Correctness, "were durable")
}

// counter names a count of a chaos kind's doings in a run's result.
type counter struct {
	name  string
	count func(*Result) uint64
}

// expectStrikesAndPasses runs seeds with chaos kind forced on (every other
// chaos kind off) and fails t unless every run passes and each counter,
// summed over the runs, shows the kind did something.
func expectStrikesAndPasses(t *testing.T, seeds []uint64, kind string, counters []counter) {
	t.Helper()
	sums := make([]uint64, len(counters))
	for i, res := range chaosRun(t, seeds, chaosOff(kind), nil) {
		if res.Class != Pass {
			t.Errorf("run %d: %s: %s", i, res.Class, firstLine(res.Message))
		}
		for j, c := range counters {
			sums[j] += c.count(res)
		}
	}
	for j, c := range counters {
		if sums[j] == 0 {
			t.Errorf("%s: no %s in seeds %v", kind, c.name, seeds)
		}
	}
}
