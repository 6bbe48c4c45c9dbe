package tidy

import (
	"os/exec"
	"path/filepath"
	"testing"
)

// TestMutantsApply: every planted bug in scripts/mutants applies to today's
// code. A patch that no longer applies is a mutant the mutation score
// cannot run (it would report it, but only when run); the code it plants
// its bug in moved, and the patch must be refreshed, never dropped.
func TestMutantsApply(t *testing.T) {
	git, err := exec.LookPath("git")
	if err != nil {
		t.Skip("git is not installed: patches cannot be checked")
	}
	patches, err := filepath.Glob(filepath.Join(moduleRoot, "scripts", "mutants", "*.patch"))
	if err != nil {
		t.Fatal(err)
	}
	if len(patches) < 15 {
		t.Fatalf("scripts/mutants holds %d patches; the mutation score needs at least 15", len(patches))
	}
	for _, patch := range patches {
		abs, err := filepath.Abs(patch)
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(git, "apply", "--check", abs)
		cmd.Dir = moduleRoot
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("%s does not apply: %v\n%s", filepath.Base(patch), err, out)
		}
	}
}
