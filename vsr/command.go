package vsr

import "strconv"

// Command says what a message is. Every command of the protocol is listed
// here and only here; commandSpecs (message.go) holds the per-command rules.
type Command uint8

// The commands. Zero is never valid on the wire, so an all-zero header is
// rejected as an unknown command even if its checksums were forged.
const (
	CommandReserved          Command = 0
	CommandRequest           Command = 1  // client → primary: one operation of one session
	CommandPrepare           Command = 2  // primary → backups: one op of the log, hash-chained by parent
	CommandPrepareOk         Command = 3  // backup → primary: the prepare is durable here
	CommandReply             Command = 4  // primary → client: the result of a request
	CommandCommit            Command = 5  // primary → backups: heartbeat carrying the commit number
	CommandStartViewChange   Command = 6  // replica → all: I want view v
	CommandDoViewChange      Command = 7  // replica → new primary: my log suffix for view v
	CommandStartView         Command = 8  // new primary → backups: the log of view v
	CommandRecovery          Command = 9  // restarted replica → all: tell me the view (nonce)
	CommandRecoveryResponse  Command = 10 // replica → recovering replica: view, op, commit (nonce)
	CommandRequestPrepare    Command = 11 // replica → replica: send me prepare op with this checksum
	CommandRequestHeaders    Command = 12 // replica → replica: send me headers of ops [commit, op]
	CommandHeaders           Command = 13 // replica → replica: a run of prepare headers
	CommandRequestStartView  Command = 14 // backup → primary: resend start_view of this view
	CommandEviction          Command = 15 // replica → client: your session was evicted
	CommandRequestCheckpoint Command = 16 // replica → replica: send me bytes of your latest checkpoint from offset commit
	CommandCheckpoint        Command = 17 // replica → replica: a chunk of checkpoint op (state transfer)
	commandCount                     = 18 // one past the last command
)

var commandNames = [commandCount]string{
	CommandReserved:          "reserved",
	CommandRequest:           "request",
	CommandPrepare:           "prepare",
	CommandPrepareOk:         "prepare_ok",
	CommandReply:             "reply",
	CommandCommit:            "commit",
	CommandStartViewChange:   "start_view_change",
	CommandDoViewChange:      "do_view_change",
	CommandStartView:         "start_view",
	CommandRecovery:          "recovery",
	CommandRecoveryResponse:  "recovery_response",
	CommandRequestPrepare:    "request_prepare",
	CommandRequestHeaders:    "request_headers",
	CommandHeaders:           "headers",
	CommandRequestStartView:  "request_start_view",
	CommandEviction:          "eviction",
	CommandRequestCheckpoint: "request_checkpoint",
	CommandCheckpoint:        "checkpoint",
}

// Valid reports whether c is a command of the protocol.
func (c Command) Valid() bool { return c > CommandReserved && c < commandCount }

// String returns the protocol name of c, or "command(N)" if c is unknown.
func (c Command) String() string {
	if c < commandCount {
		return commandNames[c]
	}
	return "command(" + strconv.Itoa(int(c)) + ")"
}

// Operation says what a request asks the state machine to do. Values below
// OperationUserMin belong to the protocol; the state machine owns the rest.
type Operation uint8

// Protocol operations.
const (
	OperationNone     Operation = 0  // not a request or prepare, or the root prepare
	OperationRegister Operation = 1  // open a client session
	OperationUserMin  Operation = 16 // first operation the state machine may define
)
