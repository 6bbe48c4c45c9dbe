package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runVopr(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return lines[len(lines)-1]
}

func TestPassingSeed(t *testing.T) {
	code, out, _ := runVopr(t, "--seed", "42", "--requests-max", "300")
	if code != exitPass || !strings.HasPrefix(lastLine(out), "PASSED seed=42 digest=") {
		t.Fatalf("exit %d, last line %q", code, lastLine(out))
	}
	for _, want := range []string{"replicas", "faults on", "simulated / real", "view changes", "digest"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
}

func TestBadUsage(t *testing.T) {
	cases := [][]string{
		{"--seed", "-1"}, {"--seed", "x"}, {"--log", "loud"}, {"--on", "earthquake"},
		{"--on", "loss", "--off", "loss"}, {"--bug", "no-such-bug"}, {"stray"}, {"--ticks-max", "-5"},
		{"replay"}, {"replay", "/nonexistent/report.json"}, {"swarm", "--seeds", "0"},
	}
	for _, args := range cases {
		code, _, errOut := runVopr(t, args...)
		if code != exitUsage {
			t.Errorf("%v: exit %d, want %d", args, code, exitUsage)
		}
		if errOut == "" {
			t.Errorf("%v: no error message", args)
		}
	}
}

// A deliberately broken run fails with the right exit code, writes a
// report, and the report replays to the same failure and digest.
func TestFailureReportReplays(t *testing.T) {
	dir := t.TempDir()
	code, out, _ := runVopr(t, "--seed", "4", "--bug", "panic-at-op-50", "--report-dir", dir)
	if code != exitCrash || !strings.HasPrefix(lastLine(out), "FAILED crash seed=4 digest=") {
		t.Fatalf("exit %d, last line %q", code, lastLine(out))
	}
	report := filepath.Join(dir, "vopr-4.json")
	if !strings.Contains(out, "vopr replay "+report) {
		t.Fatalf("output does not say how to replay:\n%s", out)
	}
	code, out, _ = runVopr(t, "replay", report)
	if code != exitCrash || !strings.HasPrefix(lastLine(out), "REPRODUCED crash seed=4") {
		t.Fatalf("replay: exit %d, last line %q", code, lastLine(out))
	}
	// A report edited to a different digest no longer reproduces.
	data, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	edited := strings.Replace(string(data), `"digest": "`, `"digest": "0`, 1)
	if err := os.WriteFile(report, []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, out, _ = runVopr(t, "replay", report); !strings.Contains(out, "NOT REPRODUCED") {
		t.Fatalf("edited report still reproduced:\n%s", out)
	}
}

func TestLinearizabilityFailureWritesHistory(t *testing.T) {
	dir := t.TempDir()
	code, out, _ := runVopr(t, "--seed", "3", "--bug", "stale-read", "--requests-max", "300", "--report-dir", dir)
	if code != exitCorrectness {
		t.Fatalf("exit %d, want %d:\n%s", code, exitCorrectness, out)
	}
	if _, err := os.Stat(filepath.Join(dir, "vopr-3.html")); err != nil {
		t.Fatalf("no history visualization: %v", err)
	}
}

func TestCheckDeterminism(t *testing.T) {
	code, out, _ := runVopr(t, "--seed", "7", "--requests-max", "200", "--check-determinism")
	if code != exitPass {
		t.Fatalf("exit %d: %s", code, lastLine(out))
	}
}

func TestSwarmSmall(t *testing.T) {
	code, out, errOut := runVopr(t, "swarm", "--seeds", "4", "--from", "20", "--jobs", "2", "--report-dir", t.TempDir())
	if code != exitPass || !strings.Contains(out, "PASSED 4 seeds") {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	if !strings.Contains(errOut, "4/4 seeds") {
		t.Fatalf("no plain progress lines off a terminal: %q", errOut)
	}
}
