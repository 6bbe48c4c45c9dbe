package vsr

// pipeline is the primary's list of prepared but uncommitted ops, oldest
// first: consecutive, and always ops (commitMax, op]. The primary prepares
// new ops only while it holds fewer than PipelineMax, but a new primary
// inherits the whole uncommitted suffix of the old view, which can be a few
// ops longer; so the ring has room for a journal's worth.
type pipeline struct {
	entries []pipelineEntry // ring
	head    int
	count   int
}

type pipelineEntry struct {
	op       uint64
	checksum U128
	oks      uint8 // bit i set: replica i holds the prepare durably in this view
}

func newPipeline(max int) pipeline {
	assert(max > 0, "a pipeline holds at least one op")
	return pipeline{entries: make([]pipelineEntry, max)}
}

func (p *pipeline) full() bool  { return p.count == len(p.entries) }
func (p *pipeline) empty() bool { return p.count == 0 }
func (p *pipeline) clear()      { p.head, p.count = 0, 0 }

func (p *pipeline) at(i int) *pipelineEntry {
	assert(i >= 0, "pipeline index is not negative")
	assert(i < p.count, "pipeline index is below the count")
	return &p.entries[(p.head+i)%len(p.entries)]
}

func (p *pipeline) push(op uint64, checksum U128) *pipelineEntry {
	assert(!p.full(), "pipeline push when not full")
	assert(op > 0, "the pipeline holds no root op")
	assert(p.count == 0 || p.at(p.count-1).op+1 == op, "pipeline ops are consecutive")
	e := &p.entries[(p.head+p.count)%len(p.entries)]
	*e = pipelineEntry{op: op, checksum: checksum}
	p.count++
	assert(p.count <= len(p.entries), "the pipeline count is bounded by its ring")
	return e
}

func (p *pipeline) pop() pipelineEntry {
	e := *p.at(0)
	p.head = (p.head + 1) % len(p.entries)
	p.count--
	assert(p.count >= 0, "pipeline pop leaves a count not negative")
	assert(p.count == 0 || p.at(0).op == e.op+1, "the pipeline's next op follows the popped one")
	return e
}

// find returns the entry of op, or nil.
func (p *pipeline) find(op uint64) *pipelineEntry {
	if p.count == 0 || op < p.at(0).op || op > p.at(p.count-1).op {
		return nil
	}
	e := p.at(int(op - p.at(0).op))
	assert(e.op == op, "the pipeline finds the op it was asked for")
	return e
}

// requestQueue holds requests the primary accepted but has not yet put in
// a prepare, oldest first, as the clients' own encoded messages.
type requestQueue struct {
	items []queuedRequest // ring
	head  int
	count int
}

type queuedRequest struct {
	client  U128
	message []byte // aliases buffer
	buffer  []byte // MessageSizeMax bytes, allocated at start
}

func newRequestQueue(max int, messageSizeMax uint32, buffers *Buffers) requestQueue {
	assert(max > 0, "a request queue holds at least one request")
	q := requestQueue{items: make([]queuedRequest, max)}
	for i := range q.items {
		q.items[i].buffer = buffers.makeWrittenFirst(int(messageSizeMax))
	}
	return q
}

func (q *requestQueue) full() bool { return q.count == len(q.items) }
func (q *requestQueue) clear()     { q.head, q.count = 0, 0 }

func (q *requestQueue) at(i int) *queuedRequest {
	assert(i >= 0, "request queue index is not negative")
	assert(i < q.count, "request queue index is below the count")
	return &q.items[(q.head+i)%len(q.items)]
}

func (q *requestQueue) push(client U128, message []byte) {
	assert(!q.full(), "request queue push when not full")
	assert(!client.IsZero(), "a queued request names its client")
	it := &q.items[(q.head+q.count)%len(q.items)]
	assert(len(message) <= len(it.buffer), "a queued request fits its buffer")
	it.client = client
	it.message = it.buffer[:len(message)]
	copy(it.message, message)
	q.count++
}

func (q *requestQueue) pop() {
	assert(q.count > 0, "request queue pop when not empty")
	q.head = (q.head + 1) % len(q.items)
	q.count--
}

func (q *requestQueue) hasClient(client U128) bool {
	assert(!client.IsZero(), "a request names its client")
	for i := 0; i < q.count; i++ {
		if q.at(i).client == client {
			return true
		}
	}
	return false
}
