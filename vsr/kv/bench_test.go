package kv

import (
	"encoding/binary"
	"testing"

	"github.com/govsr/govsr/vsr"
)

// benchKey and benchValue are the i-th 16-byte key and 64-byte value of the
// benchmarks. Keys are scrambled by an odd multiplier so that the store's
// insertion order is not its sorted order.
func benchKey(i int) []byte {
	k := []byte("bench-k-")
	return binary.BigEndian.AppendUint64(k, uint64(i)*0x9e3779b97f4a7c15)
}

func benchValue(i int) []byte {
	v := make([]byte, 64)
	for j := range v {
		v[j] = byte(i + j)
	}
	return v
}

// BenchmarkApply measures one Apply on a store of 1024 keys (16-byte keys,
// 64-byte values): a write overwriting a key, a read that finds one, and a
// cas that matches.
// Run: go test ./vsr/kv -run '^$' -bench Apply -count 5
func BenchmarkApply(b *testing.B) {
	const keys = 1024
	s := newStore(b, Options{})
	var writes, reads, cases [keys][]byte
	for i := range keys {
		writes[i], _ = EncodeWrite(nil, benchKey(i), benchValue(i))
		reads[i], _ = EncodeRead(nil, benchKey(i))
		cases[i], _ = EncodeCAS(nil, benchKey(i), benchValue(i), benchValue(i))
		apply(b, s, OperationWrite, writes[i])
	}
	out := make([]byte, s.ReplySizeMax())
	for _, bench := range []struct {
		name      string
		operation vsr.Operation
		inputs    *[keys][]byte
	}{{"write", OperationWrite, &writes}, {"read", OperationRead, &reads}, {"cas", OperationCAS, &cases}} {
		b.Run(bench.name, func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				s.Apply(s.opLast+1, 0, bench.operation, bench.inputs[i], out)
				if Status(out[0]) != StatusOK {
					b.Fatalf("status %s", Status(out[0]))
				}
				i = (i + 1) % keys
			}
		})
	}
}

// benchStore100k holds 100,000 keys of 16 bytes with 64-byte values.
func benchStore100k(b *testing.B) *Store {
	const keys = 100_000
	s := newStore(b, Options{KeysMax: 1 << 17, KeySizeMax: 16, ValueSizeMax: 64})
	for i := range keys {
		in, _ := EncodeWrite(nil, benchKey(i), benchValue(i))
		if r := apply(b, s, OperationWrite, in); r.Status != StatusOK {
			b.Fatalf("write %d: %s", i, r.Status)
		}
	}
	return s
}

// BenchmarkSnapshot100k measures AppendSnapshot (into a reused buffer) and
// Restore of a 100,000-key store, and reports the snapshot's size.
// Run: go test ./vsr/kv -run '^$' -bench Snapshot100k -count 5
func BenchmarkSnapshot100k(b *testing.B) {
	s := benchStore100k(b)
	snap := s.AppendSnapshot(nil)
	b.Run("append", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(snap)))
		buf := make([]byte, 0, len(snap))
		for b.Loop() {
			buf = s.AppendSnapshot(buf[:0])
		}
		b.ReportMetric(float64(len(buf)), "snapshot-bytes")
	})
	b.Run("restore", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(snap)))
		r := newStore(b, s.Options())
		for b.Loop() {
			if err := r.Restore(snap); err != nil {
				b.Fatal(err)
			}
		}
		if r.Digest() != s.Digest() {
			b.Fatal("restored digest differs")
		}
		b.ReportMetric(float64(len(snap)), "snapshot-bytes")
	})
}
