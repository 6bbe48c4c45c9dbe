package vsr

// Typed accessors for header fields whose meaning depends on the command.
// A header has one layout for every command; some commands put their own
// values in fields named for another use (a do_view_change's nack mask
// travels in Client). These accessors name the meaning, and assert the
// command, so a reader never has to know which sender filled what.

// LogHead returns the checksum of the head of the log a do_view_change,
// start_view or recovery_response carries (recovery_response keeps the
// recovering replica's nonce in Context, so its head is in Parent).
func (h *Header) LogHead() U128 {
	assert(h.carriesLog(), "a log head is carried by a do_view_change, start_view or recovery_response")
	if h.Command == CommandRecoveryResponse {
		return h.Parent
	}
	return h.Context
}

// SetLogHead records the checksum of the head of the log the message carries.
func (h *Header) SetLogHead(checksum U128) {
	assert(h.carriesLog(), "a log head is carried by a do_view_change, start_view or recovery_response")
	if h.Command == CommandRecoveryResponse {
		h.Parent = checksum
	} else {
		h.Context = checksum
	}
	assert(h.LogHead() == checksum, "the log head reads back")
}

func (h *Header) carriesLog() bool {
	c := h.Command
	assert(c != CommandReserved, "a header of a command")
	return c == CommandDoViewChange || c == CommandStartView || c == CommandRecoveryResponse
}

// JournalFaulty reports whether a do_view_change's sender has journal slots
// it could not read (it nacks nothing).
func (h *Header) JournalFaulty() bool {
	assert(h.Command == CommandDoViewChange, "the faulty-journal flag is a do_view_change's")
	return h.Request == 1
}

// SetJournalFaulty records whether a do_view_change's sender has journal
// slots it could not read.
func (h *Header) SetJournalFaulty(faulty bool) {
	assert(h.Command == CommandDoViewChange, "the faulty-journal flag is a do_view_change's")
	h.Request = 0
	if faulty {
		h.Request = 1
	}
	assert(h.JournalFaulty() == faulty, "the faulty-journal flag reads back")
}

// Nacks returns a do_view_change's nack mask: bit k set says its sender
// never held the prepare its log names at op (head - k), for k below 128.
func (h *Header) Nacks() U128 {
	assert(h.Command == CommandDoViewChange, "the nack mask is a do_view_change's")
	return h.Client
}

// SetNacks records a do_view_change's nack mask.
func (h *Header) SetNacks(mask U128) {
	assert(h.Command == CommandDoViewChange, "the nack mask is a do_view_change's")
	h.Client = mask
	assert(h.Nacks() == mask, "the nack mask reads back")
}

// CheckpointSize returns the size in bytes of the whole checkpoint a
// checkpoint chunk belongs to.
func (h *Header) CheckpointSize() uint64 {
	assert(h.Command == CommandCheckpoint, "a checkpoint size is a checkpoint chunk's")
	return h.Timestamp
}

// SetCheckpointSize records the size of the whole checkpoint in a chunk.
func (h *Header) SetCheckpointSize(size uint64) {
	assert(h.Command == CommandCheckpoint, "a checkpoint size is a checkpoint chunk's")
	h.Timestamp = size
	assert(h.CheckpointSize() == size, "the checkpoint size reads back")
}
