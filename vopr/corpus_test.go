package vopr

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// TestCorpus replays every seed report in corpus/: each is a bug the
// simulator found and that was fixed, so each must now pass. (The digest
// is not compared: fixing the bug changed the run.) And each must still
// take its bug's path: the replay must hit every coverage mark the report
// names, or the seed went stale as the code moved and tests nothing.
func TestCorpus(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "corpus", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("corpus/ holds no seed reports")
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			report, err := LoadReport(file)
			if err != nil {
				t.Fatal(err)
			}
			report.Options.Checks.Off = knownBrokenChecks()
			res, _, err := Replay(report, nil, logNone)
			if err != nil {
				t.Fatal(err)
			}
			if res.Class != Pass {
				t.Fatalf("seed %d (recorded %s: %s) fails again: %s: %s",
					report.Seed, report.Class, firstLine(report.Message), res.Class, firstLine(res.Message))
			}
			if msg := staleCorpusEntry(&report, res); msg != "" {
				t.Fatal(msg)
			}
		})
	}
}

// staleCorpusEntry says what is wrong with a corpus entry whose replay
// passed: it names no marks, or its replay no longer hits them.
func staleCorpusEntry(report *Report, res *Result) string {
	if report.Marks == nil {
		return fmt.Sprintf(`seed %d names no "marks": list the coverage marks its bug's path needs `+
			`(its replay hits: %s), or [] if that path is normal operation`, report.Seed, res.MarksSummary())
	}
	missing := res.MissingMarks(report.Marks)
	if len(missing) == 0 {
		return ""
	}
	return fmt.Sprintf("seed %d no longer hits mark(s) %s that its bug's path needs (it hits: %s): the seed went stale; "+
		"regenerate it with `vopr --until-mark %s --from %d` (with the fault kinds it forces) or turn it into a scenario",
		report.Seed, strings.Join(missing, ", "), res.MarksSummary(), missing[0], report.Seed)
}
