package vsr

// A prepare's body is a batch: the requests it orders, each stored as the
// whole request message the client sent (header and body), back to back.
// Keeping the client's own bytes and checksums means every replica can
// re-verify each request, and the canonical-chain checker can prove each
// committed op came from a request a client really sent.

// batchIterator walks the requests of a prepare body.
type batchIterator struct {
	body    []byte
	offset  int
	sizeMax uint32
}

func newBatchIterator(body []byte, sizeMax uint32) batchIterator {
	assert(sizeMax >= HeaderSize, "a batch's requests may hold a header")
	return batchIterator{body: body, sizeMax: sizeMax}
}

// next returns the next request of the batch. done is true after the last
// one; err is set (and iteration stops) if the batch is malformed.
func (it *batchIterator) next() (h Header, body []byte, message []byte, done bool, err error) {
	if it.offset >= len(it.body) {
		return Header{}, nil, nil, true, nil
	}
	h, body, err = Decode(it.body[it.offset:], it.sizeMax)
	if err != nil {
		it.offset = len(it.body)
		return h, nil, nil, false, err
	}
	if h.Command != CommandRequest {
		it.offset = len(it.body)
		return h, nil, nil, false, &MessageError{Check: CheckField, Command: h.Command, Field: "batch entry is a request", Value: uint64(h.Command)}
	}
	message = it.body[it.offset : it.offset+int(h.Size)]
	it.offset += int(h.Size)
	assert(it.offset <= len(it.body), "a batch's requests lie within its body")
	assert(len(message) >= HeaderSize, "a request holds its header")
	return h, body, message, false, nil
}

// BatchRequests decodes the requests of a prepare body and calls visit for
// each, in order. It is for observers (the simulator's checkers); the
// replica uses batchIterator. It returns the first decoding error. h is
// valid only during the call (one Header serves every request).
func BatchRequests(prepareBody []byte, sizeMax uint32, visit func(h *Header, body []byte)) error {
	it := newBatchIterator(prepareBody, sizeMax)
	var h Header // escapes to visit: one per call, not one per request
	for range len(prepareBody)/HeaderSize + 1 {
		var body []byte
		var done bool
		var err error
		h, body, _, done, err = it.next()
		if err != nil {
			return err
		}
		if done {
			return nil
		}
		visit(&h, body)
	}
	panic("vsr: BatchRequests: more requests than the body can hold")
}
