package vopr

import (
	"fmt"

	"github.com/govsr/govsr/vsr"
)

// headerMemo remembers the last header it decoded: vsr.DecodeHeader is a
// function of a message's first HeaderSize bytes alone, and the promises
// checker and the chaos scenarios each decode every copy of a message a
// replica broadcasts (a prepare goes to every backup), so most decodes
// repeat the one before. Comparing 256 bytes costs a fraction of the
// header checksum and field rules a decode runs.
//
// A replica's bus primes it (prime) with the header of each message the
// replica encoded, before the sends: the watchers then find the header
// decoded without a decode at all.
type headerMemo struct {
	raw   [vsr.HeaderSize]byte
	h     vsr.Header
	err   error
	valid bool
	// verify makes prime decode anyway and panic unless it was handed
	// what vsr.DecodeHeader finds (tests).
	verify bool
	primes uint64 // headers primed (tests)
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

// prime remembers h as the decoded header of message, which the sender
// encoded from h (vsr.EncodedBus): decode then returns h for these bytes.
func (m *headerMemo) prime(h *vsr.Header, message []byte) {
	if len(message) < vsr.HeaderSize {
		panic("vopr: a primed header comes without its bytes")
	}
	if m.verify {
		if want, err := vsr.DecodeHeader(message); err != nil || want != *h {
			panic(fmt.Sprintf("vopr: a sender's encoded header %+v is not what its bytes decode to (%+v, %v)", *h, want, err))
		}
	}
	copy(m.raw[:], message)
	m.h, m.err, m.valid = *h, nil, true
	m.primes++
}
