package vsr

// StateMachine is the deterministic service a cluster replicates. The
// replica calls it only for committed ops, in op order, on every replica, so
// every replica that has executed op n holds the same state and Digest.
//
// Implementations must be deterministic: the same sequence of Apply calls
// from the same Restore'd (or initial) state gives the same outputs, digest
// and snapshot bytes. No wall clock, no randomness, no map iteration order.
type StateMachine interface {
	// InputValid reports why input is not an acceptable request body for
	// operation, or nil. The primary calls it before preparing a request,
	// so malformed requests are refused before they enter the log.
	InputValid(operation Operation, input []byte) error

	// Apply executes operation with input at op, with the primary's
	// timestamp, and writes the reply into output (len(output) is the
	// largest reply a message can carry). It returns the reply length.
	// The requests batched in one prepare share its op, so op never
	// decreases between calls but may repeat.
	// Apply must not fail: an input the state machine cannot honour
	// (a full table, a bad argument) gets a reply that says so.
	Apply(op uint64, timestamp uint64, operation Operation, input []byte, output []byte) int

	// Digest is a checksum of the whole state, cheap enough to call after
	// every op: replicas at the same commit must report the same digest.
	Digest() U128

	// AppendSnapshot appends a serialization of the whole state to dst.
	AppendSnapshot(dst []byte) []byte

	// SnapshotSizeMax bounds AppendSnapshot's output: the replica sizes
	// its checkpoints from it.
	SnapshotSizeMax() int

	// Restore replaces the state with a snapshot made by AppendSnapshot,
	// or returns an error that says what is wrong with it, leaving the
	// state unchanged.
	Restore(snapshot []byte) error
}
