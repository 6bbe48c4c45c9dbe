// Package faults is the seeded randomness the simulator rests on: a PRNG with
// named sub-streams, probabilities as exact integer ratios, and distributions
// computed with integer arithmetic only.
//
// # Seed → key → named streams
//
// One seed (a uint64, the number a seed report records) becomes one 32-byte
// ChaCha8 key, the root key:
//
//	root key   = SHA-256("govsr/faults/v1/seed\x00" ‖ seed as 8 little-endian bytes)
//	stream key = SHA-256("govsr/faults/v1/stream\x00" ‖ root key ‖ path)
//
// [New] returns the root stream, keyed by the root key. Every component takes
// its own stream by name with [PRNG.Stream]: "network", "storage/replica-2",
// "client-5". Names compose as a slash-separated path, so
// root.Stream("storage").Stream("replica-2") is the same stream as
// root.Stream("storage/replica-2"), and the key of a stream depends only on
// the root key and its path.
//
// # Why names and not copies of state
//
// A stream's key is a hash of the root key and its name, never of the parent's
// current position. So a component that draws one number more (a new fault
// kind, an extra retry) shifts its own stream only: every other component
// still sees exactly the numbers it saw before, and old seed reports keep
// reproducing the parts of a run that did not change. Copying a generator's
// state to hand out a "clone" would couple the two streams' futures to the
// moment of the copy, which is why this package never does it and why a PRNG
// must not be copied by value (go vet reports copies).
//
// # Why integer math
//
// The same seed must give the same run on every machine. ChaCha8's output is
// fixed by Go's compatibility promise, but floating-point transcendental
// functions such as math.Log and math.Exp have assembly and FMA-fused
// variants whose last bits differ between architectures, and one differing bit
// in a latency can reorder two events and fork the whole history. So
// probabilities are [Ratio] values compared exactly against integer draws, and
// [PRNG.Exponential] computes -ln(u) in fixed point (leading-zero count for the
// integer part of log2, repeated squaring for the fraction, times ln 2).
//
// Every draw is built on [PRNG.Uint64] only, never on math/rand/v2's Rand
// methods, so the mapping from key to values is defined by this package and
// pinned by the golden test. Nothing here reads the clock, starts a goroutine
// or touches a global source. A PRNG belongs to one component on one
// goroutine; it is not safe for concurrent use.
package faults
