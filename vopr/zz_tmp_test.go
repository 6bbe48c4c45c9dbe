package vopr

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/govsr/govsr/vsr"
)

func TestTmpBugs(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(scenarioDir, "*.txt"))
	for b := vsr.BugNone + 1; b < 20; b++ {
		if b.String() == "bug(?)" {
			break
		}
		for _, f := range files {
			text, _ := os.ReadFile(f)
			_, err := RunScenario(filepath.Base(f), text, b.String())
			msg := "PASS"
			if err != nil {
				lines := strings.Split(err.Error(), "\n")
				msg = lines[0] + " | " + lines[1]
				if len(msg) > 250 { msg = msg[:250] }
			}
			t.Logf("%s %s: %s", b, filepath.Base(f), msg)
		}
	}
}
