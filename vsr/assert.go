package vsr

// assert panics with what when ok is false. It guards the replica's own
// invariants (preconditions, postconditions, relations between fields),
// never a peer's input: a message from the wire is filtered and dropped
// with a reason, and only then may code assert what the filter proved.
// Callers pass a constant string, so a passing assertion allocates nothing.
func assert(ok bool, what string) {
	if !ok {
		panic("vsr: assertion failed: " + what)
	}
}

// init asserts, once at start-up, the relations between constants that the
// rest of the package relies on.
func init() {
	assert(headersPerSector*HeaderSize == SectorSize, "headers fill a sector exactly")
	assert(offReserved3 < HeaderSize, "the header's fields fit the header")
	assert(offSession-offReserved2 == 2 && (HeaderSize-offReserved3)%8 == 0,
		"reservedNonZero reads the reserved bytes as one uint16 and whole uint64s")
	assert(MessageSizeMin >= 2*HeaderSize, "the smallest message holds a request inside a prepare")
	assert(checkpointHeaderSize%8 == 0, "the checkpoint header keeps its fields aligned")
	assert(SuperblockCopies >= 2, "a torn superblock write leaves another copy")
	assert(int(commandCount) == len(commandNames), "every command has a name")
	assert(tagReread < 1<<(64-tagKindShift), "I/O kinds fit the top byte of a tag")
	for n := 1; n <= ReplicasMax; n++ {
		replication, viewChange := QuorumReplication(n), QuorumViewChange(n)
		assert(replication+viewChange > n, "a view-change quorum meets every replication quorum")
		assert(2*viewChange > n, "two view-change quorums meet")
		assert(replication <= n, "a replication quorum can form")
	}
}
