package kv

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/govsr/govsr/vsr"
)

// rawSnapshot builds a snapshot by hand, with any count and entries, and a
// correct checksum.
func rawSnapshot(o Options, count int, kvs ...[2]string) []byte {
	b := []byte(snapshotMagic)
	for _, v := range []int{snapshotVersion, o.KeysMax, o.KeySizeMax, o.ValueSizeMax, count} {
		b = binary.LittleEndian.AppendUint32(b, uint32(v))
	}
	for _, kv := range kvs {
		b = appendEntry(b, []byte(kv[0]), []byte(kv[1]))
	}
	return seal(append(b, make([]byte, snapshotTrailerSize)...))
}

// seal rewrites the trailing checksum of a snapshot of at least 16 bytes.
func seal(b []byte) []byte {
	end := len(b) - snapshotTrailerSize
	sum := vsr.Checksum(b[:end])
	binary.LittleEndian.PutUint64(b[end:], sum.Lo)
	binary.LittleEndian.PutUint64(b[end+8:], sum.Hi)
	return b
}

// TestSnapshotLayout pins the format byte by byte: a change to it must be
// a deliberate change to this test (and to the format version).
func TestSnapshotLayout(t *testing.T) {
	s := fill(t, small, [2]string{"b", "22"}, [2]string{"a", ""})
	want := "govsr-kv" +
		"\x01\x00\x00\x00" + // version
		"\x03\x00\x00\x00" + "\x04\x00\x00\x00" + "\x08\x00\x00\x00" + // options
		"\x02\x00\x00\x00" + // count
		"\x01\x00" + "\x00\x00\x00\x00" + "a" +
		"\x01\x00" + "\x02\x00\x00\x00" + "b22"
	sum := vsr.Checksum([]byte(want))
	want = string(binary.LittleEndian.AppendUint64(binary.LittleEndian.AppendUint64([]byte(want), sum.Lo), sum.Hi))
	if got := s.AppendSnapshot([]byte("dst")); string(got) != "dst"+want {
		t.Fatalf("snapshot\n got %q\nwant %q", got, "dst"+want)
	}
}

func TestSnapshotRoundTrip(t *testing.T) {
	big := Options{KeysMax: 1000, KeySizeMax: 16, ValueSizeMax: 100}
	var many [][2]string
	for i := range 1000 {
		many = append(many, [2]string{fmt.Sprintf("k%04d", (i*7919)%1000), strings.Repeat("v", i%101)})
	}
	stores := map[string]*Store{
		"empty":    fill(t, small),
		"one":      fill(t, small, [2]string{"a", "1"}),
		"full":     fill(t, small, [2]string{"c", ""}, [2]string{"aaaa", "12345678"}, [2]string{"b", "x"}),
		"binary":   fill(t, small, [2]string{"\x00", "\xff"}, [2]string{"\xff\xff", "\x00"}, [2]string{"\x00\x00", ""}),
		"1000keys": fill(t, big, many...),
	}
	for _, name := range []string{"empty", "one", "full", "binary", "1000keys"} {
		t.Run(name, func(t *testing.T) {
			src := stores[name]
			snap := src.AppendSnapshot(nil)
			// Restore into a store that already holds something else.
			dst := fill(t, src.Options(), [2]string{"zz", "old"})
			dst.opLast = 99
			if err := dst.Restore(snap); err != nil {
				t.Fatalf("Restore: %v", err)
			}
			if !maps.Equal(contents(dst), contents(src)) {
				t.Fatalf("contents differ:\n got %v\nwant %v", contents(dst), contents(src))
			}
			if dst.Digest() != src.Digest() || dst.Digest() != recomputedDigest(dst) {
				t.Fatalf("digest %s, want %s (recomputed %s)", dst.Digest(), src.Digest(), recomputedDigest(dst))
			}
			if again := dst.AppendSnapshot(nil); !bytes.Equal(again, snap) {
				t.Fatal("re-snapshot differs")
			}
			if dst.opLast != 0 {
				t.Fatalf("Restore left opLast %d", dst.opLast)
			}
			// The restored store must go on exactly like the original.
			checkSameFuture(t, src, dst)
		})
	}
}

