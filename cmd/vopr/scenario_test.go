package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestScenarioCommand(t *testing.T) {
	script := filepath.Join("..", "..", "vopr", "testdata", "scenarios", "prepare_ok_waits_for_disk.txt")
	code, out, _ := runVopr(t, "scenario", script)
	if code != exitPass || lastLine(out) != "PASSED" || !strings.Contains(out, "> release-io 2") {
		t.Fatalf("exit %d, last line %q", code, lastLine(out))
	}
	code, _, stderr := runVopr(t, "scenario", "--bug", "reply-before-commit", script)
	if code != exitScriptFailed || !strings.Contains(stderr, "which never committed") {
		t.Fatalf("with a bug: exit %d, stderr %q", code, stderr)
	}
	bad := filepath.Join(t.TempDir(), "bad.txt")
	if err := os.WriteFile(bad, []byte("cluster 3\nclient 1\nfly 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr = runVopr(t, "scenario", bad); code != exitScriptFailed || !strings.Contains(stderr, "bad.txt:3: fly 1") {
		t.Fatalf("a bad script: exit %d, stderr %q", code, stderr)
	}
	for _, args := range [][]string{{"scenario"}, {"scenario", "/nonexistent.txt"}, {"scenario", "a", "b"}} {
		if code, _, _ := runVopr(t, args...); code != exitUsage {
			t.Errorf("%q: exit %d, want %d", args, code, exitUsage)
		}
	}
}
