package vopr

import "github.com/govsr/govsr/vsr"

// headerMemo remembers the last header it decoded: vsr.DecodeHeader is a
// function of a message's first HeaderSize bytes alone, and the promises
// checker and the chaos scenarios each decode every copy of a message a
// replica broadcasts (a prepare goes to every backup), so most decodes
// repeat the one before. Comparing 256 bytes costs a fraction of the
// header checksum and field rules a decode runs.
type headerMemo struct {
	raw   [vsr.HeaderSize]byte
	h     vsr.Header
	err   error
	valid bool
}

// decode returns vsr.DecodeHeader(message).
func (m *headerMemo) decode(message []byte) (vsr.Header, error) {
	if len(message) < vsr.HeaderSize {
		return vsr.DecodeHeader(message)
	}
	if m.valid && string(m.raw[:]) == string(message[:vsr.HeaderSize]) {
		return m.h, m.err
	}
	copy(m.raw[:], message)
	m.h, m.err = vsr.DecodeHeader(message)
	m.valid = true
	return m.h, m.err
}
