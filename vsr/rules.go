package vsr

// bodyKind says what a command may carry after its header.
type bodyKind uint8

const (
	bodyNone    bodyKind = iota // size must equal HeaderSize
	bodyAny                     // any bytes
	bodyHeaders                 // a whole number of headers, possibly none
)

// fieldRule is one per-command rule. Rules are an enum evaluated by a switch
// rather than function values so that Validate's header never escapes to the
// heap: decoding must not allocate.
type fieldRule uint8

const (
	ruleOpPositive fieldRule = iota
	ruleCommitBelowOp
	ruleCommitAtMostOp
	ruleOpAtMostCommit
	ruleViewPositive
	ruleLogViewAtMostView
	ruleLogViewBelowView
	ruleClient
	ruleNonce
	ruleNoOperation
	ruleSomeOperation
	ruleRegisterNoBody
	ruleRequestPositive
	ruleRegisterSessionZero
	ruleSessionPositive
	ruleNoSession
	ruleChecksum
	ruleCount
)

var ruleNames = [ruleCount]string{
	ruleOpPositive:          "op >= 1",
	ruleCommitBelowOp:       "commit < op",
	ruleCommitAtMostOp:      "commit <= op",
	ruleOpAtMostCommit:      "op <= commit",
	ruleViewPositive:        "view >= 1",
	ruleLogViewAtMostView:   "log_view <= view",
	ruleLogViewBelowView:    "log_view < view",
	ruleClient:              "client != 0",
	ruleNonce:               "context (nonce) != 0",
	ruleNoOperation:         "operation == none",
	ruleSomeOperation:       "operation != none",
	ruleRegisterNoBody:      "register has no body",
	ruleRequestPositive:     "request >= 1",
	ruleRegisterSessionZero: "register has session 0",
	ruleSessionPositive:     "session >= 1 unless register",
	ruleNoSession:           "session == 0",
	ruleChecksum:            "context (checksum) != 0",
}

// check reports whether h follows the rule, and the value to report if not.
func (r fieldRule) check(h *Header) (ok bool, value uint64) {
	register := h.Operation == OperationRegister
	switch r {
	case ruleOpPositive:
		return h.Op >= 1, h.Op
	case ruleCommitBelowOp:
		return h.Commit < h.Op, h.Commit
	case ruleCommitAtMostOp:
		return h.Commit <= h.Op, h.Commit
	case ruleOpAtMostCommit:
		return h.Op <= h.Commit, h.Op
	case ruleViewPositive:
		return h.View >= 1, uint64(h.View)
	case ruleLogViewAtMostView:
		return h.LogView <= h.View, uint64(h.LogView)
	case ruleLogViewBelowView:
		return h.LogView < h.View, uint64(h.LogView)
	case ruleClient:
		return !h.Client.IsZero(), 0
	case ruleNonce:
		return !h.Context.IsZero(), 0
	case ruleNoOperation:
		return h.Operation == OperationNone, uint64(h.Operation)
	case ruleSomeOperation:
		return h.Operation != OperationNone, uint64(h.Operation)
	case ruleRegisterNoBody:
		return !register || h.Size == HeaderSize, uint64(h.Size)
	case ruleRequestPositive:
		return h.Request >= 1, uint64(h.Request)
	case ruleRegisterSessionZero:
		return !register || h.Session == 0, h.Session
	case ruleSessionPositive:
		return register || h.Session >= 1, h.Session
	case ruleNoSession:
		return h.Session == 0, h.Session
	case ruleChecksum:
		return !h.Context.IsZero(), 0
	}
	panic("vsr: unknown field rule")
}

type commandSpec struct {
	body  bodyKind
	rules []fieldRule
}

// commandRuleMasks holds, per command, a bit per rule of its spec's rules
// (bit r for rule r), for Validate's first test.
var commandRuleMasks [commandCount]uint32

func init() {
	assert(ruleCount <= 32, "a rule mask has a bit per rule")
	for i := range commandSpecs {
		for _, r := range commandSpecs[i].rules {
			commandRuleMasks[i] |= 1 << r
		}
	}
}

// brokenRules returns a bit per field rule h breaks (bit r for rule r:
// r.check(h) is not ok), without a branch per rule: every header decoded
// and encoded passes here, and nearly all follow every rule.
func brokenRules(h *Header) uint32 {
	register := h.Operation == OperationRegister
	broken := ruleBit(h.Op < 1, ruleOpPositive) |
		ruleBit(h.Commit >= h.Op, ruleCommitBelowOp) |
		ruleBit(h.Commit > h.Op, ruleCommitAtMostOp) |
		ruleBit(h.Op > h.Commit, ruleOpAtMostCommit) |
		ruleBit(h.View < 1, ruleViewPositive) |
		ruleBit(h.LogView > h.View, ruleLogViewAtMostView) |
		ruleBit(h.LogView >= h.View, ruleLogViewBelowView) |
		ruleBit(h.Client.IsZero(), ruleClient) |
		ruleBit(h.Context.IsZero(), ruleNonce) |
		ruleBit(h.Operation != OperationNone, ruleNoOperation) |
		ruleBit(h.Operation == OperationNone, ruleSomeOperation) |
		ruleBit(register && h.Size != HeaderSize, ruleRegisterNoBody) |
		ruleBit(h.Request < 1, ruleRequestPositive) |
		ruleBit(register && h.Session != 0, ruleRegisterSessionZero) |
		ruleBit(!register && h.Session < 1, ruleSessionPositive) |
		ruleBit(h.Session != 0, ruleNoSession) |
		ruleBit(h.Context.IsZero(), ruleChecksum)
	assert(broken>>ruleCount == 0, "only rules have bits in the mask")
	return broken
}

