package kv

import (
	"bytes"
	"maps"
	"math/rand/v2"
	"testing"
)

// fill writes every pair of kvs, in order, to a fresh store.
func fill(t testing.TB, o Options, kvs ...[2]string) *Store {
	t.Helper()
	s := newStore(t, o)
	for _, kv := range kvs {
		if r := apply(t, s, OperationWrite, encWrite(kv[0], kv[1])); r.Status != StatusOK {
			t.Fatalf("write %q=%q: %s", kv[0], kv[1], r.Status)
		}
	}
	return s
}

func TestDigestOrderIndependent(t *testing.T) {
	o := Options{KeysMax: 64}
	var kvs [][2]string
	for i := range 40 {
		kvs = append(kvs, [2]string{string(rune('A' + i)), string(bytes.Repeat([]byte{byte(i)}, i%7))})
	}
	want := fill(t, o, kvs...)
	rng := rand.New(rand.NewChaCha8([32]byte{1}))
	for trial := range 20 {
		shuffled := append([][2]string(nil), kvs...)
		rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		// Write junk to some keys first, so the store reaches the same
		// contents through overwrites as well as fresh inserts.
		var path [][2]string
		for _, kv := range shuffled[:trial] {
			path = append(path, [2]string{kv[0], "junk"})
		}
		got := fill(t, o, append(path, shuffled...)...)
		if got.Digest() != want.Digest() {
			t.Fatalf("trial %d: digest %s, want %s", trial, got.Digest(), want.Digest())
		}
		if !maps.Equal(contents(got), contents(want)) {
			t.Fatalf("trial %d: contents differ", trial)
		}
	}
}

func TestDigestDistinguishes(t *testing.T) {
	o := Options{}
	tests := []struct {
		name string
		a, b [][2]string
	}{
		{"empty vs one key", nil, [][2]string{{"a", ""}}},
		{"value differs", [][2]string{{"a", "1"}}, [][2]string{{"a", "2"}}},
		{"key differs", [][2]string{{"a", "1"}}, [][2]string{{"b", "1"}}},
		{"key/value boundary", [][2]string{{"ab", "c"}}, [][2]string{{"a", "bc"}}},
		{"empty value vs missing", [][2]string{{"a", "1"}, {"b", ""}}, [][2]string{{"a", "1"}}},
		{"swapped values", [][2]string{{"a", "1"}, {"b", "2"}}, [][2]string{{"a", "2"}, {"b", "1"}}},
		{"pair vs merged", [][2]string{{"a", "1"}, {"b", "2"}}, [][2]string{{"ab", "12"}}},
		{"trailing zero", [][2]string{{"a", "1"}}, [][2]string{{"a", "1\x00"}}},
	}
	for _, tt := range tests {
		a, b := fill(t, o, tt.a...), fill(t, o, tt.b...)
		if a.Digest() == b.Digest() {
			t.Errorf("%s: equal digests %s", tt.name, a.Digest())
		}
	}
	if fill(t, o).Digest().IsZero() {
		t.Error("the empty store's digest is zero")
	}
}

func TestDigestOverwriteBack(t *testing.T) {
	s := fill(t, Options{}, [2]string{"a", "1"}, [2]string{"b", "2"})
	before := s.Digest()
	apply(t, s, OperationWrite, encWrite("a", "a much longer value than before"))
	if s.Digest() == before {
		t.Fatal("overwrite did not change the digest")
	}
	apply(t, s, OperationWrite, encWrite("a", "1"))
	if s.Digest() != before {
		t.Fatalf("writing the old value back: digest %s, want %s", s.Digest(), before)
	}
	apply(t, s, OperationCAS, encCAS("b", "2", "3"))
	apply(t, s, OperationCAS, encCAS("b", "3", "2"))
	if s.Digest() != before {
		t.Fatalf("cas there and back: digest %s, want %s", s.Digest(), before)
	}
}

func TestDigestDoesNotAllocate(t *testing.T) {
	s := fill(t, Options{}, [2]string{"a", "1"})
	if n := testing.AllocsPerRun(100, func() { s.Digest() }); n != 0 {
		t.Fatalf("%v allocations per Digest", n)
	}
}
