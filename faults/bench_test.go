package faults

import "testing"

// Run: go test ./faults -run '^$' -bench . -count 6
// or: scripts/bench.sh ./faults . 6

var sinkU64 uint64
var sinkBool bool

func BenchmarkUint64(b *testing.B) {
	p := New(1)
	for b.Loop() {
		sinkU64 = p.Uint64()
	}
}

func BenchmarkUint64N(b *testing.B) {
	p := New(1)
	for b.Loop() {
		sinkU64 = p.Uint64N(1_000_003)
	}
}

func BenchmarkChance(b *testing.B) {
	p := New(1)
	r := PerMillion(1500)
	for b.Loop() {
		sinkBool = p.Chance(r)
	}
}

func BenchmarkExponential(b *testing.B) {
	p := New(1)
	for b.Loop() {
		sinkU64 = p.Exponential(1_000_000)
	}
}

func BenchmarkSkewed(b *testing.B) {
	p := New(1)
	for b.Loop() {
		sinkU64 = uint64(p.Skewed(64, 128))
	}
}

// Stream is made once per component at start, not per event: two SHA-256
// blocks and a ChaCha8 key schedule.
func BenchmarkStream(b *testing.B) {
	p := New(1)
	for b.Loop() {
		sinkU64 = p.Stream("storage/replica-2").Draws()
	}
}
