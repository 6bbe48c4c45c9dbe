package server

import (
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/govsr/govsr/vsr"
	"github.com/govsr/govsr/vsr/storage"
)

// metrics exposes a replica to Prometheus without reaching into it from
// another goroutine: the loop copies what the replica already counts
// (its Stats, view, status, op, commit) into a snapshot every tick, counts
// requests and replies from the replica's event hook, and times journal
// writes and fsyncs at the storage layer. The scrape reads the snapshot.
// Nothing here adds a clock or a goroutine to package vsr.
type metrics struct {
	registry *prometheus.Registry
	replica  uint8

	mu       sync.Mutex
	snapshot snapshot

	journalWrite prometheus.Histogram // submission of a journal write to its completion handed to the replica
	fsync        prometheus.Histogram
	// journalPending holds the submission time of each journal write in
	// flight, by tag: bounded by the writes the replica has in flight.
	journalPending map[uint64]time.Time
	requests       uint64 // client requests applied (the loop's; copied into snapshot)
	replies        uint64
}

// snapshot is what the loop copies from the replica.
type snapshot struct {
	replica, replicaCount uint8
	status                vsr.Status
	view, logView         uint32
	op, commit            uint64
	commitMax             uint64
	stats                 vsr.Stats
	requests, replies     uint64
}

// primary reports whether the replica is the normal primary of its view.
func (s *snapshot) primary() bool {
	return s.status == vsr.StatusNormal && s.replicaCount > 0 && s.view%uint32(s.replicaCount) == uint32(s.replica)
}

// latencyBuckets span 50 µs to about 1.6 s.
var latencyBuckets = prometheus.ExponentialBuckets(50e-6, 2, 16)

func newMetrics(replica uint8) *metrics {
	m := &metrics{registry: prometheus.NewRegistry(), replica: replica, journalPending: map[uint64]time.Time{}}
	labels := prometheus.Labels{"replica": strconv.Itoa(int(replica))}
	m.journalWrite = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "govsr_journal_write_seconds",
		Help:    "From the submission of a journal write (header sector or prepare) to its durable completion.",
		Buckets: latencyBuckets, ConstLabels: labels})
	m.fsync = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "govsr_fsync_seconds",
		Help: "Duration of each fdatasync of the data file.", Buckets: latencyBuckets, ConstLabels: labels})
	m.registry.MustRegister(m, m.journalWrite, m.fsync)
	return m
}

// The metrics the snapshot feeds, by name: help, and whether a counter.
var snapshotMetrics = []struct {
	name, help string
	counter    bool
	value      func(s *snapshot) float64
}{
	{"govsr_replica_view", "The replica's view.", false, func(s *snapshot) float64 { return float64(s.view) }},
	{"govsr_replica_log_view", "The last view in which the replica's log was normal.", false, func(s *snapshot) float64 { return float64(s.logView) }},
	{"govsr_replica_op", "The head of the replica's log.", false, func(s *snapshot) float64 { return float64(s.op) }},
	{"govsr_replica_commit", "The last op executed here.", false, func(s *snapshot) float64 { return float64(s.commit) }},
	{"govsr_replica_commit_max", "The highest op known committed.", false, func(s *snapshot) float64 { return float64(s.commitMax) }},
	{"govsr_replica_primary", "1 if the replica is the primary of its view and normal.", false, func(s *snapshot) float64 {
		return boolFloat(s.primary())
	}},
	{"govsr_requests_total", "Client requests executed.", true, func(s *snapshot) float64 { return float64(s.requests) }},
	{"govsr_replies_total", "Replies sent to clients.", true, func(s *snapshot) float64 { return float64(s.replies) }},
	{"govsr_prepares_total", "Prepares created as primary.", true, func(s *snapshot) float64 { return float64(s.stats.Prepares) }},
	{"govsr_executed_total", "Ops executed.", true, func(s *snapshot) float64 { return float64(s.stats.Executed) }},
	{"govsr_view_changes_total", "View changes started.", true, func(s *snapshot) float64 { return float64(s.stats.ViewChanges) }},
	{"govsr_repair_requests_total", "Repair requests sent (headers and prepares).", true, func(s *snapshot) float64 { return float64(s.stats.RepairRequests) }},
	{"govsr_state_transfers_total", "Checkpoints taken from a peer.", true, func(s *snapshot) float64 { return float64(s.stats.StateTransfers) }},
	{"govsr_checkpoints_total", "Checkpoints made durable.", true, func(s *snapshot) float64 { return float64(s.stats.Checkpoints) }},
	{"govsr_evictions_total", "Client sessions evicted.", true, func(s *snapshot) float64 { return float64(s.stats.Evictions) }},
	{"govsr_messages_received_total", "Messages received.", true, func(s *snapshot) float64 { return float64(s.stats.MessagesReceived) }},
	{"govsr_messages_sent_total", "Messages sent.", true, func(s *snapshot) float64 { return float64(s.stats.MessagesSent) }},
	{"govsr_messages_dropped_total", "Messages dropped by the replica's filters.", true, func(s *snapshot) float64 { return float64(s.stats.MessagesDropped) }},
}

