package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/govsr/govsr/vopr"
)

// --until-mark skips the seeds that miss the mark, runs the first that
// hits it as --seed does, and prints a rerun command that hits it again.
func TestUntilMarkFinds(t *testing.T) {
	code, out, errOut := runVopr(t, "--until-mark", "disk_replaced", "--from", "1", "--seeds-max", "3", "--requests-max", "300")
	if code != exitPass || !strings.HasPrefix(lastLine(out), "PASSED seed=2 digest=") {
		t.Fatalf("exit %d, last line %q\n%s", code, lastLine(out), errOut)
	}
	if !strings.Contains(errOut, "seed 1: passed, no disk_replaced") {
		t.Fatalf("no word of the seed that missed: %q", errOut)
	}
	for _, want := range []string{"seed 2 hits mark disk_replaced", "rerun: vopr --seed 2 --requests-max 300\n", "faults on", "marks hit"} {
		if !strings.Contains(out, want) {
			t.Fatalf("output lacks %q:\n%s", want, out)
		}
	}
	code, again, _ := runVopr(t, "--seed", "2", "--requests-max", "300")
	if code != exitPass || lastLine(again) != lastLine(out) || !strings.Contains(again, "disk_replaced") {
		t.Fatalf("the rerun command gave exit %d, %q (want %q, hitting disk_replaced)", code, lastLine(again), lastLine(out))
	}
}

func TestUntilMarkNotFound(t *testing.T) {
	code, out, _ := runVopr(t, "--until-mark", "write_error_retried", "--off", "write-error", "--from", "5", "--seeds-max", "2", "--requests-max", "100")
	if code != exitNotFound || !strings.HasPrefix(lastLine(out), "NOT FOUND: no seed of 2 from 5 hit mark write_error_retried") {
		t.Fatalf("exit %d, last line %q", code, lastLine(out))
	}
}

func TestUntilMarkBadUsage(t *testing.T) {
	cases := [][]string{
		{"--until-mark", "no_such_mark"}, {"--until-mark", "eviction", "--seed", "3"},
		{"--until-mark", "eviction", "--seeds-max", "0"}, {"--until-mark", "eviction", "--on", "earthquake"},
		{"--until-mark", "eviction", "--from", "-1"},
	}
	for _, args := range cases {
		code, out, errOut := runVopr(t, args...)
		if code != exitUsage || out != "" || strings.Count(strings.TrimSpace(errOut), "\n") > 0 {
			t.Errorf("%v: exit %d, stdout %q, stderr %q: want exit %d and one line of error", args, code, out, errOut, exitUsage)
		}
	}
	_, _, errOut := runVopr(t, "--until-mark", "no_such_mark")
	if !strings.Contains(errOut, `unknown mark "no_such_mark"`) || !strings.Contains(errOut, "nack_truncation") {
		t.Fatalf("the error does not list the valid marks: %q", errOut)
	}
}

// The swarm summary counts, per mark, the seeds that hit it, and lists the
// marks no seed hit, in vsr's order.
func TestMarksSwarmRows(t *testing.T) {
	m := newSwarmMarks()
	for _, res := range []*vopr.Result{
		{Marks: []vopr.MarkHits{{Name: "view_change_started", Count: 4}, {Name: "eviction", Count: 1}}},
		{Marks: []vopr.MarkHits{{Name: "view_change_started", Count: 9}}},
		{},
	} {
		m.add(res)
	}
	m.finish()
	rows := marksSwarmRows(m)
	names := vopr.MarkNames()
	if len(rows) != len(names)+1 {
		t.Fatalf("%d rows for %d marks", len(rows), len(names))
	}
	seeds := map[string]any{}
	for i, row := range rows[:len(names)] {
		name, ok := strings.CutPrefix(row[0].(string), "seeds hitting mark ")
		if !ok || name != names[i] {
			t.Fatalf("row %d is %v, want mark %s", i, row, names[i])
		}
		seeds[name] = row[1]
	}
	if seeds["view_change_started"] != uint64(2) || seeds["eviction"] != uint64(1) || seeds["nack_truncation"] != uint64(0) {
		t.Fatalf("seed counts %v", seeds)
	}
	never := rows[len(rows)-1]
	if never[0] != fmt.Sprintf("marks never hit (%d of %d)", len(names)-2, len(names)) ||
		!strings.HasPrefix(never[1].(string), "view_change_timeout, view_jump,") ||
		strings.Contains(never[1].(string), "eviction") {
		t.Fatalf("never-hit row %v", never)
	}
}

func TestSwarmPrintsMarks(t *testing.T) {
	dir := t.TempDir()
	summary := filepath.Join(dir, "summary.json")
	code, out, errOut := runVopr(t, "swarm", "--seeds", "2", "--from", "1", "--jobs", "2", "--report-dir", dir, "--json", summary)
	if code != exitPass {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	for _, want := range []string{"seeds hitting mark view_change_started", "seeds hitting mark write_error_retried", "marks never hit"} {
		if !strings.Contains(out, want) {
			t.Fatalf("summary lacks %q:\n%s", want, out)
		}
	}
	data, err := os.ReadFile(summary)
	if err != nil {
		t.Fatal(err)
	}
	var s struct{ Marks swarmMarks }
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatal(err)
	}
	// Seed 1 has write errors; neither seed opens a journal that lost its head.
	if len(s.Marks.Seeds) != len(vopr.MarkNames()) || s.Marks.Seeds["view_change_started"] == 0 ||
		s.Marks.Seeds["write_error_retried"] == 0 || !slices.Contains(s.Marks.NeverHit, "open_head_lost") ||
		slices.Contains(s.Marks.NeverHit, "write_error_retried") {
		t.Fatalf("--json marks: %+v", s.Marks)
	}
}
