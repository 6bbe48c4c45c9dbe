package vsr

// HoldsPrepare reports whether the replica's journal holds, in memory, the
// prepare of op with this checksum: the simulator asks it before it
// excuses a stall for want of an op (a copy in memory can still be served
// to peers even if the disk's copy is damaged).
func (r *Replica) HoldsPrepare(op uint64, checksum U128) bool {
	return r.open == nil && r.openErr == nil && r.journal.prepare(op, checksum) != nil
}
