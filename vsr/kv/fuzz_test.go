package kv

import (
	"bytes"
	"flag"
	"maps"
	"testing"

	"github.com/govsr/govsr/internal/fuzzcorpus"

	"github.com/govsr/govsr/vsr"
)

var writeCorpus = flag.Bool("write-corpus", false, "rewrite the committed seed corpora under testdata/fuzz")

// fuzzOptions are small so that the fuzzer reaches every bound (a full
// store, the largest key and value) with short inputs.
var fuzzOptions = Options{KeysMax: 4, KeySizeMax: 4, ValueSizeMax: 8}

// FuzzApply reads its bytes as a sequence of steps, each a selector byte, a
// length byte and that many input bytes (fewer at the end). Selectors 0, 1
// and 2 are read, write and cas; any other selector is itself the
// operation, mostly unknown ones. Apply must never panic, every reply must
// decode, InputValid must be nil exactly when the reply is not invalid,
// valid replies must match the reference model, the digest must match a
// recomputation, and the final state must survive a snapshot round trip.
func FuzzApply(f *testing.F) {
	for _, s := range applySeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, m := newStore(t, fuzzOptions), newModel(fuzzOptions)
		forEachStep(data, func(operation vsr.Operation, input []byte) {
			checkAgainstModel(t, s, m, operation, input, apply(t, s, operation, input))
		})
		if s.Digest() != recomputedDigest(s) {
			t.Fatalf("digest %s, recomputed %s", s.Digest(), recomputedDigest(s))
		}
		snap := s.AppendSnapshot(nil)
		r := newStore(t, fuzzOptions)
		if err := r.Restore(snap); err != nil {
			t.Fatalf("Restore of a fresh snapshot: %v", err)
		}
		if r.Digest() != s.Digest() || !bytes.Equal(r.AppendSnapshot(nil), snap) || !maps.Equal(contents(r), contents(s)) {
			t.Fatal("snapshot round trip changed the state")
		}
	})
}

// applyStep encodes one FuzzApply step.
func applyStep(selector byte, input []byte) []byte {
	if len(input) > 255 {
		panic("step input too long")
	}
	return append([]byte{selector, byte(len(input))}, input...)
}

// applySeeds are scripts that reach every status, and a few malformed
// inputs, so the fuzzer starts from meaningful operations.
func applySeeds() [][]byte {
	const read, write, cas = 0, 1, 2
	script := func(steps ...[]byte) []byte { return bytes.Join(steps, nil) }
	return [][]byte{
		nil,
		script(
			applyStep(read, encRead("a")),
			applyStep(write, encWrite("a", "1")),
			applyStep(read, encRead("a")),
			applyStep(cas, encCAS("a", "1", "22")),
			applyStep(cas, encCAS("a", "1", "3")),
			applyStep(cas, encCAS("b", "", "3")),
		),
		script(
			applyStep(write, encWrite("a", "")),
			applyStep(write, encWrite("bb", "12345678")),
			applyStep(write, encWrite("ccc", "x")),
			applyStep(write, encWrite("dddd", "y")),
			applyStep(write, encWrite("e", "full")),
			applyStep(write, encWrite("a", "still ok")),
		),
		script(
			applyStep(read, nil),
			applyStep(read, input(0, nil, "")),
			applyStep(write, input(5, []uint32{0}, "abcde")),
			applyStep(write, input(1, []uint32{9}, "a123456789")),
			applyStep(cas, input(1, []uint32{1, 1}, "ab")),
			applyStep(cas, append(encCAS("a", "", ""), 0)),
			applyStep(byte(OperationCAS)+1, encRead("a")),
			applyStep(0xff, nil),
		),
	}
}

// forEachStep splits FuzzApply's bytes into steps and calls f on each.
func forEachStep(data []byte, f func(operation vsr.Operation, input []byte)) {
	for len(data) >= 2 {
		operation := vsr.Operation(data[0])
		if data[0] <= 2 {
			operation = OperationRead + vsr.Operation(data[0])
		}
		n := min(int(data[1]), len(data)-2)
		f(operation, data[2:2+n])
		data = data[2+n:]
	}
}

