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

// rawSnapshot builds a snapshot by hand, with any count and entries in
// one data page (none if there are no entries), and correct sums.
func rawSnapshot(o Options, count int, kvs ...[2]string) []byte {
	if len(kvs) == 0 {
		return rawPages(o, count)
	}
	return rawPages(o, count, kvs)
}

// rawPages builds a snapshot by hand with the given data pages.
func rawPages(o Options, count int, pages ...[][2]string) []byte {
	o, _ = o.normalized()
	size := int(pageSizeFor(o))
	b := make([]byte, size*(1+len(pages)))
	copy(b, snapshotMagic)
	for i, v := range []int{snapshotVersion, o.KeysMax, o.KeySizeMax, o.ValueSizeMax, count, len(pages), size} {
		binary.LittleEndian.PutUint32(b[8+4*i:], uint32(v))
	}
	for i, kvs := range pages {
		p := b[(1+i)*size : (2+i)*size]
		out := p[pageHeaderSize:pageHeaderSize]
		for _, kv := range kvs {
			out = appendEntry(out, []byte(kv[0]), []byte(kv[1]))
		}
		binary.LittleEndian.PutUint32(p[0:], uint32(len(kvs)))
		binary.LittleEndian.PutUint32(p[4:], uint32(len(out)))
	}
	return seal(b)
}

// seal rewrites the pages sum and the header checksum of a snapshot of
// whole pages of the page size of fuzzOptions and small.
func seal(b []byte) []byte {
	size := int(pageSizeFor(small))
	var sum vsr.U128
	for i := 1; i < len(b)/size; i++ {
		sum = sum.Add(vsr.PageChecksum(uint64(i), b[i*size:(i+1)*size]))
	}
	putSum(b[pagesSumOffset:], sum)
	putSum(b[headerSumOffset:], vsr.Checksum(b[:headerSumOffset]))
	return b
}

