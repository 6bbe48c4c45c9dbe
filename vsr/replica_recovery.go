package vsr

// Recovery (VR Revisited §4.3, with a durable log): a restarted replica
// asks every peer for the current view with a nonce; once replicas enough to
// make a view-change quorum with it answer, the primary of the newest view
// among them included, it installs that primary's log and becomes a backup.
// Until then it takes no part in view changes. If no primary answers (the
// whole cluster restarted) and its journal came back intact, it joins a
// view change instead after RecoveryTimeoutTicks: with every acknowledged
// prepare durable and named by a valid header, its log is as good as
// before the crash.

type recoveryState struct {
	nonce     U128
	responses [ReplicasMax]recoveryResponse
	// primary is the answer of the primary of the newest view heard so
	// far, with its log (primaryBody aliases primaryBuf).
	primary     Header
	primaryBody []byte
	primaryBuf  []byte
	retry       timeout
	fallback    timeout
}

type recoveryResponse struct {
	present bool
	view    uint32
}

// startRecovery begins the recovery protocol once the data file is read.
func (r *Replica) startRecovery() {
	assert(r.open == nil, "recovery starts once the data file is open")
	assert(r.openErr == nil, "recovery starts from a data file that opened")
	r.status = StatusRecovering
	r.emitStatus()
	r.mark(MarkRecoveryStarted)
	if r.opts.ReplicaCount == 1 {
		r.recoveryFallback()
		return
	}
	buf := r.rec.primaryBuf
	if buf == nil {
		buf = make([]byte, r.opts.MessageSizeMax)
	}
	r.rec = recoveryState{nonce: U128{Lo: r.random.Uint64() | 1, Hi: r.random.Uint64()}, primaryBuf: buf}
	r.rec.retry.start(r.opts.RecoveryRetryTicks)
	if r.nothingToRecover() {
		r.rec.fallback.start(r.opts.RecoveryRetryTicks)
	} else {
		r.rec.fallback.start(r.opts.RecoveryTimeoutTicks + r.jitter())
	}
	assert(!r.rec.nonce.IsZero(), "a recovery has a nonce")
	assert(len(r.rec.primaryBuf) == int(r.opts.MessageSizeMax), "a recovery can hold the primary's log")
	r.sendRecovery()
}

// nothingToRecover reports a replica still as formatted: view 0, an empty
// and intact log, nothing executed. It cannot have promised anything, so it
// waits for an answer to its recovery only one retry interval
// (RecoveryRetryTicks) before it falls back to a view change, instead of
// RecoveryTimeoutTicks: a freshly formatted cluster, none of whose replicas
// can answer a recovery, elects its first primary at once. A replica that
// restarts like this in a running cluster still hears from its primary
// first, within a round trip; and falling back is safe at any time with an
// intact journal.
func (r *Replica) nothingToRecover() bool {
	assert(r.open == nil, "the log is known once the data file is read")
	assert(r.status == StatusRecovering, "only a recovering replica asks")
	return r.view == 0 && r.op == 0 && r.commitMin == 0 && !r.journalFaulty && !r.rejoin
}

func (r *Replica) sendRecovery() {
	assert(r.status == StatusRecovering, "recovery is asked for while recovering")
	r.broadcast(&Header{Command: CommandRecovery, View: r.view, Context: r.rec.nonce}, nil)
}

func (r *Replica) tickRecovering() {
	assert(r.status == StatusRecovering, "recovery ticks while recovering")
	if r.rec.retry.tick() {
		r.sendRecovery()
	}
	if r.rec.fallback.tick() {
		if r.journalFaulty {
			r.mark(MarkRecoveryBlockedFaulty)
			return
		}
		r.recoveryFallback()
	}
}

// recoveryFallback: nobody answered as primary; an intact journal lets this
// replica join a view change on its own.
func (r *Replica) recoveryFallback() {
	assert(r.status == StatusRecovering, "recovery falls back while recovering")
	if r.journalFaulty {
		return
	}
	assert(!r.rejoin, "a replaced disk's replica never leads a view change on its own")
	r.rec.retry.stop()
	r.rec.fallback.stop()
	r.mark(MarkRecoveryFallback)
	r.startViewChange(r.view+1, "recovery: no primary answered")
}

