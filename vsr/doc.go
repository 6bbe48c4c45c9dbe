// Package vsr is the protocol core of govsr: Viewstamped Replication as a pure,
// deterministic state machine.
//
// A map of the core. A [Replica] takes three inputs, [Replica.Tick],
// [Replica.Receive] and [Replica.StorageDone], and never does I/O: it hands
// encoded messages to a [Bus], reads and writes to an asynchronous [Storage]
// (completions return through StorageDone), and events ([Event]: commits,
// drops, status, coverage marks) to an [EventHook], all declared in env.go.
// Its files, by protocol phase, and what each owns:
//
//   - replica.go: fields, input dispatch, sending, invariants after each input
//   - replica_normal.go: request, prepare, prepare_ok, commit, execute, reply
//   - replica_view.go: start_view_change, do_view_change, start_view
//   - replica_repair.go: fetching missing prepares against the hash chain
//   - replica_open.go, replica_recovery.go: restart, then the recovery exchange
//   - checkpoint.go: checkpoints that let the journal wrap; state transfer
//   - journal.go, journal_io.go, superblock.go, layout.go: the durable state
//   - pipeline.go, sessions.go, batch.go, timers.go: in-memory bookkeeping
//   - message.go, command.go, rules.go, errors.go: the wire format below
//   - client.go: the client side; memory_storage.go: a disk in memory, faulty
//
// The wire format every part speaks: a fixed-size, little-endian [Header]
// followed by a body, both covered by 128-bit checksums ([Checksum]).
// [Encode] writes a message into a caller's buffer without allocating;
// [Decode] validates one in a fixed order and reports the first check that
// failed as a [*MessageError].
//
// Nothing in this package reads the wall clock, starts a goroutine or draws
// from a global random source: time is ticks and randomness is passed in, so
// one seed replays one history exactly.
package vsr
