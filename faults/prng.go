package faults

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"math/bits"
	"math/rand/v2"
	"strings"
)

// The domain strings keep the two key derivations apart: no seed key can equal
// a stream key. Changing either changes what every seed means (golden_test.go).
const (
	seedDomain   = "govsr/faults/v1/seed\x00"
	streamDomain = "govsr/faults/v1/stream\x00"
)

// PathSeparator joins stream names into a path: Stream("a").Stream("b") is
// Stream("a" + PathSeparator + "b").
const PathSeparator = "/"

// PathLenMax bounds a stream path in bytes. Streams are named by the program
// (components, replica and client numbers), so a longer path is a bug such as
// deriving a stream per event.
const PathLenMax = 256

// PRNG is a deterministic generator: a ChaCha8 keyed from a seed and a stream
// path. Obtain one with [New] or [PRNG.Stream]; the zero value is not usable.
type PRNG struct {
	_     noCopy
	src   *rand.ChaCha8
	seed  uint64
	root  [32]byte // the key every stream of this seed derives from
	key   [32]byte // this stream's key; equal to root for the root stream
	path  string   // "" for the root stream, else e.g. "storage/replica-2"
	draws uint64   // 64-bit words drawn so far, for String and reports
}

// noCopy makes go vet's copylocks check report a PRNG copied by value: a copy
// would share or fork the generator's state, which this package forbids.
type noCopy struct{}

func (*noCopy) Lock()   {}
func (*noCopy) Unlock() {}

// New returns the root stream of seed, keyed by
// SHA-256("govsr/faults/v1/seed\x00" ‖ seed as 8 little-endian bytes).
func New(seed uint64) *PRNG {
	root := seedKey(seed)
	return &PRNG{src: rand.NewChaCha8(root), seed: seed, root: root, key: root}
}

func seedKey(seed uint64) [32]byte {
	var b [len(seedDomain) + 8]byte
	copy(b[:], seedDomain)
	binary.LittleEndian.PutUint64(b[len(seedDomain):], seed)
	return sha256.Sum256(b[:])
}

// streamKey hashes the root key, not a parent's key, with the full path, so a
// stream's key is a function of (seed, path) alone. The root key has a fixed
// length, so the encoding is unambiguous without a length prefix.
func streamKey(root [32]byte, path string) [32]byte {
	b := make([]byte, 0, len(streamDomain)+len(root)+len(path))
	b = append(b, streamDomain...)
	b = append(b, root[:]...)
	b = append(b, path...)
	return sha256.Sum256(b)
}

// Stream returns the sub-stream name of p, keyed from the root key and the
// path p.Path()/name. It does not depend on how many numbers p or any other
// stream has drawn, and it does not change p. name may itself contain
// separators ("storage/replica-2"); it panics if name is empty, starts or ends
// with a separator, contains an empty segment, or makes the path longer than
// PathLenMax, since names come from the program, not from input.
func (p *PRNG) Stream(name string) *PRNG {
	if err := checkName(name); err != nil {
		panic(err)
	}
	path := name
	if p.path != "" {
		path = p.path + PathSeparator + name
	}
	if len(path) > PathLenMax {
		panic(fmt.Sprintf("faults: stream path %q is %d bytes, longer than PathLenMax %d", path, len(path), PathLenMax))
	}
	key := streamKey(p.root, path)
	return &PRNG{src: rand.NewChaCha8(key), seed: p.seed, root: p.root, key: key, path: path}
}

func checkName(name string) error {
	if name == "" || strings.HasPrefix(name, PathSeparator) || strings.HasSuffix(name, PathSeparator) ||
		strings.Contains(name, PathSeparator+PathSeparator) {
		return fmt.Errorf("faults: stream name %q: want non-empty segments separated by %q", name, PathSeparator)
	}
	return nil
}

// Seed returns the seed p's root key was derived from.
func (p *PRNG) Seed() uint64 { return p.seed }

// Path returns p's stream path, "" for the root stream.
func (p *PRNG) Path() string { return p.path }

// Key returns p's ChaCha8 key.
func (p *PRNG) Key() [32]byte { return p.key }