// onRecovery answers a recovering peer: with the view, and, from the
// primary, the log. A peer recovering in a newer view made that view
// durable: it may not go back to an older one, and (its journal perhaps
// faulty) it may not lead a view change, so this replica moves up to its
// view, and answers once that view is normal.
func (r *Replica) onRecovery(h *Header) {
	switch {
	case h.View > r.view:
		r.mark(MarkRecoveryNewerView)
		r.startViewChange(h.View, "recovery from a replica in a newer view")
		return
	case r.status != StatusNormal:
		r.drop(h.Command, "recovery while not normal")
		return
	}
	assert(r.status == StatusNormal, "recovery is answered in normal status")
	assert(h.View <= r.view, "recovery is answered in a view at least as new")
	assert(h.Replica != r.opts.Replica, "recovery is answered to a peer")
	var body []byte
	if r.IsPrimary() {
		body = r.appendLogHeaders(r.scratch[:0])
	}
	reply := Header{Command: CommandRecoveryResponse, View: r.view, LogView: r.logView, Op: r.op,
		Commit: min(r.commitMax, r.op), Context: h.Context}
	reply.SetLogHead(r.headChecksum())
	r.send(h.Replica, &reply, body)
}

// recoveryAnswersMin is how many peers must answer a recovery before the
// newest view among their answers is the newest view that formed. A view
// formed with a view-change quorum; answers from n - Qvc + 1 peers meet
// every such quorum. A replica with its own durable view knows every view
// it took part in, so answers meeting the quorums without it suffice
// (Qvc - 1 at least); a replaced disk's replica knows none.
func (r *Replica) recoveryAnswersMin() int {
	n, quorum := int(r.opts.ReplicaCount), QuorumViewChange(int(r.opts.ReplicaCount))
	if r.rejoin {
		return n - quorum + 1
	}
	return quorum - 1
}

// onRecoveryResponse counts answers to this replica's recovery and, with
// enough of them and the primary's, installs the primary's log.
func (r *Replica) onRecoveryResponse(h *Header, body []byte) {
	switch {
	case r.status != StatusRecovering:
		r.drop(h.Command, "recovery_response while not recovering")
		return
	case h.Context != r.rec.nonce:
		r.drop(h.Command, "recovery_response for another recovery")
		return
	case h.View < r.view:
		r.dropStale(h.Command, "recovery_response of an older view")
		return
	}
	assert(r.status == StatusRecovering, "a recovery_response is taken while recovering")
	assert(h.View >= r.view, "a recovery_response is of this view or a newer one")
	assert(h.Replica != r.opts.Replica, "a recovery_response comes from a peer")
	r.rec.responses[h.Replica] = recoveryResponse{present: true, view: h.View}
	if h.Replica == r.primaryIndex(h.View) && (r.rec.primary.Command == CommandReserved || h.View >= r.rec.primary.View) {
		r.rec.primary = *h
		r.rec.primaryBody = r.rec.primaryBuf[:copy(r.rec.primaryBuf, body)]
	}
	count, view := 0, uint32(0)
	for i := range r.rec.responses {
		if resp := &r.rec.responses[i]; resp.present {
			count++
			view = max(view, resp.view)
		}
	}
	p := &r.rec.primary
	if count < r.recoveryAnswersMin() || p.Command == CommandReserved || p.View != view {
		return // wait for more answers, or for the newest view's primary (whose answer carries the log)
	}
	assert(p.Command == CommandRecoveryResponse, "the primary's answer is a recovery_response")
	assert(p.Replica == r.primaryIndex(p.View), "the primary's answer is its view's primary's")
	assert(p.View >= r.view, "the primary's answer is of this view or a newer one")
	r.rec.retry.stop()
	r.rec.fallback.stop()
	r.installPrimaryLog(p, r.rec.primaryBody)
}
