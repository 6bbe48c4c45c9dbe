package vsr

import (
	"encoding/binary"
	"encoding/hex"

	"github.com/zeebo/xxh3"
)

// U128 is an unsigned 128-bit value: checksums, cluster ids, client ids and
// nonces. It is stored little-endian on the wire (Lo first).
type U128 struct {
	Lo, Hi uint64
}

// IsZero reports whether u is zero.
func (u U128) IsZero() bool { return u.Lo == 0 && u.Hi == 0 }

// String formats u as 32 hex digits, most significant first.
func (u U128) String() string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[0:8], u.Hi)
	binary.BigEndian.PutUint64(b[8:16], u.Lo)
	return hex.EncodeToString(b[:])
}

// Short formats the low 32 bits of u as 8 hex digits, for logs.
func (u U128) Short() string { return u.String()[24:] }

func putU128(b []byte, u U128) {
	binary.LittleEndian.PutUint64(b[0:8], u.Lo)
	binary.LittleEndian.PutUint64(b[8:16], u.Hi)
}

func getU128(b []byte) U128 {
	return U128{Lo: binary.LittleEndian.Uint64(b[0:8]), Hi: binary.LittleEndian.Uint64(b[8:16])}
}

// Checksum is the one 128-bit checksum of govsr, used for headers, bodies,
// journal entries, superblocks and checkpoints.
//
// It is XXH3-128. Of the candidates benchmarked in bench_test.go
// (XXH3-128, BLAKE3 truncated to 128 bits, SHA-256 truncated to 128 bits) it
// is the fastest at every size measured, by a wide margin on small headers,
// which is where a replica spends most of its checksum time. Its 128-bit
// output makes an undetected random corruption a 2^-128 event; govsr
// checksums defend against accidents (bit rot, torn and misdirected writes,
// corrupted packets), not against an adversary, so a keyed or cryptographic
// hash buys nothing here. The README records the numbers.
func Checksum(data []byte) U128 {
	h := xxh3.Hash128(data)
	return U128{Lo: h.Lo, Hi: h.Hi}
}
