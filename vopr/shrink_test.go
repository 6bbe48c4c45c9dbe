package vopr

import (
	"errors"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// failingReport runs seed with a deliberately broken replica and returns
// the report of its failure.
func failingReport(t *testing.T, seed uint64, bug string) Report {
	t.Helper()
	o := Draw(seed, nil)
	o.Bug = bug
	res, err := runOnce(o)
	if err != nil {
		t.Fatal(err)
	}
	if res.Class == Pass {
		t.Fatalf("seed %d with bug %s passed; the test needs a failing seed", seed, bug)
	}
	return NewReport(o, res, "test", runtime.Version())
}

// A replica that commits without a quorum fails on seed 6 with twelve
// fault kinds on and thousands of requests; the shrink keeps the failure
// with fewer of both, and the shrunk report replays to its class and
// digest.
func TestShrinkBrokenReplica(t *testing.T) {
	r := failingReport(t, 6, "commit-without-quorum")
	var steps []ShrinkStep
	sh, err := Shrink(r, ShrinkOptions{AttemptsMax: 30, GitRevision: "test", GoVersion: runtime.Version()},
		func(s ShrinkStep) { steps = append(steps, s) })
	if err != nil {
		t.Fatal(err)
	}
	before, after := r.Options, sh.Report.Options
	if len(after.Enabled()) >= len(before.Enabled()) {
		t.Errorf("fault kinds on: %v before, %v after", before.Enabled(), after.Enabled())
	}
	if after.RequestsMax >= before.RequestsMax {
		t.Errorf("requests_max %d before, %d after", before.RequestsMax, after.RequestsMax)
	}
	if after.Seed != before.Seed || after.Bug != before.Bug {
		t.Errorf("the shrink changed the seed or the bug: %d %q", after.Seed, after.Bug)
	}
	want := FailureKind(r.Class, r.Message, false)
	if got := FailureKind(sh.Report.Class, sh.Report.Message, false); got != want {
		t.Errorf("failure %q, want %q", got, want)
	}
	res, same, err := Replay(sh.Report, nil, logNone)
	if err != nil || !same || res.Class != r.Class || res.Digest != sh.Report.Digest {
		t.Fatalf("replay of the shrunk report: %v, same %v, %s digest %s (report: %s digest %s)",
			err, same, res.Class, res.Digest, sh.Report.Class, sh.Report.Digest)
	}
	checkSteps(t, steps, sh)
}

// checkSteps: every attempt was reported once, in order, and the kept
// ones are what the shrink counts.
func checkSteps(t *testing.T, steps []ShrinkStep, sh *Shrunk) {
	t.Helper()
	attempts, kept := 0, 0
	for _, s := range steps {
		if s.Skipped != "" {
			continue
		}
		attempts++
		if s.Attempt != attempts {
			t.Errorf("step %q is attempt %d, want %d", s.What, s.Attempt, attempts)
		}
		if s.Kept {
			kept++
		}
	}
	if attempts != sh.Attempts || kept != sh.Kept || attempts > 30 {
		t.Errorf("steps: %d attempts, %d kept; shrink says %d, %d", attempts, kept, sh.Attempts, sh.Kept)
	}
}

// A report of a run that passes is refused: as recorded, and when the
// recorded failure no longer happens.
func TestShrinkRefusesPassingRun(t *testing.T) {
	so := ShrinkOptions{AttemptsMax: 10}
	o := Draw(42, nil)
	o.RequestsMax = 300
	if _, err := Shrink(Report{Seed: 42, Options: o, Class: Pass}, so, nil); !errors.Is(err, ErrNotFailing) {
		t.Errorf("a report of a passing run: %v", err)
	}
	r := Report{Seed: 42, Options: o, Class: Correctness, Message: "replica 1 state digest after op 3 is x, another replica's y"}
	if _, err := Shrink(r, so, nil); !errors.Is(err, ErrNotFailing) || !strings.Contains(err.Error(), `now "passed"`) {
		t.Errorf("a report whose run passes today: %v", err)
	}
	if _, err := Shrink(r, ShrinkOptions{}, nil); err == nil || errors.Is(err, ErrNotFailing) {
		t.Errorf("no attempts allowed: %v", err)
	}
}

// The same report shrinks the same way.
func TestShrinkDeterministic(t *testing.T) {
	r := failingReport(t, 24, "commit-without-quorum")
	so := ShrinkOptions{AttemptsMax: 8}
	a, errA := Shrink(r, so, nil)
	b, errB := Shrink(r, so, nil)
	if errA != nil || errB != nil {
		t.Fatal(errA, errB)
	}
	if a.Report.Digest != b.Report.Digest || a.Kept != b.Kept || a.Kept == 0 {
		t.Errorf("two shrinks: digests %s and %s, kept %d and %d", a.Report.Digest, b.Report.Digest, a.Kept, b.Kept)
	}
}

func TestFailureKind(t *testing.T) {
	state := "replica 1 state digest after op 12 is 3af0, another replica's 9bc1"
	cases := []struct {
		class     Class
		message   string
		classOnly bool
		want      string
	}{
		{Correctness, state, false, "correctness: replica # state digest after op # is #, another replica's #"},
		{Correctness, state, true, "correctness"},
		{Correctness, "op 1 holds request f12e that no client sent\nmore", false, "correctness: op # holds request # that no client sent"},
		{Crash, "panic: vsr: deliberate bug: panic at op 50\ngoroutine 1", false, "crash: panic: vsr: deliberate bug: panic at op #"},
		{Liveness, "the healed core [0 1] did not converge within 12000 ticks", false, "liveness"},
		{Unknown, "linearizability: search of 9 operations not done", false, "unknown"},
	}
	for _, c := range cases {
		if got := FailureKind(c.class, c.message, c.classOnly); got != c.want {
			t.Errorf("FailureKind(%s, %q, %v) = %q, want %q", c.class, c.message, c.classOnly, got, c.want)
		}
	}
	other := "replica 2 state digest after op 7 is 11, another replica's 22"
	if FailureKind(Correctness, state, false) != FailureKind(Correctness, other, false) {
		t.Errorf("the same checker's failures with other numbers differ")
	}
	if FailureKind(Correctness, state, false) == FailureKind(Correctness, "linearizability: the history of 5 operations is not linearizable", false) {
		t.Errorf("two checkers' failures are the same")
	}
}

// Every fault kind a shrink may turn off is off afterwards, and the
// options stay valid; only the kinds that need it go with it.
func TestWithoutKind(t *testing.T) {
	force := Force{}
	for _, k := range FaultKinds {
		force[k] = true
	}
	o := Draw(5, force) // 5 replicas: every kind can strike
	if len(o.Enabled()) != len(FaultKinds) {
		t.Fatalf("seed 5 with every kind forced on has %v on", o.Enabled())
	}
	needs := map[string][]string{"crash": {"torn-sector", "replace"}}
	for _, kind := range FaultKinds {
		off := withoutKind(o, kind)
		if err := off.Validate(); err != nil {
			t.Errorf("%s off: %v", kind, err)
		}
		for _, k := range FaultKinds {
			gone := !slices.Contains(off.Enabled(), k)
			if gone != (k == kind || slices.Contains(needs[kind], k)) {
				t.Errorf("%s off: %s on is %v", kind, k, !gone)
			}
		}
	}
}

func TestWithReplicasAndClients(t *testing.T) {
	force := Force{"load": true, "backlog": true, "slot-loss": true, "churn": false}
	o := Draw(5, force)
	if !o.Chaos.Backlog || !o.Storage.Atlas.SlotLoss {
		t.Fatalf("seed 5 has no backlog or slot loss: %+v", o.Chaos)
	}
	if _, err := withReplicas(o, 2); err == nil {
		t.Errorf("two replicas with the backlog scenario accepted")
	}
	o.Storage.Atlas.SlotLossDisks = o.Replicas
	three, err := withReplicas(o, 3)
	if err != nil || three.Replicas != 3 || three.Storage.Atlas.SlotLossDisks != 3 || three.Validate() != nil {
		t.Errorf("three replicas: %v, %d replicas, slot loss on %d disks", err, three.Replicas, three.Storage.Atlas.SlotLossDisks)
	}
	o.Clients, o.ClientsMax = 20, 15
	if c := withClients(o, 8); c.Clients != 8 || c.ClientsMax != 3 {
		t.Errorf("8 clients: %d clients, %d sessions; want 3 sessions (5 short, as before)", c.Clients, c.ClientsMax)
	}
	o.ClientsMax = 40
	if c := withClients(o, 8); c.ClientsMax != 40 {
		t.Errorf("sessions enough for every client changed to %d", c.ClientsMax)
	}
}
