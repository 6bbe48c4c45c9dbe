package vsr

// The replica never does I/O itself. The environment — the simulator, a
// test harness, or the real TCP bus and data file — implements these small
// interfaces and feeds the replica its inputs: Tick, Receive and
// StorageDone.

// Bus carries encoded messages out of a replica or client. The message is
// valid only during the call: a bus that queues it must copy it. Sending
// never fails from the sender's point of view; a lost message is the
// protocol's problem, not the caller's.
type Bus interface {
	SendToReplica(replica uint8, message []byte)
	SendToClient(client U128, message []byte)
}

// EncodedBus is a Bus that is also handed, before a replica sends a
// prepare or a message it encoded, the header of that message: message
// (valid only during the call) holds exactly h's encoding, so
// DecodeHeader(message) would return h and no error. The simulator's
// watchers use it so as not to decode again what the replica just encoded.
// A Bus need not implement it.
type EncodedBus interface {
	Bus
	Encoded(h *Header, message []byte)
}

// Storage is an asynchronous block device. A call only submits the I/O; its
// completion comes back later as an input, through the replica's
// StorageDone with the same tag, so a replica can never mistake a
// submitted write for a durable one.
//
// Write copies data before it returns. A completed write is durable. Read
// fills buf (which the replica does not touch until the completion) and
// reports a failed read as an error in the completion; data that reads back
// corrupt is caught by checksums, not by the device.
type Storage interface {
	Read(offset uint64, buf []byte, tag uint64)
	Write(offset uint64, data []byte, tag uint64)
}

// Random is the randomness a replica or client draws from: a seeded stream
// the environment owns (faults.PRNG in the simulator). It is used only for
// timeout jitter and nonces, never for a decision two replicas must agree on.
type Random interface {
	Uint64() uint64
}

// EventKind names something a replica did that an observer may check.
type EventKind uint8

// Event kinds.
const (
	EventCommitted     EventKind = iota + 1 // op committed here: Op, Checksum, Parent, Prepare
	EventExecuted                           // op executed here: Op, Digest
	EventStatus                             // status or view changed: Status, View, LogView
	EventDropped                            // a message was dropped: Command, Reason
	EventViolation                          // a peer broke the protocol in a way only a bug explains: Reason
	EventEvicted                            // a client session was evicted: Client
	EventReply                              // a reply was sent to a client: Client, Request, Op
	EventStateTransfer                      // a peer's checkpoint was restored: Op, Digest
	EventCheckpoint                         // a checkpoint became durable: Op
	EventOpened                             // the data file was read back: View, LogView, Op (head), Commit, Reason (faults found)
	EventDurable                            // a superblock update is durable: View, LogView, Commit
	EventApplied                            // a client request ran in the state machine: Op, Client, Request (registers and skipped duplicates do not)
	EventMark                               // a rare protocol path was taken (marks.go): Mark, Status, View, Op, Commit
	eventKindCount
)

var eventKindNames = [eventKindCount]string{
	EventCommitted: "committed", EventExecuted: "executed", EventStatus: "status",
	EventDropped: "dropped", EventViolation: "violation", EventEvicted: "evicted", EventReply: "reply",
	EventStateTransfer: "state_transfer", EventCheckpoint: "checkpoint", EventOpened: "opened", EventDurable: "durable",
	EventApplied: "applied", EventMark: "mark",
}

func (k EventKind) String() string {
	if k < eventKindCount && eventKindNames[k] != "" {
		return eventKindNames[k]
	}
	return "event(?)"
}

// Event is what a replica reports through its EventHook. Only the fields
// its Kind names are set. The Event is the replica's own, reused for the
// next one, and Prepare aliases the replica's journal: both are valid only
// during the call (copy what you keep).
type Event struct {
	Kind     EventKind
	Replica  uint8
	Status   Status
	View     uint32
	LogView  uint32
	Op       uint64
	Commit   uint64
	Checksum U128 // committed: the prepare header's checksum
	Parent   U128 // committed: the previous prepare's checksum
	Digest   U128 // executed: the digest of the state machine and the client table after the op
	Client   U128
	Request  uint32
	Command  Command
	Mark     Mark // mark: the path taken (beside Command, in its padding)
	Reason   string
	Prepare  []byte // committed: the whole encoded prepare
}

// EventHook observes a replica without reaching into it. It must not call
// back into the replica, nor keep the *Event past the call: a replica
// reuses it.
type EventHook func(e *Event)

// Status is a replica's mode of operation.
type Status uint8

// Statuses.
const (
	StatusNormal     Status = iota + 1 // replicating in View
	StatusViewChange                   // electing the primary of View
	StatusRecovering                   // restarted; learning the view before taking part
)

func (s Status) String() string {
	switch s {
	case StatusNormal:
		return "normal"
	case StatusViewChange:
		return "view_change"
	case StatusRecovering:
		return "recovering"
	}
	return "status(?)"
}
