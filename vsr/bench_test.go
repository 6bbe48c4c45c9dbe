package vsr

import (
	"crypto/sha256"
	"testing"

	"github.com/zeebo/blake3"
	"github.com/zeebo/xxh3"
)

// benchSizes are the body sizes the wire-format benchmarks measure: a small
// request, a page, and a large batch or checkpoint chunk.
var benchSizes = []struct {
	name string
	size int
}{{"128B", 128}, {"4KiB", 4 << 10}, {"1MiB", 1 << 20}}

// BenchmarkChecksum compares the candidate 128-bit checksums (DESIGN.md).
// Run: go test ./vsr -run '^$' -bench Checksum -count 6
func BenchmarkChecksum(b *testing.B) {
	candidates := []struct {
		name string
		sum  func([]byte) U128
	}{
		{"xxh3", func(p []byte) U128 { h := xxh3.Hash128(p); return U128{h.Lo, h.Hi} }},
		{"blake3", func(p []byte) U128 {
			s := blake3.Sum256(p)
			return getU128(s[:16])
		}},
		{"sha256", func(p []byte) U128 {
			s := sha256.Sum256(p)
			return getU128(s[:16])
		}},
	}
	for _, c := range candidates {
		for _, s := range benchSizes {
			data := sampleBody(CommandPrepare, s.size)
			b.Run(c.name+"/"+s.name, func(b *testing.B) {
				b.SetBytes(int64(s.size))
				var sink U128
				for b.Loop() {
					sink = c.sum(data)
				}
				if sink.IsZero() {
					b.Fatal("zero checksum")
				}
			})
		}
	}
}

// BenchmarkEncode measures Encode of a prepare with a body of each size;
// BenchmarkCopy is the baseline: a plain copy of the same number of bytes.
// Run: go test ./vsr -run '^$' -bench 'Encode|Decode|Copy' -count 6
func BenchmarkEncode(b *testing.B) {
	for _, s := range benchSizes {
		h := sampleHeaders()[CommandPrepare-1]
		body := sampleBody(CommandPrepare, s.size)
		buf := make([]byte, HeaderSize+s.size)
		b.Run(s.name, func(b *testing.B) {
			b.SetBytes(int64(len(buf)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Encode(buf, &h, body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDecode measures Decode, which verifies both checksums and every rule.
func BenchmarkDecode(b *testing.B) {
	for _, s := range benchSizes {
		h := sampleHeaders()[CommandPrepare-1]
		buf := make([]byte, HeaderSize+s.size)
		if _, err := Encode(buf, &h, sampleBody(CommandPrepare, s.size)); err != nil {
			b.Fatal(err)
		}
		b.Run(s.name, func(b *testing.B) {
			b.SetBytes(int64(len(buf)))
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := Decode(buf, MessageSizeMaxLimit); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkCopy copies a message-sized buffer: the floor any encoder or
// decoder that touches every byte is measured against.
func BenchmarkCopy(b *testing.B) {
	for _, s := range benchSizes {
		src := sampleBody(CommandPrepare, HeaderSize+s.size)
		dst := make([]byte, len(src))
		b.Run(s.name, func(b *testing.B) {
			b.SetBytes(int64(len(src)))
			for b.Loop() {
				copy(dst, src)
			}
			if dst[len(dst)-1] != src[len(src)-1] {
				b.Fatal("copy incomplete")
			}
		})
	}
}
