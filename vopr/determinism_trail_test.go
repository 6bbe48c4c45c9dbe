package vopr

import (
	"fmt"
	"strings"
	"testing"
)

// trailOptions is a short seed with network faults, so that messages are
// delivered, dropped and corrupted well within a few stretches.
func trailOptions() Options {
	o := Draw(7, Force{"loss": true, "corrupt": true})
	o.RequestsMax = 200
	return o
}

// A deterministic seed checked in lockstep gives the verdict and digest a
// plain run gives.
func TestCheckDeterminismAlike(t *testing.T) {
	o := trailOptions()
	plain := runOptions(t, o)
	checked, err := CheckDeterminism(o, nil, logNone)
	if err != nil {
		t.Fatal(err)
	}
	if checked.Class != plain.Class || checked.Digest != plain.Digest || checked.Stats.Events != plain.Stats.Events {
		t.Fatalf("checked run %s %s (%d events), plain run %s %s (%d events): %s",
			checked.Class, checked.Digest, checked.Stats.Events, plain.Class, plain.Digest, plain.Stats.Events, checked.Message)
	}
	if plain.Stats.Events < 3*trailEvents {
		t.Fatalf("only %d events: the test wants several stretches", plain.Stats.Events)
	}
}

// An event that differs in the second run only (its time at exactly
// event at, or the bytes of the first message delivered from event at on)
// is named as the first divergent event, with both runs' versions; the
// stretch boundaries (events 1024 and 1025) included.
func TestCheckDeterminismNamesDivergentEvent(t *testing.T) {
	cases := []struct {
		at      uint64
		message bool // flip a bit of a message rather than shift a time
	}{{1, false}, {trailEvents, false}, {trailEvents + 1, false}, {2*trailEvents + 17, false}, {1, true}, {trailEvents + 1, true}}
	for _, c := range cases {
		var perturbed uint64
		res, err := checkDeterminism(trailOptions(), nil, logNone, func(_ *Simulator, index uint64, e *event) {
			switch {
			case perturbed != 0 || index < c.at:
			case !c.message:
				e.at++ // what the digest folds, not when the event runs
				perturbed = index
			case e.kind == eventDeliver:
				e.data[len(e.data)-1] ^= 0x80 // as a cosmic ray would
				perturbed = index
			}
		})
		if err != nil {
			t.Fatal(err)
		}
		if perturbed == 0 || (!c.message && perturbed != c.at) {
			t.Fatalf("%+v: perturbed event %d", c, perturbed)
		}
		t.Logf("perturbed event %d:\n%s", perturbed, res.Message)
		want := fmt.Sprintf("first differ at event %d (tick ", perturbed)
		if res.Class != Correctness || !strings.Contains(res.Message, want) {
			t.Fatalf("%+v: %s %q, want it to name event %d", c, res.Class, res.Message, perturbed)
		}
		run1, run2 := messageLine(res.Message, "run 1: "), messageLine(res.Message, "run 2: ")
		prefix := fmt.Sprintf("#%d at ", perturbed)
		if !strings.HasPrefix(run1, prefix) || !strings.HasPrefix(run2, prefix) || run1 == run2 ||
			(c.message && !strings.Contains(run1, "deliver")) {
			t.Fatalf("%+v: the two events are not both named and told apart:\n%s", c, res.Message)
		}
		before := messageLine(res.Message, "last event alike: ")
		if perturbed > 1 && !strings.HasPrefix(before, fmt.Sprintf("#%d at ", perturbed-1)) ||
			perturbed == 1 && !strings.HasPrefix(before, "none") {
			t.Fatalf("%+v: last alike event %q, want #%d", c, before, perturbed-1)
		}
	}
}

// A random draw taken in the second run only shifts later draws: the
// divergence shows at or after it, and both events are named.
func TestCheckDeterminismExtraDraw(t *testing.T) {
	const at = 1500
	res, err := checkDeterminism(trailOptions(), nil, logNone, func(s *Simulator, index uint64, _ *event) {
		if index == at {
			s.net.rng.Uint64()
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	var index uint64
	if _, err := fmt.Sscanf(res.Message, "nondeterminism: the two runs first differ at event %d", &index); err != nil ||
		index < at || res.Class != Correctness {
		t.Fatalf("%s %q: want a divergence at event %d or later", res.Class, res.Message, at)
	}
	t.Logf("extra draw at event %d:\n%s", at, res.Message)
	if messageLine(res.Message, "run 1: ") == messageLine(res.Message, "run 2: ") {
		t.Fatalf("both runs' events read alike:\n%s", res.Message)
	}
}

// A panic in one run only: the runs are alike up to it, then one ended and
// the other went on.
func TestCheckDeterminismOneRunCrashes(t *testing.T) {
	const at = 700
	res, err := checkDeterminism(trailOptions(), nil, logNone, func(_ *Simulator, index uint64, _ *event) {
		if index == at {
			panic("only in the second run")
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("alike for %d events, then", at-1)
	if res.Class != Correctness || !strings.Contains(res.Message, want) ||
		!strings.HasPrefix(messageLine(res.Message, "run 1: "), fmt.Sprintf("went on with #%d ", at)) ||
		!strings.Contains(messageLine(res.Message, "run 2: "), "ended: crash, panic: only in the second run") {
		t.Fatalf("%s %q", res.Class, res.Message)
	}
}

// messageLine returns the rest of the message's line that starts (after
// indentation) with prefix, or "".
func messageLine(message, prefix string) string {
	for _, line := range strings.Split(message, "\n") {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), prefix); ok {
			return rest
		}
	}
	return ""
}