// FuzzRestore feeds arbitrary bytes to Restore on a store that holds a key.
// It must never panic; a refused snapshot must leave the store unchanged;
// an accepted one must come back from AppendSnapshot byte for byte, with
// a digest that matches a recomputation. Random bytes almost never carry a
// valid checksum, so each input is also tried with its checksum resealed,
// which lets the fuzzer reach the checks behind it.
func FuzzRestore(f *testing.F) {
	for _, s := range restoreSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		restoreAndCompare(t, data)
		if len(data) >= snapshotHeaderSize && len(data)%int(pageSizeFor(fuzzOptions)) == 0 {
			restoreAndCompare(t, seal(bytes.Clone(data)))
		}
	})
}

func restoreAndCompare(t *testing.T, data []byte) {
	s := newStore(t, fuzzOptions)
	apply(t, s, OperationWrite, encWrite("keep", "me"))
	digest, before := s.Digest(), s.AppendSnapshot(nil)
	if err := s.Restore(data); err != nil {
		if err.Error() == "" {
			t.Fatal("empty error")
		}
		if s.Digest() != digest || !bytes.Equal(s.AppendSnapshot(nil), before) {
			t.Fatalf("refused Restore (%v) changed the store", err)
		}
		return
	}
	if got := s.AppendSnapshot(nil); !bytes.Equal(got, data) {
		t.Fatalf("accepted snapshot re-encodes differently:\n got %x\nwant %x", got, data)
	}
	if s.Digest() != recomputedDigest(s) {
		t.Fatal("restored digest differs from a recomputation")
	}
	// The restored store must be usable: a write then a read.
	if r := apply(t, s, OperationWrite, encWrite("z", "1")); r.Status != StatusOK && r.Status != StatusFull {
		t.Fatalf("write after Restore: %s", r.Status)
	}
}

// restoreSeeds are valid snapshots of a few stores under fuzzOptions and
// some near misses.
func restoreSeeds() [][]byte {
	snap := func(kvs ...[2]string) []byte { return rawSnapshot(fuzzOptions, len(kvs), kvs...) }
	full := snap([2]string{"a", ""}, [2]string{"bb", "12345678"}, [2]string{"ccc", "x"}, [2]string{"dddd", "\x00"})
	return [][]byte{
		nil,
		snap(),
		snap([2]string{"k", "v"}),
		full,
		full[:len(full)-1],
		snap([2]string{"b", "1"}, [2]string{"a", "2"}),
		snap([2]string{"a", "1"}, [2]string{"a", "2"}),
		rawSnapshot(fuzzOptions, 3, [2]string{"a", "1"}),
		rawSnapshot(Options{KeysMax: 5, KeySizeMax: 4, ValueSizeMax: 8}, 0),
	}
}

// TestCommittedFuzzCorpus checks that the seed corpora under testdata/fuzz
// exist and hold what applySeeds and restoreSeeds produce; run
// `go test ./vsr/kv -run TestCommittedFuzzCorpus -write-corpus` to rewrite
// them after changing the seeds.
func TestCommittedFuzzCorpus(t *testing.T) {
	fuzzcorpus.Check(t, map[string][][]byte{"FuzzApply": applySeeds(), "FuzzRestore": restoreSeeds()},
		*writeCorpus, "run go test ./vsr/kv -run TestCommittedFuzzCorpus -write-corpus")
}

// TestFuzzSeedsReachEverything checks that the FuzzApply seeds produce every
// status and the FuzzRestore seeds include accepted and refused snapshots,
// so the corpus starts the fuzzer from every branch.
func TestFuzzSeedsReachEverything(t *testing.T) {
	statuses := map[Status]bool{}
	for _, data := range applySeeds() {
		s := newStore(t, fuzzOptions)
		forEachStep(data, func(operation vsr.Operation, input []byte) {
			statuses[apply(t, s, operation, input).Status] = true
		})
	}
	for st := StatusOK; st < statusCount; st++ {
		if !statuses[st] {
			t.Errorf("no FuzzApply seed reaches status %s", st)
		}
	}
	accepted, refused := 0, 0
	for _, data := range restoreSeeds() {
		if newStore(t, fuzzOptions).Restore(data) == nil {
			accepted++
		} else {
			refused++
		}
	}
	if accepted < 3 || refused < 3 {
		t.Errorf("FuzzRestore seeds: %d accepted, %d refused; want at least 3 of each", accepted, refused)
	}
}
