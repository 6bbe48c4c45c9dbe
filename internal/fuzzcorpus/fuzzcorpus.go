// Package fuzzcorpus keeps a package's committed fuzz seed corpora in step
// with the seeds its tests generate: tests call Check, and rewrite the files
// with -write-corpus after changing the seeds.
package fuzzcorpus

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"testing"
)

// File returns the contents of a `go test fuzz v1` corpus file holding one
// []byte argument.
func File(data []byte) []byte {
	return fmt.Appendf(nil, "go test fuzz v1\n[]byte(%q)\n", data)
}

// Check compares each file testdata/fuzz/<target>/seed-NN with seed NN of
// seeds[target], for every target, or writes them if write is set. The
// rewrite command goes into the failure message.
func Check(t testing.TB, seeds map[string][][]byte, write bool, rewrite string) {
	t.Helper()
	targets := make([]string, 0, len(seeds))
	for target := range seeds {
		targets = append(targets, target)
	}
	sort.Strings(targets)
	for _, target := range targets {
		for i, data := range seeds[target] {
			path := filepath.Join("testdata", "fuzz", target, fmt.Sprintf("seed-%02d", i))
			if write {
				writeFile(t, path, File(data))
				continue
			}
			got, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("seed corpus missing (%s): %v", rewrite, err)
			}
			if !bytes.Equal(got, File(data)) {
				t.Errorf("%s is stale: %s", path, rewrite)
			}
		}
	}
}

func writeFile(t testing.TB, path string, contents []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, contents, 0o644); err != nil {
		t.Fatal(err)
	}
}
