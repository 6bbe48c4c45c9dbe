package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// readPicture reads a timeline page and checks it is one: a timeline
// panel, the seed's verdict, and nothing loaded from anywhere.
func readPicture(t *testing.T, path, verdict string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("no timeline: %v", err)
	}
	page := string(data)
	for _, want := range []string{"<!DOCTYPE html>", `<svg id="timeline" class="timeline"`, verdict} {
		if !strings.Contains(page, want) {
			t.Errorf("%s lacks %q", path, want)
		}
	}
	if strings.Contains(page, "http://") || strings.Contains(page, "https://") {
		t.Errorf("%s names a network URL", path)
	}
	return page
}

// --html writes the picture of a passing run; no picture goes beside a
// report that was never written.
func TestHTMLFlag(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "run.html")
	code, out, errOut := runVopr(t, "--seed", "42", "--requests-max", "200", "--html", path, "--report-dir", dir)
	if code != exitPass {
		t.Fatalf("exit %d: %s %s", code, lastLine(out), errOut)
	}
	if !strings.Contains(out, "timeline: "+path) {
		t.Errorf("the output does not say where the picture is:\n%s", out)
	}
	readPicture(t, path, ">passed<")
	if _, err := os.Stat(filepath.Join(dir, "vopr-42.timeline.html")); err == nil {
		t.Error("a passing run left a failure picture")
	}
}

// A failing seed's picture lands beside its report, drawn from a rerun
// when --html was not given, and the last line stays the verdict.
func TestFailureWritesTimeline(t *testing.T) {
	dir := t.TempDir()
	// The promises checker would stop the run at its first do_view_change,
	// before the crashes the picture should show.
	code, out, errOut := runVopr(t, "--seed", "20", "--bug", "stale-superblock", "--checks-off", "promises", "--report-dir", dir)
	if code != exitCorrectness || !strings.HasPrefix(lastLine(out), "FAILED correctness seed=20") {
		t.Fatalf("exit %d, last line %q, stderr %q", code, lastLine(out), errOut)
	}
	picture := filepath.Join(dir, "vopr-20.timeline.html")
	if !strings.Contains(out, "timeline: "+picture) {
		t.Errorf("the output does not name the picture:\n%s", out)
	}
	page := readPicture(t, picture, "FAILED correctness")
	if !strings.Contains(page, "reopened at view") {
		t.Error("the picture lacks the failure message")
	}
	if _, err := os.Stat(filepath.Join(dir, "vopr-20.json")); err != nil {
		t.Errorf("no report beside the picture: %v", err)
	}
}

// A swarm's failing seed gets its picture too.
func TestSwarmFailureWritesTimeline(t *testing.T) {
	dir := t.TempDir()
	code, out, errOut := runVopr(t, "swarm", "--seeds", "1", "--from", "20", "--jobs", "1", "--bug", "stale-superblock",
		"--report-dir", dir)
	if code != exitCorrectness {
		t.Fatalf("exit %d, want %d\n%s\n%s", code, exitCorrectness, out, errOut)
	}
	picture := filepath.Join(dir, "vopr-20.timeline.html")
	if !strings.Contains(out, "timeline: "+picture) {
		t.Errorf("the FAILED message does not name the picture:\n%s", out)
	}
	readPicture(t, picture, "FAILED correctness")
}

func TestHTMLBadPath(t *testing.T) {
	code, _, errOut := runVopr(t, "--seed", "1", "--html", filepath.Join(t.TempDir(), "no-such-dir", "x.html"))
	if code != exitUsage || !strings.Contains(errOut, "--html") || strings.Count(errOut, "\n") != 1 {
		t.Fatalf("exit %d, stderr %q: want a one-line usage error", code, errOut)
	}
}
