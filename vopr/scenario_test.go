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

// TestScenariosCatchBrokenReplicas runs scripts that pass (TestScenarios)
// against replicas broken on purpose (Options.Bug): each must fail, and by
// the checker that watches for that kind of bug, not by chance.
func TestScenariosCatchBrokenReplicas(t *testing.T) {
	for _, c := range []struct {
		script, bug, want string
	}{
		{"view_change_newer_log_view_beats_a_longer_log", "longest-log-wins", "correctness: replica 1's start_view of view 4 (head op 8) names prepare"},
		{"do_view_change_lost_is_retried", "stale-superblock", "it acts on a view not yet durable"},
		{"paper_duplicate_request_is_not_executed_again", "execute-duplicate", "correctness: replica 0 ran request 2 of client"},
		{"primary_cut_off_mid_pipeline", "stale-session", "correctness: replica 1 state digest after op 2"},
		{"prepare_ok_waits_for_disk", "reply-before-commit", "got a reply for op 1, which never committed"},
		{"prepare_ok_waits_for_disk", "forge-request", "that no client sent"},
		// Stamped one below the previous prepare, and so below the clock
		// (the idle scenario's clock passed the timestamps): the clock rule
		// fires at the send; TestCheckerTimestampsCatchStampBackwards,
		// under load, shows the rule that timestamps grow along the log.
		{"par_restarted_backup_recovers_and_catches_up", "stamp-backwards", "below its clock"},
		{"finding8_primary_that_cannot_prepare_abdicates", "panic-at-op-50", "crash: panic: vsr: deliberate bug"},
		{"finding6_recovering_replica_ahead_of_the_cluster_recovers", "ignore-start-view", "liveness: the healed cluster did not converge"},
		{"reads_see_the_last_write_across_a_view_change", "stale-read", "correctness: linearizability"},
	} {
		t.Run(c.script+"/"+c.bug, func(t *testing.T) {
			text, err := os.ReadFile(filepath.Join(scenarioDir, c.script+".txt"))
			if err != nil {
				t.Fatal(err)
			}
			_, err = RunScenario(c.script, text, c.bug)
			if err == nil {
				t.Fatalf("passed with the bug %s", c.bug)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("failed, but not with %q:\n%s", c.want, firstLines(err.Error(), 3))
			}
		})
	}
}

func firstLines(s string, n int) string {
	lines := strings.SplitN(s, "\n", n+1)
	return strings.Join(lines[:min(n, len(lines))], "\n")
}

// TestScenarioTraceIsDeterministic: a script's trace is the same from one
// run to the next (and so, since nothing but the script and the seed feeds
// it, from one machine to the next).
func TestScenarioTraceIsDeterministic(t *testing.T) {
	file := filepath.Join(scenarioDir, "finding1_replaced_prepare_does_not_return_after_a_crash.txt")
	if first, second := runScenarioFile(t, file, ""), runScenarioFile(t, file, ""); first != second {
		t.Fatalf("two runs of one script differ:\n%s", firstDifference(first, second))
	}
}

// TestScenarioScriptErrors: a script that is wrong, or whose expectation
// does not hold, fails with the line at fault, never a panic.
func TestScenarioScriptErrors(t *testing.T) {
	for _, c := range []struct{ script, want string }{
		{"client 1\n", "x:1: client 1\nthe first command must be cluster"},
		{"cluster 9\n", "replica count 9 outside"},
		{"cluster 3 speed=2\n", `unknown cluster option "speed"`},
		{"cluster 3\nclient 1\n", "builds no cluster"},
		{"cluster 3\nclient 1\nfly 1\n", `x:3: fly 1` + "\n" + `unknown command "fly"`},
		{"cluster 3\nclient 1\nsubmit 1 a\n", "client 1 is not registered"},
		{"cluster 3\nclient 1\nregister 1\nexpect r0 view=7\n", "r0 view=0, want 7"},
		{"cluster 3\nclient 1\nregister 1\nexpect r3 view=0\n", "no replica r3"},
		{"cluster 3\nclient 1\nregister 1\nexpect r0 colour=red\n", `unknown replica field "colour"`},
		{"cluster 3\nclient 1\nregister 1\ndrop hello\n", `unknown message command "hello"`},
		{"cluster 3\nclient 1\nregister 1\nexpect-applied r0 a\n", "r0 applied [], want [a]"},
		{"cluster 3\nclient 1\nregister 1\nrestart r0\n", "r0 is down=false"},
		{"cluster 3\nclient 1\nregister 1\ncheck\ntick 1\n", "nothing may follow check"},
		{"cluster 3\nclient 1\nwait\n", "too few arguments for wait"},
		{"cluster 3\nclient 1\nread\n", "too few arguments for read"},
		{"cluster 3\nclient 1\nexpect-applied\n", "too few arguments for expect-applied"},
		{"cluster 3\nclient 1\nregister 1\npartition r0 r1 r2\nuntil r0 view=1 limit=50\n", "until: not reached within 50 ticks"},
	} {
		_, err := RunScenario("x", []byte(c.script), "")
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("script %q: error %v, want one containing %q", c.script, err, c.want)
		}
	}
}