func boolFloat(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

var statuses = []vsr.Status{vsr.StatusNormal, vsr.StatusViewChange, vsr.StatusRecovering}

func (m *metrics) desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(name, help, labels, prometheus.Labels{"replica": strconv.Itoa(int(m.replica))})
}

// Describe sends every metric's description (prometheus.Collector).
func (m *metrics) Describe(ch chan<- *prometheus.Desc) {
	for _, sm := range snapshotMetrics {
		ch <- m.desc(sm.name, sm.help)
	}
	ch <- m.desc("govsr_replica_status", "1 for the replica's status.", "status")
}

// Collect sends the snapshot's values (prometheus.Collector).
func (m *metrics) Collect(ch chan<- prometheus.Metric) {
	m.mu.Lock()
	s := m.snapshot
	m.mu.Unlock()
	for _, sm := range snapshotMetrics {
		kind := prometheus.GaugeValue
		if sm.counter {
			kind = prometheus.CounterValue
		}
		ch <- prometheus.MustNewConstMetric(m.desc(sm.name, sm.help), kind, sm.value(&s))
	}
	for _, st := range statuses {
		ch <- prometheus.MustNewConstMetric(m.desc("govsr_replica_status", "1 for the replica's status.", "status"),
			prometheus.GaugeValue, boolFloat(s.status == st), st.String())
	}
}

// update copies the replica's state; the loop calls it between inputs.
func (m *metrics) update(r *vsr.Replica) {
	s := snapshot{status: r.Status(), view: r.View(), logView: r.LogView(), op: r.Op(), commit: r.CommitMin(),
		commitMax: r.CommitMax(), stats: r.Stats(), requests: m.requests, replies: m.replies}
	s.replicaCount, s.replica = r.Options().ReplicaCount, r.Index()
	m.mu.Lock()
	m.snapshot = s
	m.mu.Unlock()
}

// hook counts requests applied and replies sent (vsr.EventHook).
func (m *metrics) hook(e *vsr.Event) {
	switch e.Kind {
	case vsr.EventApplied:
		m.requests++
	case vsr.EventReply:
		m.replies++
	}
}

// timedStorage is the data file with its journal writes timed.
type timedStorage struct {
	file   *storage.File
	m      *metrics
	layout vsr.Layout
}

func (t *timedStorage) Read(offset uint64, buf []byte, tag uint64) { t.file.Read(offset, buf, tag) }

func (t *timedStorage) Write(offset uint64, data []byte, tag uint64) {
	if zone, _ := t.layout.ZoneOf(offset); zone == vsr.ZoneHeaders || zone == vsr.ZonePrepares {
		t.m.journalPending[tag] = time.Now()
	}
	t.file.Write(offset, data, tag)
}

// storageDone times a journal write as its completion reaches the replica.
func (m *metrics) storageDone(tag uint64) {
	if started, ok := m.journalPending[tag]; ok {
		delete(m.journalPending, tag)
		m.journalWrite.Observe(time.Since(started).Seconds())
	}
}
