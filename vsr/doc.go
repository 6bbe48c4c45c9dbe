// Package vsr is the protocol core of govsr: Viewstamped Replication as a pure,
// deterministic state machine.
//
// This file set holds the wire format every other part speaks: a fixed-size,
// little-endian [Header] followed by a body, both covered by 128-bit
// checksums ([Checksum]). [Encode] writes a message into a caller's buffer
// without allocating; [Decode] validates one in a fixed order and reports the
// first check that failed as a [*MessageError].
//
// Nothing in this package reads the wall clock, starts a goroutine or draws
// from a global random source: time is ticks and randomness is passed in, so
// one seed replays one history exactly.
package vsr