// TestSnapshotLayout pins the format byte by byte: a change to it must be
// a deliberate change to this test (and to the format version).
func TestSnapshotLayout(t *testing.T) {
	s := fill(t, small, [2]string{"b", "22"}, [2]string{"a", ""})
	page := "\x02\x00\x00\x00" + "\x10\x00\x00\x00" + // entries, used
		"\x01\x00" + "\x02\x00\x00\x00" + "b22" +
		"\x01\x00" + "\x00\x00\x00\x00" + "a"
	page += strings.Repeat("\x00", 4096-len(page))
	header := "govsr-kv" +
		"\x02\x00\x00\x00" + // version
		"\x03\x00\x00\x00" + "\x04\x00\x00\x00" + "\x08\x00\x00\x00" + // options
		"\x02\x00\x00\x00" + "\x01\x00\x00\x00" + "\x00\x10\x00\x00" // count, data pages, page size
	sum := vsr.PageChecksum(1, []byte(page))
	header = string(binary.LittleEndian.AppendUint64(binary.LittleEndian.AppendUint64([]byte(header), sum.Lo), sum.Hi))
	sum = vsr.Checksum([]byte(header))
	header = string(binary.LittleEndian.AppendUint64(binary.LittleEndian.AppendUint64([]byte(header), sum.Lo), sum.Hi))
	header += strings.Repeat("\x00", 4096-len(header))
	if got := s.AppendSnapshot([]byte("dst")); string(got) != "dst"+header+page {
		t.Fatalf("snapshot\n got %q\nwant %q", got[:200], "dst"+header[:197])
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
	if !maps.Equal(contents(a), contents(b)) || b.Digest() != recomputedDigest(b) ||
		!bytes.Equal(a.AppendSnapshot(nil), b.AppendSnapshot(nil)) {
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
	const entry1 = pageHeaderSize + 8 // the second entry of the first data page
	tests := []struct {
		name string
		in   []byte
		err  string
	}{
		{"empty", nil, "kv: snapshot is 0 bytes, not a positive multiple of the 4096-byte page"},
		{"header only, cut", valid[:100], "snapshot is 100 bytes"},
		{"magic", mutate(func(b []byte) []byte { b[0] = 'G'; return seal(b) }), `kv: snapshot magic is "Govsr-kv", want "govsr-kv"`},
		{"version", mutate(func(b []byte) []byte { b[8] = 1; return seal(b) }), "kv: snapshot format version is 1, want 2"},
		{"checksum", mutate(func(b []byte) []byte { b[headerSumOffset] ^= 1; return b }), "kv: snapshot checksum: computed"},
		{"header bit flip", mutate(func(b []byte) []byte { b[25] ^= 1; return b }), "kv: snapshot checksum: computed"},
		{"body bit flip", mutate(func(b []byte) []byte { b[4096+pageHeaderSize+6] ^= 0x40; return b }), "kv: snapshot pages sum: computed"},
		{"KeysMax differs", rawSnapshot(Options{4, 4, 8}, 0), "kv: snapshot was taken with KeysMax 4, this store has 3"},
		{"KeySizeMax differs", rawSnapshot(Options{3, 5, 8}, 0), "taken with KeySizeMax 5, this store has 4"},
		{"ValueSizeMax differs", rawSnapshot(Options{3, 4, 7}, 0), "taken with ValueSizeMax 7, this store has 8"},
		{"count over KeysMax", rawSnapshot(o, 4, [2]string{"a", ""}, [2]string{"b", ""}, [2]string{"c", ""}, [2]string{"d", ""}), "kv: snapshot holds 4 keys, more than KeysMax 3"},
		{"count huge", rawSnapshot(o, 1<<32-1), "holds 4294967295 keys"},
		{"count too high", rawSnapshot(o, 3, [2]string{"a", "1"}, [2]string{"b", "2"}), "kv: snapshot names 3 keys, its pages hold 2"},
		{"count too low", rawSnapshot(o, 1, [2]string{"a", "1"}, [2]string{"b", "2"}), "kv: snapshot names 1 keys, its pages hold 2"},
		{"page size", mutate(func(b []byte) []byte { b[33] = 0x20; return seal(b) }), "kv: snapshot pages are 8192 bytes, this store's 4096"},
		{"data pages", mutate(func(b []byte) []byte { b[28] = 2; return seal(b) }), "kv: snapshot names 2 data pages, holds 1"},
		{"header tail", mutate(func(b []byte) []byte { b[4095] = 1; return seal(b) }), "header page is not zero after its fields"},
		{"page used too large", mutate(func(b []byte) []byte { b[4096+5] = 0x10; return seal(b) }), "page 1 claims 4112 bytes of entries, more than its 4088"},
		{"page entries too few", mutate(func(b []byte) []byte { b[4096] = 1; return seal(b) }), "kv: snapshot page 1 has 8 bytes after its 1 entries"},
		{"page tail", mutate(func(b []byte) []byte { b[8191] = 1; return seal(b) }), "kv: snapshot page 1 is not zero after its entries"},
		{"too many pages", rawPages(o, 1, [][2]string{{"a", "1"}}, nil, nil), "kv: snapshot spreads 1 keys over 3 pages, more than they need"},
		{"empty key", rawSnapshot(o, 1, [2]string{"", "1"}), "page 1 entry 0 at offset 8: key is empty"},
		{"key too long", rawSnapshot(o, 1, [2]string{"abcde", "1"}), "page 1 entry 0 at offset 8: key is 5 bytes, more than KeySizeMax 4"},
		{"value too long", rawSnapshot(o, 2, [2]string{"a", ""}, [2]string{"b", "123456789"}), "page 1 entry 1 at offset 15: value is 9 bytes, more than ValueSizeMax 8"},
		{"duplicate", rawSnapshot(o, 2, [2]string{"a", "1"}, [2]string{"a", "2"}), `kv: snapshot holds key "a" twice`},
		{"duplicate across pages", rawPages(o, 2, [][2]string{{"a", "1"}}, [][2]string{{"a", "2"}}), `kv: snapshot holds key "a" twice`},
		{"entry truncated", mutate(func(b []byte) []byte {
			binary.LittleEndian.PutUint32(b[4096+entry1+2:], 8) // the second entry claims an 8-byte value
			return seal(b)
		}), "page 1 entry 1 at offset 16: key and value need 9 bytes, 2 left: truncated"},
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

// TestSnapshotBetweenWrites keeps two snapshot buffers up to date the way a
// replica keeps its two checkpoint areas (each from the mark it last
// returned), while keys arrive, grow (moving to other pages), shrink and
// get packed again, and across a Restore: each update must equal the whole
// snapshot, rewrite only pages it names, and name few pages when few keys
// changed.
func TestSnapshotBetweenWrites(t *testing.T) {
	o := Options{KeysMax: 500, KeySizeMax: 8, ValueSizeMax: 64}
	s := newStore(t, o)
	var areas [2][]byte
	var marks [2]uint64
	var changed []int
	for round := range 40 {
		writes := 1 + round%7*20
		for i := range writes {
			key := fmt.Sprintf("k%03d", (i*37+round*11)%500)
			apply(t, s, OperationWrite, encWrite(key, strings.Repeat("v", (round*i)%65)))
		}
		a := round % 2
		before := bytes.Clone(areas[a])
		buf := slices.Grow(areas[a], s.SnapshotSize()-len(areas[a]))
		var mark uint64
		areas[a], changed, mark = s.UpdateSnapshot(buf, marks[a], changed[:0])
		marks[a] = mark
		if want := s.AppendSnapshot(nil); !bytes.Equal(areas[a], want) {
			t.Fatalf("round %d: updated snapshot differs from the whole one", round)
		}
		checkOnlyChanged(t, s.SnapshotPageSize(), before, areas[a], changed)
		switch round {
		case 20: // a Restore invalidates every mark given before it
			if err := s.Restore(s.AppendSnapshot(nil)); err != nil {
				t.Fatal(err)
			}
		case 30: // a restored store goes on alike (its marks start over)
			restored := newStore(t, o)
			if err := restored.Restore(s.AppendSnapshot(nil)); err != nil {
				t.Fatal(err)
			}
			s, marks = restored, [2]uint64{}
		}
	}
	// Two writes to one key since an area's mark rewrite the header and
	// at most two data pages in it.
	for range 2 {
		apply(t, s, OperationWrite, encWrite("k001", "x"))
		a := len(changed) % 2
		buf := slices.Grow(areas[a], s.SnapshotSize()-len(areas[a]))
		areas[a], changed, marks[a] = s.UpdateSnapshot(buf, marks[a], changed[:0])
	}
	apply(t, s, OperationWrite, encWrite("k001", "y"))
	_, changed, _ = s.UpdateSnapshot(slices.Grow(areas[0], s.SnapshotSize()-len(areas[0])), marks[0], changed[:0])
	if len(changed) > 3 {
		t.Fatalf("one write rewrote pages %v", changed)
	}
}

// checkOnlyChanged fails unless every page of after that differs from
// before (or lies beyond it) is listed in changed.
func checkOnlyChanged(t *testing.T, page int, before, after []byte, changed []int) {
	t.Helper()
	for i := 0; i*page < len(after); i++ {
		same := (i+1)*page <= len(before) && bytes.Equal(before[i*page:(i+1)*page], after[i*page:(i+1)*page])
		if !same && !slices.Contains(changed, i) {
			t.Fatalf("page %d changed but is not listed in %v", i, changed)
		}
	}
}