// checkSameFuture applies the same operations to a and b, over every key
// they hold plus new ones, and compares replies and digests throughout.
func checkSameFuture(t *testing.T, a, b *Store) {
	t.Helper()
	keys := []string{"new", "a"}
	for k := range contents(a) {
		keys = append(keys, k)
	}
	for i, k := range keys {
		v := strings.Repeat("w", i%(a.options.ValueSizeMax+1))
		for _, op := range []struct {
			operation vsr.Operation
			input     []byte
		}{
			{OperationWrite, encWrite(k, v)},
			{OperationCAS, encCAS(k, v, "")},
			{OperationWrite, encWrite(k, v+v)}, // may be invalid, may grow the buffer
			{OperationRead, encRead(k)},
		} {
			ra, rb := apply(t, a, op.operation, op.input), apply(t, b, op.operation, op.input)
			if !replyEqual(ra, rb) || a.Digest() != b.Digest() {
				t.Fatalf("%s %q: replies %s %q vs %s %q, digests %s vs %s", operationName(op.operation), k,
					ra.Status, ra.Value, rb.Status, rb.Value, a.Digest(), b.Digest())
			}
		}
	}
	if !maps.Equal(contents(a), contents(b)) || b.Digest() != recomputedDigest(b) {
		t.Fatal("stores diverged")
	}
}

// TestRestoreValuesDoNotOverlap: restored values share one buffer; growing
// or shrinking one must never touch its neighbours.
func TestRestoreValuesDoNotOverlap(t *testing.T) {
	src := fill(t, small, [2]string{"a", "11"}, [2]string{"b", "22"}, [2]string{"c", "33"})
	s := newStore(t, small)
	if err := s.Restore(src.AppendSnapshot(nil)); err != nil {
		t.Fatal(err)
	}
	apply(t, s, OperationWrite, encWrite("b", "4444"))
	apply(t, s, OperationWrite, encWrite("a", "5"))
	apply(t, s, OperationWrite, encWrite("a", "666"))
	want := map[string]string{"a": "666", "b": "4444", "c": "33"}
	if got := contents(s); !maps.Equal(got, want) {
		t.Fatalf("contents %v, want %v", got, want)
	}
	if s.Digest() != recomputedDigest(s) {
		t.Fatal("digest out of step")
	}
}

func TestRestoreRejects(t *testing.T) {
	o := small
	valid := rawSnapshot(o, 2, [2]string{"a", "1"}, [2]string{"b", "2"})
	mutate := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(valid)) }
	tests := []struct {
		name string
		in   []byte
		err  string
	}{
		{"empty", nil, "kv: snapshot is 0 bytes, shorter than its 44-byte header and checksum"},
		{"header only", valid[:snapshotHeaderSize], "snapshot is 28 bytes"},
		{"magic", mutate(func(b []byte) []byte { b[0] = 'G'; return seal(b) }), `kv: snapshot magic is "Govsr-kv", want "govsr-kv"`},
		{"version", mutate(func(b []byte) []byte { b[8] = 2; return seal(b) }), "kv: snapshot format version is 2, want 1"},
		{"checksum", mutate(func(b []byte) []byte { b[len(b)-1] ^= 1; return b }), "kv: snapshot checksum: computed"},
		{"body bit flip", mutate(func(b []byte) []byte { b[snapshotHeaderSize+6] ^= 0x40; return b }), "snapshot checksum"},
		{"KeysMax differs", rawSnapshot(Options{4, 4, 8}, 0), "kv: snapshot was taken with KeysMax 4, this store has 3"},
		{"KeySizeMax differs", rawSnapshot(Options{3, 5, 8}, 0), "taken with KeySizeMax 5, this store has 4"},
		{"ValueSizeMax differs", rawSnapshot(Options{3, 4, 7}, 0), "taken with ValueSizeMax 7, this store has 8"},
		{"count over KeysMax", rawSnapshot(o, 4, [2]string{"a", ""}, [2]string{"b", ""}, [2]string{"c", ""}, [2]string{"d", ""}), "kv: snapshot holds 4 keys, more than KeysMax 3"},
		{"count huge", rawSnapshot(o, 1<<32-1), "holds 4294967295 keys"},
		{"count too high", rawSnapshot(o, 3, [2]string{"a", "1"}, [2]string{"b", "2"}), "kv: snapshot entry 2 at offset 44: 0 bytes left, shorter than an entry header"},
		{"count too low", rawSnapshot(o, 1, [2]string{"a", "1"}, [2]string{"b", "2"}), "kv: snapshot has 8 bytes after its 1 entries"},
		{"trailing bytes", seal(append(rawSnapshot(o, 1, [2]string{"a", "1"})[:36], "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"...)), "has 1 bytes after its 1 entries"},
		{"empty key", rawSnapshot(o, 1, [2]string{"", "1"}), "entry 0 at offset 28: key is empty"},
		{"key too long", rawSnapshot(o, 1, [2]string{"abcde", "1"}), "entry 0 at offset 28: key is 5 bytes, more than KeySizeMax 4"},
		{"value too long", rawSnapshot(o, 2, [2]string{"a", ""}, [2]string{"b", "123456789"}), "entry 1 at offset 35: value is 9 bytes, more than ValueSizeMax 8"},
		{"unsorted", rawSnapshot(o, 2, [2]string{"b", "1"}, [2]string{"a", "2"}), `entry 1 at offset 36: key "a" is not after the previous key "b": unsorted or duplicate`},
		{"duplicate", rawSnapshot(o, 2, [2]string{"a", "1"}, [2]string{"a", "2"}), `key "a" is not after the previous key "a"`},
		{"prefix before longer is sorted, longer first is not", rawSnapshot(o, 2, [2]string{"ab", ""}, [2]string{"a", ""}), "unsorted or duplicate"},
		{"entry truncated", mutate(func(b []byte) []byte {
			binary.LittleEndian.PutUint32(b[snapshotHeaderSize+8+2:], 8) // the second entry (at 36) claims an 8-byte value
			return seal(b)
		}), "entry 1 at offset 36: key and value need 9 bytes, 2 left: truncated"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkRejected(t, o, tt.in, tt.err)
		})
	}
}

