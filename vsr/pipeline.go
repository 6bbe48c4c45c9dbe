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

func newPipeline(max int) pipeline { return pipeline{entries: make([]pipelineEntry, max)} }

func (p *pipeline) full() bool  { return p.count == len(p.entries) }
func (p *pipeline) empty() bool { return p.count == 0 }
func (p *pipeline) clear()      { p.head, p.count = 0, 0 }

func (p *pipeline) at(i int) *pipelineEntry {
	if i < 0 || i >= p.count {
		panic("vsr: pipeline index out of range")
	}
	return &p.entries[(p.head+i)%len(p.entries)]
}

func (p *pipeline) push(op uint64, checksum U128) *pipelineEntry {
	if p.full() {
		panic("vsr: pipeline push when full")
	}
	if p.count > 0 && p.at(p.count-1).op+1 != op {
		panic("vsr: pipeline ops not consecutive")
	}
	e := &p.entries[(p.head+p.count)%len(p.entries)]
	*e = pipelineEntry{op: op, checksum: checksum}
	p.count++
	return e
}

func (p *pipeline) pop() pipelineEntry {
	e := *p.at(0)
	p.head = (p.head + 1) % len(p.entries)
	p.count--
	return e
}

// find returns the entry of op, or nil.
func (p *pipeline) find(op uint64) *pipelineEntry {
	if p.count == 0 || op < p.at(0).op || op > p.at(p.count-1).op {
		return nil
	}
	return p.at(int(op - p.at(0).op))
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

func newRequestQueue(max int, messageSizeMax uint32) requestQueue {
	q := requestQueue{items: make([]queuedRequest, max)}
	for i := range q.items {
		q.items[i].buffer = make([]byte, messageSizeMax)
	}
	return q
}

func (q *requestQueue) full() bool { return q.count == len(q.items) }
func (q *requestQueue) clear()     { q.head, q.count = 0, 0 }

func (q *requestQueue) at(i int) *queuedRequest {
	if i < 0 || i >= q.count {
		panic("vsr: request queue index out of range")
	}
	return &q.items[(q.head+i)%len(q.items)]
}

func (q *requestQueue) push(client U128, message []byte) {
	if q.full() {
		panic("vsr: request queue push when full")
	}
	it := &q.items[(q.head+q.count)%len(q.items)]
	it.client = client
	it.message = it.buffer[:len(message)]
	copy(it.message, message)
	q.count++
}

func (q *requestQueue) pop() {
	if q.count == 0 {
		panic("vsr: request queue pop when empty")
	}
	q.head = (q.head + 1) % len(q.items)
	q.count--
}

func (q *requestQueue) hasClient(client U128) bool {
	for i := 0; i < q.count; i++ {
		if q.at(i).client == client {
			return true
		}
	}
	return false
}
