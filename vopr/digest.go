package vopr

import (
	"math/bits"

	"github.com/govsr/govsr/vsr"
)

// The run's digest chains every event through vsr.Checksum (XXH3-128) of
// 65 bytes: the digest so far, the event's time, kind, ends and tag, and
// the checksum of any message it carries, little-endian (foldBytes in
// digest_test.go lays them out). The
// digest is hashed once per event, so foldDigest computes that same
// XXH3-128 straight from the fields, without writing the 65 bytes to memory
// and reading them back (the reads would wait on the stores just made) and
// without the general hash's dispatch on length. TestFoldDigestMatches
// checks it against vsr.Checksum of foldBytes, bit for bit.

// foldLen is the length of the bytes the digest hashes per event.
const foldLen = 16 + 8 + 1 + 8 + 8 + 8 + 16

// XXH3's primes and the words of its default secret that inputs of 65 to
// 96 bytes use (the XXH3 specification; the words at byte offsets 0 to 88).
const (
	xxPrime1 = 0x9e3779b185ebca87
	xxPrime2 = 0xc2b2ae3d27d4eb4f
	xxPrime4 = 0x85ebca77c2b2ae63
	xxKey000 = 0xbe4ba423396cfeb8
	xxKey008 = 0x1cad21f72c81017c
	xxKey016 = 0xdb979083e96dd4de
	xxKey024 = 0x1f67b3b7a4a44072
	xxKey032 = 0x78e5c0cc4ee679cb
	xxKey040 = 0x2172ffcc7dd05a82
	xxKey048 = 0x8e2443f7744608b8
	xxKey056 = 0x4c263a81e69035e0
	xxKey064 = 0xcb00c391bb52283c
	xxKey072 = 0xa32e531b8b65d088
	xxKey080 = 0x4ef90da297486471
	xxKey088 = 0xd8acdea946ef1938
)

// foldDigest returns vsr.Checksum(foldBytes(digest, e, message)) where
// message is the checksum of the event's message (zero if none).
func foldDigest(digest vsr.U128, at uint64, kind uint8, a, b, tag uint64, message vsr.U128) vsr.U128 {
	// The little-endian words XXH3 reads of the 65 bytes, by byte offset:
	// 0 and 8 the digest, 16 the time, 24 the kind and a's low 7 bytes, 25
	// a, 33 b, 41 the tag, 49 and 57 the message's checksum; 17, 32 and 40
	// straddle two fields.
	w17 := at>>8 | uint64(kind)<<56
	w24 := uint64(kind) | a<<8
	w32 := a>>56 | b<<8
	w40 := b>>56 | tag<<8
	length := uint64(foldLen)
	lo, hi := length*xxPrime1, uint64(0)
	// Inputs of 65 to 96 bytes: three rounds of two 16-byte mixes, from the
	// middle outwards.
	hi += mulFold(w17^xxKey080, a^xxKey088)
	hi ^= w32 + w40
	lo += mulFold(w32^xxKey064, w40^xxKey072)
	lo ^= w17 + a
	hi += mulFold(b^xxKey048, tag^xxKey056)
	hi ^= at + w24
	lo += mulFold(at^xxKey032, w24^xxKey040)
	lo ^= b + tag
	hi += mulFold(message.Lo^xxKey016, message.Hi^xxKey024)
	hi ^= digest.Lo + digest.Hi
	lo += mulFold(digest.Lo^xxKey000, digest.Hi^xxKey008)
	lo ^= message.Lo + message.Hi
	hi, lo = lo*xxPrime1+hi*xxPrime4+length*xxPrime2, lo+hi
	return vsr.U128{Lo: xxAvalanche(lo), Hi: -xxAvalanche(hi)}
}

// mulFold is XXH3's 128-bit product folded to 64 bits.
func mulFold(x, y uint64) uint64 {
	hi, lo := bits.Mul64(x, y)
	return hi ^ lo
}

// xxAvalanche is XXH3's final mix.
func xxAvalanche(x uint64) uint64 {
	x ^= x >> 37
	x *= 0x165667919e3779f9
	return x ^ x>>32
}
