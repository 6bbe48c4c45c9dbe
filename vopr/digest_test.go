package vopr

import (
	"encoding/binary"
	"fmt"
	"testing"

	"github.com/govsr/govsr/faults"
	"github.com/govsr/govsr/vsr"
)

// foldBytes lays out the 65 bytes the run's digest hashes per event (the
// layout the digest has always had; foldDigest hashes it without writing it).
func foldBytes(digest vsr.U128, at uint64, kind uint8, a, b, tag uint64, message vsr.U128) []byte {
	le := binary.LittleEndian
	var buf [foldLen]byte
	le.PutUint64(buf[0:], digest.Lo)
	le.PutUint64(buf[8:], digest.Hi)
	le.PutUint64(buf[16:], at)
	buf[24] = kind
	le.PutUint64(buf[25:], a)
	le.PutUint64(buf[33:], b)
	le.PutUint64(buf[41:], tag)
	le.PutUint64(buf[49:], message.Lo)
	le.PutUint64(buf[57:], message.Hi)
	return buf[:]
}

// TestFoldDigestMatches checks foldDigest against vsr.Checksum of the bytes
// for random fields, all-zero and all-ones fields, and single bits set in
// each, so every byte of the layout (the straddling words too) counts.
func TestFoldDigestMatches(t *testing.T) {
	check := func(d vsr.U128, at uint64, kind uint8, a, b, tag uint64, m vsr.U128) {
		t.Helper()
		want := vsr.Checksum(foldBytes(d, at, kind, a, b, tag, m))
		if got := foldDigest(d, at, kind, a, b, tag, m); got != want {
			t.Fatalf("foldDigest(%v, %d, %d, %d, %d, %d, %v) = %v, want %v", d, at, kind, a, b, tag, m, got, want)
		}
	}
	rng := faults.New(7)
	word := func() uint64 { return rng.Uint64() }
	for range 20000 {
		check(vsr.U128{Lo: word(), Hi: word()}, word(), uint8(word()), word(), word(), word(), vsr.U128{Lo: word(), Hi: word()})
	}
	ones := ^uint64(0)
	check(vsr.U128{}, 0, 0, 0, 0, 0, vsr.U128{})
	check(vsr.U128{Lo: ones, Hi: ones}, ones, 0xff, ones, ones, ones, vsr.U128{Lo: ones, Hi: ones})
	for bit := range 64 {
		v := uint64(1) << bit
		check(vsr.U128{Lo: v}, 0, 0, 0, 0, 0, vsr.U128{})
		check(vsr.U128{Hi: v}, 0, 0, 0, 0, 0, vsr.U128{})
		check(vsr.U128{}, v, 0, 0, 0, 0, vsr.U128{})
		check(vsr.U128{}, 0, uint8(v), 0, 0, 0, vsr.U128{})
		check(vsr.U128{}, 0, 0, v, 0, 0, vsr.U128{})
		check(vsr.U128{}, 0, 0, 0, v, 0, vsr.U128{})
		check(vsr.U128{}, 0, 0, 0, 0, v, vsr.U128{})
		check(vsr.U128{}, 0, 0, 0, 0, 0, vsr.U128{Lo: v})
		check(vsr.U128{}, 0, 0, 0, 0, 0, vsr.U128{Hi: v})
	}
}

// TestKeyAndValueNames pins the workload's key and value names to the
// format they always had ("k%d", "c%d.%d"): they are in every request, so
// in every run's digest.
func TestKeyAndValueNames(t *testing.T) {
	var o Options
	for _, n := range []int{0, 1, 9, 10, 12345, -3} {
		if got, want := o.keyName(n), fmt.Sprintf("k%d", n); got != want {
			t.Fatalf("keyName(%d) = %q, want %q", n, got, want)
		}
		if got, want := o.valueOf(n, n*7+1), fmt.Sprintf("c%d.%d", n, n*7+1); got != want {
			t.Fatalf("valueOf(%d, %d) = %q, want %q", n, n*7+1, got, want)
		}
	}
}
