package kv

import (
	"bytes"
	"slices"
	"testing"

	"github.com/govsr/govsr/vsr"
)

// small are the bounds most tests use: small enough to reach every limit
// with a handful of operations.
var small = Options{KeysMax: 3, KeySizeMax: 4, ValueSizeMax: 8}

func newStore(t testing.TB, o Options) *Store {
	t.Helper()
	s, err := New(o)
	if err != nil {
		t.Fatalf("New(%+v): %v", o, err)
	}
	return s
}

func encRead(key string) []byte {
	b, err := EncodeRead(nil, []byte(key))
	if err != nil {
		panic(err)
	}
	return b
}

func encWrite(key, value string) []byte {
	b, err := EncodeWrite(nil, []byte(key), []byte(value))
	if err != nil {
		panic(err)
	}
	return b
}

func encCAS(key, from, to string) []byte {
	b, err := EncodeCAS(nil, []byte(key), []byte(from), []byte(to))
	if err != nil {
		panic(err)
	}
	return b
}

// apply runs one operation at the next op with an output of exactly
// ReplySizeMax bytes and decodes the reply, failing the test if the reply
// does not decode.
func apply(t testing.TB, s *Store, operation vsr.Operation, input []byte) Reply {
	t.Helper()
	out := make([]byte, s.ReplySizeMax())
	n := s.Apply(s.opLast+1, 0, operation, input, out)
	r, err := DecodeReply(out[:n])
	if err != nil {
		t.Fatalf("Apply(%s, %x) wrote reply %x: %v", operationName(operation), input, out[:n], err)
	}
	return r
}

// recomputedDigest derives the digest from the entries from scratch, in
// sorted order, to check the incrementally maintained one.
func recomputedDigest(s *Store) vsr.U128 {
	keys := make([]string, 0, len(s.entries))
	for k := range s.entries {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	fresh := &Store{entries: s.entries, scratch: s.scratch}
	for _, k := range keys {
		fresh.sum = add128(fresh.sum, vsr.Checksum(appendEntry(nil, []byte(k), s.entries[k].value)))
	}
	return fresh.Digest()
}

// contents returns the store's entries as a plain map, for comparisons.
func contents(s *Store) map[string]string {
	m := make(map[string]string, len(s.entries))
	for k, e := range s.entries {
		m[k] = string(e.value)
	}
	return m
}

// model is the reference semantics of the store, written as plainly as
// possible, for the randomized and fuzz tests to compare against.
type model struct {
	o Options
	m map[string]string
}

func newModel(o Options) *model { return &model{o: o, m: map[string]string{}} }

// apply returns the reply the store should give to a well-formed request.
func (m *model) apply(operation vsr.Operation, req request) Reply {
	key := string(req.key)
	v, found := m.m[key]
	switch operation {
	case OperationRead:
		if !found {
			return Reply{Status: StatusNotFound}
		}
		return Reply{Status: StatusOK, Value: []byte(v)}
	case OperationWrite:
		if !found && len(m.m) >= m.o.KeysMax {
			return Reply{Status: StatusFull}
		}
		m.m[key] = string(req.value)
		return Reply{Status: StatusOK}
	case OperationCAS:
		if !found {
			return Reply{Status: StatusNotFound}
		}
		if v != string(req.from) {
			return Reply{Status: StatusMismatch, Value: []byte(v)}
		}
		m.m[key] = string(req.to)
		return Reply{Status: StatusOK}
	}
	panic("model: unknown operation")
}

func replyEqual(a, b Reply) bool {
	return a.Status == b.Status && (a.Value == nil) == (b.Value == nil) && bytes.Equal(a.Value, b.Value)
}