// checkRejected restores in into a non-empty store and checks that it is
// refused with an error containing want and leaves the store as it was.
func checkRejected(t *testing.T, o Options, in []byte, want string) {
	t.Helper()
	s := fill(t, o, [2]string{"keep", "me"})
	s.opLast = 7
	digest, snap := s.Digest(), s.AppendSnapshot(nil)
	err := s.Restore(in)
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("Restore error = %v, want one containing %q", err, want)
	}
	if strings.Contains(err.Error(), "\n") {
		t.Fatalf("error spans lines: %q", err)
	}
	if s.Digest() != digest || !bytes.Equal(s.AppendSnapshot(nil), snap) || s.opLast != 7 {
		t.Fatal("a refused Restore changed the store")
	}
}

// TestRestoreRejectsEveryCorruption cuts a valid snapshot at every length
// and flips every bit of it: each must be refused.
func TestRestoreRejectsEveryCorruption(t *testing.T) {
	src := fill(t, small, [2]string{"a", "1"}, [2]string{"bb", ""}, [2]string{"ccc", "xyz"})
	valid := src.AppendSnapshot(nil)
	if err := newStore(t, small).Restore(valid); err != nil {
		t.Fatalf("valid snapshot refused: %v", err)
	}
	for n := range len(valid) {
		checkRejected(t, small, valid[:n], "kv: snapshot")
	}
	checkRejected(t, small, append(bytes.Clone(valid), 0), "kv: snapshot")
	for bit := range len(valid) * 8 {
		b := bytes.Clone(valid)
		b[bit/8] ^= 1 << (bit % 8)
		checkRejected(t, small, b, "kv: snapshot")
	}
}

func TestAppendSnapshotAppends(t *testing.T) {
	s := fill(t, small, [2]string{"a", "1"})
	alone := s.AppendSnapshot(nil)
	prefix := []byte("some earlier bytes")
	got := s.AppendSnapshot(bytes.Clone(prefix))
	if !bytes.Equal(got[:len(prefix)], prefix) || !bytes.Equal(got[len(prefix):], alone) {
		t.Fatal("AppendSnapshot with a prefix differs from the snapshot alone")
	}
}

// TestSnapshotBetweenWrites takes snapshots while keys keep arriving (the
// key index sorts only the new ones and merges them in), and after a
// Restore: each must equal the snapshot of a store that got the same
// contents in one go, in another order.
func TestSnapshotBetweenWrites(t *testing.T) {
	o := Options{KeysMax: 500, KeySizeMax: 8, ValueSizeMax: 8}
	s := newStore(t, o)
	want := map[string]string{}
	for round := range 10 {
		for i := range 50 {
			key := fmt.Sprintf("k%03d", (i*37+round*11)%500) // new keys and overwrites, out of order
			value := fmt.Sprintf("v%d", round)
			apply(t, s, OperationWrite, encWrite(key, value))
			want[key] = value
		}
		fresh := newStore(t, o)
		for _, key := range slices.Backward(slices.Sorted(maps.Keys(want))) {
			apply(t, fresh, OperationWrite, encWrite(key, want[key]))
		}
		if got, exp := s.AppendSnapshot(nil), fresh.AppendSnapshot(nil); !bytes.Equal(got, exp) {
			t.Fatalf("round %d: snapshot of %d keys differs from a fresh store's", round, len(want))
		}
		if round == 5 { // a restored store goes on from its snapshot's order
			restored := newStore(t, o)
			if err := restored.Restore(s.AppendSnapshot(nil)); err != nil {
				t.Fatal(err)
			}
			s = restored
		}
	}
}
