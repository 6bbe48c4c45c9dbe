package vsr

// timeout fires every afterTicks ticks while running.
type timeout struct {
	afterTicks int
	ticks      int
	running    bool
}

func (t *timeout) start(afterTicks int) {
	assert(afterTicks >= 1, "a timeout of at least one tick")
	t.afterTicks, t.ticks, t.running = afterTicks, 0, true
}

// reset restarts the count without changing the period.
func (t *timeout) reset() {
	assert(t.running, "reset of a running timeout")
	t.ticks = 0
}

func (t *timeout) stop() { t.running, t.ticks = false, 0 }

// tick advances the timeout and reports whether it fired (and restarted).
func (t *timeout) tick() bool {
	if !t.running {
		return false
	}
	assert(t.afterTicks >= 1, "a running timeout has a period")
	assert(t.ticks < t.afterTicks, "a running timeout restarts when it fires")
	t.ticks++
	if t.ticks < t.afterTicks {
		return false
	}
	t.ticks = 0
	return true
}

// timers are a replica's timeouts; which run depends on status and role.
type timers struct {
	heartbeat       timeout // primary: send commit
	prepareRetry    timeout // primary: resend unacknowledged prepares
	abdicate        timeout // primary: the pipeline head has not committed
	primary         timeout // backup: no word from the primary
	viewChange      timeout // view change: stalled, try the next view
	viewChangeRetry timeout // view change: resend start_view_change / do_view_change
	repair          timeout // fetch missing headers and prepares
}

func newTimers(o *Options) timers {
	var t timers
	t.repair.start(o.RepairRetryTicks)
	assert(t.repair.running, "the repair timeout always runs")
	return t
}
