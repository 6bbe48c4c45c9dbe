// Package servertest runs a real cluster inside a test process: each
// replica a server.Server over loopback TCP and a data file in a temporary
// directory, on its own goroutine. Replicas can be stopped and started
// again on their files.
package servertest

import (
	"fmt"
	"net"
	"path/filepath"
	"sync"
	"testing"

	"github.com/govsr/govsr/server"
)

// Cluster is a running in-process cluster.
type Cluster struct {
	Config server.Config // every replica's, Replica and Data aside
	dir    string

	mu      sync.Mutex
	stops   []chan struct{} // nil for a stopped replica
	done    []chan struct{}
	logs    []*Log
	errs    []error          // of replicas whose loop failed
	servers []*server.Server // the latest of each replica
}

// FreeAddresses returns n loopback addresses whose ports were free a
// moment ago.
func FreeAddresses(n int) ([]string, error) {
	var addrs []string
	for range n {
		l, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		addrs = append(addrs, l.Addr().String())
		l.Close()
	}
	return addrs, nil
}

// Small is a config with small limits, so that data files stay small.
func Small(cluster uint64, addresses []string) server.Config {
	return server.Config{Cluster: cluster, Addresses: addresses, KeysMax: 2048, JournalSlots: 64, MessageSizeMax: 16 << 10}
}

// Start formats and starts a cluster of config (Replica and Data are set
// per replica) in a temporary directory; it is stopped, and the test fails
// if a replica failed, at the end of the test.
func Start(t testing.TB, config server.Config) *Cluster {
	t.Helper()
	c, err := New(config, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Error(err)
		}
	})
	return c
}

// StartSmall starts a cluster of n replicas with small limits on free
// loopback ports, and more configured by configure (if not nil).
func StartSmall(t testing.TB, n int, configure func(*server.Config)) *Cluster {
	t.Helper()
	addresses, err := FreeAddresses(n)
	if err != nil {
		t.Fatal(err)
	}
	config := Small(1, addresses)
	if configure != nil {
		configure(&config)
	}
	return Start(t, config)
}

// New formats a cluster of config in dir and starts every replica.
func New(config server.Config, dir string) (*Cluster, error) {
	c := &Cluster{Config: config, dir: dir}
	n := len(config.Addresses)
	c.stops, c.done, c.servers = make([]chan struct{}, n), make([]chan struct{}, n), make([]*server.Server, n)
	for i := range n {
		c.logs = append(c.logs, &Log{})
		if _, err := server.Format(c.ReplicaConfig(i), false); err != nil {
			return nil, fmt.Errorf("servertest: format replica %d: %w", i, err)
		}
	}
	for i := range n {
		if err := c.StartReplica(i); err != nil {
			c.StopAll()
			return nil, err
		}
	}
	return c, nil
}

// ReplicaConfig is replica i's config.
func (c *Cluster) ReplicaConfig(i int) server.Config {
	rc := c.Config
	rc.Replica, rc.Data = i, filepath.Join(c.dir, fmt.Sprintf("%d.vsr", i))
	return rc
}

// StartReplica starts replica i on its data file.
func (c *Cluster) StartReplica(i int) error {
	s, err := server.Open(c.ReplicaConfig(i), c.logs[i])
	if err != nil {
		return fmt.Errorf("servertest: open replica %d: %w", i, err)
	}
	stop, done := make(chan struct{}), make(chan struct{})
	c.mu.Lock()
	c.stops[i], c.done[i], c.servers[i] = stop, done, s
	c.mu.Unlock()
	go func() {
		defer close(done)
		defer s.Close()
		if err := s.Run(stop); err != nil {
			c.mu.Lock()
			c.errs = append(c.errs, fmt.Errorf("servertest: replica %d: %w\n%s", i, err, c.logs[i]))
			c.mu.Unlock()
		}
	}()
	return nil
}

// Server returns replica i's server (the latest started), for its
// addresses; its replica belongs to its loop's goroutine.
func (c *Cluster) Server(i int) *server.Server {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.servers[i]
}

// StopReplica stops replica i and waits for it to close its file.
func (c *Cluster) StopReplica(i int) {
	c.mu.Lock()
	stop, done := c.stops[i], c.done[i]
	c.stops[i] = nil
	c.mu.Unlock()
	if stop != nil {
		close(stop)
		<-done
	}
}

// Close stops every replica and reports the first that failed.
func (c *Cluster) Close() error {
	c.StopAll()
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.errs) > 0 {
		return c.errs[0]
	}
	return nil
}

// StopAll stops every replica.
func (c *Cluster) StopAll() {
	for i := range c.stops {
		c.StopReplica(i)
	}
}

// Log returns replica i's status lines so far.
func (c *Cluster) Log(i int) string { return c.logs[i].String() }

// Log is a status log one goroutine writes while another reads it.
type Log struct {
	mu sync.Mutex
	b  []byte
}

func (l *Log) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b = append(l.b, p...)
	return len(p), nil
}

func (l *Log) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return string(l.b)
}
