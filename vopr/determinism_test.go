package vopr

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// digests runs seeds as drawn, then the chaos seeds with every chaos kind
// forced on, and returns "seed digest class marks: ..." lines.
func digests(t testing.TB, seeds []uint64) []string {
	var out []string
	for _, seed := range seeds {
		res := runSeed(t, seed)
		out = append(out, fmt.Sprintf("%d %s %s marks: %s", seed, res.Digest, res.Class, res.MarksSummary()))
	}
	for _, seed := range determinismChaosSeeds {
		o := Draw(seed, chaosAllOn())
		o.TicksMax = 3_000 // high load: a short run has events enough
		s := mustNew(t, o)
		res := s.Run()
		out = append(out, fmt.Sprintf("%d/chaos %s %s", seed, res.Digest, res.Class))
	}
	return out
}

var determinismChaosSeeds = []uint64{4, 7}

var determinismSeeds = []uint64{1, 2, 3, 5, 8, 13}

// TestDeterminismInProcess: the same seed twice in one process gives the
// same digest; different seeds give different ones.
func TestDeterminismInProcess(t *testing.T) {
	a, b := digests(t, determinismSeeds), digests(t, determinismSeeds)
	seen := map[string]bool{}
	for i := range a {
		if a[i] != b[i] {
			t.Errorf("run twice: %q then %q", a[i], b[i])
		}
		d := strings.Fields(a[i])[1]
		if seen[d] {
			t.Errorf("two seeds share digest %s", d)
		}
		seen[d] = true
	}
}

// TestDeterminismAcrossProcesses reruns the seeds in a child process with
// GOMAXPROCS=1 (this process runs with the machine's default) and compares
// digests: nothing may depend on scheduling, addresses or map order.
func TestDeterminismAcrossProcesses(t *testing.T) {
	if os.Getenv("GOVSR_PRINT_DIGESTS") == "1" {
		fmt.Println("DIGESTS " + strings.Join(digests(t, determinismSeeds), ";"))
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestDeterminismAcrossProcesses$", "-test.v")
	cmd.Env = append(os.Environ(), "GOVSR_PRINT_DIGESTS=1", "GOMAXPROCS=1", "GODEBUG=randseednop=0")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child process: %v\n%s", err, out)
	}
	var child string
	for _, line := range strings.Split(string(out), "\n") {
		if rest, ok := strings.CutPrefix(line, "DIGESTS "); ok {
			child = rest
		}
	}
	if here := strings.Join(digests(t, determinismSeeds), ";"); child != here {
		t.Fatalf("digests differ across processes:\nchild (GOMAXPROCS=1): %s\nthis process:         %s", child, here)
	}
}
