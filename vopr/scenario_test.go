package vopr

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var rewrite = flag.Bool("rewrite", false, "scenario tests: write each script's trace as its new golden copy")

// scenarioDir holds the scripts (*.txt) and their golden traces (*.trace).
var scenarioDir = filepath.Join("testdata", "scenarios")

// TestScenarios runs every script on the simulator's cluster, with every
// checker on, and compares its trace with the golden copy; -rewrite writes
// the traces anew (review them as a diff).
func TestScenarios(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(scenarioDir, "*.txt"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no scenarios found: %v", err)
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".txt")
		t.Run(name, func(t *testing.T) {
			trace := runScenarioFile(t, file, "")
			golden := strings.TrimSuffix(file, ".txt") + ".trace"
			if *rewrite {
				if err := os.WriteFile(golden, []byte(trace), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -rewrite to write it)", err)
			}
			if trace != string(want) {
				t.Fatalf("the trace differs from %s (run with -rewrite to accept it):\n%s", golden,
					firstDifference(string(want), trace))
			}
		})
	}
}

// runScenarioFile runs one script file and fails the test if it fails.
func runScenarioFile(t *testing.T, file, bug string) string {
	t.Helper()
	text, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	trace, err := RunScenario(filepath.Base(file), text, bug)
	if err != nil {
		t.Fatalf("%v\ntrace so far:\n%s", err, lastLines(trace, 40))
	}
	return trace
}

// firstDifference shows the first line where two traces differ, with the
// lines before it.
func firstDifference(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := range max(len(w), len(g)) {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			from := max(0, i-5)
			return "context:\n" + strings.Join(g[from:i], "\n") + "\nwant: " + wl + "\ngot:  " + gl
		}
	}
	return "(no difference)"
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
