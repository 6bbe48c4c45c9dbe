package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/govsr/govsr/vopr"
)

// failingReportFile runs a seed with a broken replica and returns the
// path of the report it wrote.
func failingReportFile(t *testing.T, dir string) string {
	t.Helper()
	code, out, _ := runVopr(t, "--seed", "6", "--bug", "commit-without-quorum", "--report-dir", dir)
	if code != exitCorrectness {
		t.Fatalf("seed 6 with commit-without-quorum: exit %d, last line %q", code, lastLine(out))
	}
	return filepath.Join(dir, "vopr-6.json")
}

func TestShrinkCommand(t *testing.T) {
	dir := t.TempDir()
	path := failingReportFile(t, dir)
	code, out, errOut := runVopr(t, "shrink", "--attempts-max", "20", path)
	if code != exitPass || !strings.HasPrefix(lastLine(out), "SHRUNK correctness seed=6 digest=") {
		t.Fatalf("exit %d, last line %q\n%s", code, lastLine(out), errOut)
	}
	for _, want := range []string{"shrinking seed 6", "attempt   1  ", ": kept (", ": not kept, ", "fault kinds on",
		"before", "after", "requests_max", "simulated time", "events", "fault kinds removed: ", "failure after:  correctness: "} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	shrunkPath := filepath.Join(dir, "vopr-6.shrunk.json")
	if !strings.Contains(out, "vopr replay "+shrunkPath) {
		t.Errorf("output does not say how to replay the shrunk report")
	}
	original, err1 := vopr.LoadReport(path)
	shrunk, err2 := vopr.LoadReport(shrunkPath)
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	if len(shrunk.Options.Enabled()) >= len(original.Options.Enabled()) ||
		shrunk.Options.RequestsMax >= original.Options.RequestsMax {
		t.Errorf("not smaller: fault kinds %v → %v, requests_max %d → %d", original.Options.Enabled(),
			shrunk.Options.Enabled(), original.Options.RequestsMax, shrunk.Options.RequestsMax)
	}
	code, out, _ = runVopr(t, "replay", shrunkPath)
	if code != exitCorrectness || !strings.HasPrefix(lastLine(out), "REPRODUCED correctness seed=6 digest="+shrunk.Digest) {
		t.Fatalf("replay of the shrunk report: exit %d, last line %q", code, lastLine(out))
	}
}

// Bad usage, a missing or invalid report, and a report of a run that
// passes: one line on stderr, exit 2.
func TestShrinkErrors(t *testing.T) {
	dir := t.TempDir()
	path := failingReportFile(t, dir)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	passed := write("passed.json", strings.Replace(string(data), `"class": "correctness"`, `"class": "passed"`, 1))
	// The bug fixed, and a short run: the report's run passes today.
	short := regexp.MustCompile(`"requests_max": [0-9]+`).ReplaceAllString(string(data), `"requests_max": 100`)
	fixed := write("fixed.json", strings.Replace(short, `"bug": "commit-without-quorum"`, `"bug": ""`, 1))
	invalid := write("invalid.json", strings.Replace(strings.Replace(string(data), `"replicas": 3`, `"replicas": 9`, 1),
		`"clients": 22`, `"clients": 0`, 1)) // two errors, one line
	cases := [][]string{
		{"shrink"}, {"shrink", path, path}, {"shrink", "--attempts-max", "0", path}, {"shrink", "--same", "digest", path},
		{"shrink", filepath.Join(dir, "missing.json")}, {"shrink", write("bad.json", "{not json")},
		{"shrink", invalid}, {"shrink", passed}, {"shrink", fixed},
	}
	for _, args := range cases {
		code, _, errOut := runVopr(t, args...)
		if code != exitUsage || strings.Count(errOut, "\n") != 1 {
			t.Errorf("%v: exit %d, stderr %q; want exit %d and one line", args, code, errOut, exitUsage)
		}
	}
	if _, _, errOut := runVopr(t, "shrink", fixed); !strings.Contains(errOut, `now "passed"`) {
		t.Errorf("a report whose run passes today: %q", errOut)
	}
}
