package vopr

import (
	"path/filepath"
	"testing"
)

// TestCorpus replays every seed report in corpus/: each is a bug the
// simulator found and that was fixed, so each must now pass. (The digest
// is not compared: fixing the bug changed the run.)
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
		})
	}
}
