package kv

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/govsr/govsr/vsr"
)

// randomOp draws one operation over a small key and value space, so that
// reads hit, cas matches, and the store fills up; one in ten inputs is
// mangled or oversized so that invalid replies are exercised too.
func randomOp(rng *rand.Rand, o Options) (vsr.Operation, []byte) {
	keys := []string{"a", "b", "c", "dd", "eee", "ffff", "g", "hh", "i", "j", "k", "l"}
	values := []string{"", "1", "22", "333", "12345678"}
	key := keys[rng.IntN(len(keys))]
	value := func() string { return values[rng.IntN(len(values))] }
	var operation vsr.Operation
	var input []byte
	switch rng.IntN(3) {
	case 0:
		operation, input = OperationRead, encRead(key)
	case 1:
		operation, input = OperationWrite, encWrite(key, value())
	default:
		operation, input = OperationCAS, encCAS(key, value(), value())
	}
	switch rng.IntN(40) {
	case 0:
		input = input[:rng.IntN(len(input))]
	case 1:
		input = append(input, byte(rng.Uint32()))
	case 2:
		input[rng.IntN(len(input))] ^= byte(1 << rng.IntN(8))
	case 3:
		operation = vsr.Operation(rng.Uint32())
	case 4:
		input = encWrite("toolong", value()) // a key over KeySizeMax 4
	}
	return operation, input
}

// TestDeterminism feeds two stores, and a reference model, the same random
// operations: replies, digests and snapshots must agree at every step. A
// third store restored from a snapshot halfway joins in and must agree from
// then on.
func TestDeterminism(t *testing.T) {
	o := Options{KeysMax: 8, KeySizeMax: 4, ValueSizeMax: 8}
	a, b, m := newStore(t, o), newStore(t, o), newModel(o)
	var c *Store
	rng := rand.New(rand.NewChaCha8([32]byte{'k', 'v'}))
	const steps = 20_000
	statuses := map[Status]int{}
	for i := range steps {
		operation, input := randomOp(rng, o)
		ra, rb := apply(t, a, operation, input), apply(t, b, operation, input)
		if !replyEqual(ra, rb) || a.Digest() != b.Digest() {
			t.Fatalf("step %d: stores disagree: %+v vs %+v", i, ra, rb)
		}
		statuses[ra.Status]++
		checkAgainstModel(t, a, m, operation, input, ra)
		if c != nil {
			if rc := apply(t, c, operation, input); !replyEqual(ra, rc) || a.Digest() != c.Digest() {
				t.Fatalf("step %d: restored store disagrees: %+v vs %+v", i, ra, rc)
			}
		}
		if i%1000 == 999 {
			sa, sb := a.AppendSnapshot(nil), b.AppendSnapshot(nil)
			if !bytes.Equal(sa, sb) || a.Digest() != recomputedDigest(a) {
				t.Fatalf("step %d: snapshots or digest differ", i)
			}
			if i == steps/2-1 {
				c = newStore(t, o)
				if err := c.Restore(sa); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	// The test is only as good as its coverage: every status must occur.
	for s := StatusOK; s < statusCount; s++ {
		if statuses[s] < 50 {
			t.Errorf("status %s occurred %d times in %d steps", s, statuses[s], steps)
		}
	}
}

// checkAgainstModel checks one reply of s against the reference model and
// that InputValid agrees with the reply's status.
func checkAgainstModel(t testing.TB, s *Store, m *model, operation vsr.Operation, input []byte, got Reply) {
	t.Helper()
	valid := s.InputValid(operation, input) == nil
	if valid != (got.Status != StatusInvalid) {
		t.Fatalf("InputValid(%d, %x) = %v but reply %s", operation, input, s.InputValid(operation, input), got.Status)
	}
	if !valid {
		return
	}
	req, _ := s.options.parse(operation, input)
	if want := m.apply(operation, req); !replyEqual(got, want) {
		t.Fatalf("%s %x: reply %s %q, model %s %q", operationName(operation), input, got.Status, got.Value, want.Status, want.Value)
	}
	if len(m.m) != s.Len() {
		t.Fatalf("%d keys, model %d", s.Len(), len(m.m))
	}
}