// Draws returns how many 64-bit words p has drawn: two runs that agree on a
// stream's seed, path and draws have seen the same numbers from it.
func (p *PRNG) Draws() uint64 { return p.draws }

// String describes p for logs and debugging; it shows the first 8 key bytes.
func (p *PRNG) String() string {
	path := p.path
	if path == "" {
		path = "(root)"
	}
	return fmt.Sprintf("faults.PRNG{seed=%d stream=%s key=%s… draws=%d}",
		p.seed, path, hex.EncodeToString(p.key[:8]), p.draws)
}

// Uint64 returns a uniformly distributed 64-bit value. Every other draw of
// this package is built on it.
func (p *PRNG) Uint64() uint64 {
	p.draws++
	return p.src.Uint64()
}

// Uint32 returns the high 32 bits of one Uint64 draw.
func (p *PRNG) Uint32() uint32 { return uint32(p.Uint64() >> 32) }

// Bool returns true or false with equal probability (the top bit of one draw).
func (p *PRNG) Bool() bool { return p.Uint64()>>63 == 1 }

// Uint64N returns a uniform value in [0, n), without modulo bias: the high word
// of a 128-bit product x·n, rejecting the few x that would over-weight some
// results (expected draws: fewer than 2 for any n, 1 for most). It panics if
// n is 0.
func (p *PRNG) Uint64N(n uint64) uint64 {
	if n == 0 {
		panic("faults: Uint64N(0): n must be positive")
	}
	hi, lo := bits.Mul64(p.Uint64(), n)
	if lo < n {
		// 2^64 mod n products land on results that would get one x too many.
		threshold := -n % n
		for lo < threshold {
			hi, lo = bits.Mul64(p.Uint64(), n)
		}
	}
	if hi >= n {
		panic(fmt.Sprintf("faults: Uint64N(%d) produced %d", n, hi))
	}
	return hi
}

// IntN returns a uniform int in [0, n). It panics if n <= 0.
func (p *PRNG) IntN(n int) int {
	if n <= 0 {
		panic(fmt.Sprintf("faults: IntN(%d): n must be positive", n))
	}
	return int(p.Uint64N(uint64(n)))
}

// Pick returns the index of a uniformly chosen element of a collection of n
// elements, in [0, n). It panics if n <= 0: there is nothing to pick.
func (p *PRNG) Pick(n int) int {
	if n <= 0 {
		panic(fmt.Sprintf("faults: Pick(%d): nothing to pick from", n))
	}
	return p.IntN(n)
}

// Range returns a uniform value in [lo, hi], both ends included. It panics if
// lo > hi.
func (p *PRNG) Range(lo, hi uint64) uint64 {
	if lo > hi {
		panic(fmt.Sprintf("faults: Range(%d, %d): lo above hi", lo, hi))
	}
	span := hi - lo
	if span == math.MaxUint64 {
		return p.Uint64() // the whole range: span+1 would overflow
	}
	return lo + p.Uint64N(span+1)
}

// RangeInt returns a uniform int in [lo, hi], both ends included. It panics
// if lo > hi.
func (p *PRNG) RangeInt(lo, hi int) int {
	if lo > hi {
		panic(fmt.Sprintf("faults: RangeInt(%d, %d): lo above hi", lo, hi))
	}
	// Two's-complement differences and sums stay exact for any lo <= hi.
	span := uint64(hi) - uint64(lo)
	v := lo + int(p.Range(0, span))
	if v < lo || v > hi {
		panic(fmt.Sprintf("faults: RangeInt(%d, %d) produced %d", lo, hi, v))
	}
	return v
}

// Shuffle permutes n elements uniformly (Fisher–Yates), calling swap(i, j)
// to exchange elements i and j. It panics if n < 0.
func (p *PRNG) Shuffle(n int, swap func(i, j int)) {
	if n < 0 {
		panic(fmt.Sprintf("faults: Shuffle(%d): n must not be negative", n))
	}
	for i := n - 1; i > 0; i-- {
		swap(i, p.IntN(i+1))
	}
}