func ruleBit(broken bool, r fieldRule) uint32 {
	assert(r < ruleCount, "a rule of the table")
	var b uint32
	if broken {
		b = 1
	}
	return b << r
}

// commandSpecs holds the per-command rules Decode checks last. They catch a
// sender's bug, not corruption (the checksums do that), and they are what the
// replica may rely on without checking again.
var commandSpecs = [commandCount]commandSpec{
	CommandRequest: {bodyAny, []fieldRule{ruleClient, ruleSomeOperation,
		ruleRegisterNoBody, ruleRequestPositive, ruleRegisterSessionZero, ruleSessionPositive}},
	CommandPrepare:           {bodyAny, []fieldRule{ruleOpPositive, ruleCommitBelowOp, ruleNoSession}},
	CommandPrepareOk:         {bodyNone, []fieldRule{ruleOpPositive, ruleNoOperation, ruleNoSession}},
	CommandReply:             {bodyAny, []fieldRule{ruleClient, ruleOpPositive, ruleOpAtMostCommit, ruleNoSession}},
	CommandCommit:            {bodyNone, []fieldRule{ruleNoOperation, ruleNoSession}},
	CommandStartViewChange:   {bodyNone, []fieldRule{ruleViewPositive, ruleNoOperation, ruleNoSession}},
	CommandDoViewChange:      {bodyHeaders, []fieldRule{ruleViewPositive, ruleLogViewBelowView, ruleCommitAtMostOp, ruleNoOperation, ruleNoSession}},
	CommandStartView:         {bodyHeaders, []fieldRule{ruleViewPositive, ruleLogViewAtMostView, ruleCommitAtMostOp, ruleNoOperation, ruleNoSession}},
	CommandRecovery:          {bodyNone, []fieldRule{ruleNonce, ruleNoOperation, ruleNoSession}},
	CommandRecoveryResponse:  {bodyHeaders, []fieldRule{ruleNonce, ruleLogViewAtMostView, ruleCommitAtMostOp, ruleNoOperation, ruleNoSession}},
	CommandRequestPrepare:    {bodyNone, []fieldRule{ruleOpPositive, ruleNoOperation, ruleNoSession}},
	CommandRequestHeaders:    {bodyNone, []fieldRule{ruleCommitAtMostOp, ruleNoOperation, ruleNoSession}},
	CommandHeaders:           {bodyHeaders, []fieldRule{ruleNoOperation, ruleNoSession}},
	CommandRequestStartView:  {bodyNone, []fieldRule{ruleViewPositive, ruleNonce, ruleNoOperation, ruleNoSession}},
	CommandEviction:          {bodyNone, []fieldRule{ruleClient, ruleNoOperation}},
	CommandRequestCheckpoint: {bodyNone, []fieldRule{ruleNoOperation, ruleNoSession}},
	CommandCheckpoint:        {bodyAny, []fieldRule{ruleOpPositive, ruleChecksum, ruleNoOperation, ruleNoSession}},
}

// Validate checks the rules every header must follow beyond its checksums:
// a known command, replica < ReplicasMax, a body of the kind the command
// carries, and the command's own field rules. Decode calls it last.
func (h *Header) Validate() error {
	if !h.Command.Valid() {
		return &MessageError{Check: CheckCommand, Value: uint64(h.Command)}
	}
	if h.Size < HeaderSize {
		return &MessageError{Check: CheckSize, Command: h.Command, Value: uint64(h.Size), Limit: HeaderSize}
	}
	if h.Replica >= ReplicasMax {
		return fieldError(h, "replica < 6", uint64(h.Replica))
	}
	assert(int(h.Command) < len(commandSpecs), "a valid command has its rules")
	spec := &commandSpecs[h.Command]
	bodySize := h.Size - HeaderSize
	switch spec.body {
	case bodyNone:
		if bodySize != 0 {
			return fieldError(h, "no body", uint64(bodySize))
		}
	case bodyHeaders:
		if bodySize%HeaderSize != 0 {
			return fieldError(h, "body is whole headers", uint64(bodySize))
		}
	}
	if brokenRules(h)&commandRuleMasks[h.Command] == 0 {
		return nil
	}
	for _, r := range spec.rules { // the first rule broken, as listed
		if ok, v := r.check(h); !ok {
			return fieldError(h, ruleNames[r], v)
		}
	}
	panic("vsr: Validate: a rule is broken by the mask and by none of the checks")
}

func fieldError(h *Header, rule string, value uint64) error {
	assert(rule != "", "a field error names its rule")
	return &MessageError{Check: CheckField, Command: h.Command, Field: rule, Value: value}
}
