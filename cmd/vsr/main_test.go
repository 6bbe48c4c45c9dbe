package main

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// freeAddresses returns n loopback addresses with ports free a moment ago.
func freeAddresses(t *testing.T, n int) string {
	t.Helper()
	var addrs []string
	for range n {
		l, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addrs = append(addrs, l.Addr().String())
		l.Close()
	}
	return strings.Join(addrs, ",")
}

type cluster struct {
	t         *testing.T
	addresses string
	dir       string
	stops     []chan struct{}
	wg        sync.WaitGroup
	logs      []*syncBuffer
}

// syncBuffer is a log a server goroutine writes while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// small are the limits of the test clusters; clients pass only the
// message size.
var (
	small       = []string{"--keys-max", "2048", "--journal-slots", "64", "--message-size-max-kib", "16"}
	smallClient = []string{"--message-size-max-kib", "16"}
)

func (c *cluster) args(cmd string, replica int, more ...string) []string {
	args := []string{cmd, "--cluster", "9", "--addresses", c.addresses}
	if replica >= 0 {
		args = append(args, small...)
		args = append(args, "--replica", fmt.Sprint(replica), "--data", filepath.Join(c.dir, fmt.Sprintf("%d.vsr", replica)))
	} else {
		args = append(args, smallClient...)
	}
	return append(args, more...)
}

func newCluster(t *testing.T, n int) *cluster {
	c := &cluster{t: t, addresses: freeAddresses(t, n), dir: t.TempDir()}
	for i := range n {
		var out, errOut bytes.Buffer
		if code := run(c.args("format", i), &out, &errOut, nil); code != exitOK {
			t.Fatalf("format %d: exit %d: %s", i, code, errOut.String())
		}
		c.stops = append(c.stops, nil)
		c.logs = append(c.logs, &syncBuffer{})
		c.start(i)
	}
	t.Cleanup(c.stopAll)
	return c
}

func (c *cluster) start(i int) {
	c.stops[i] = make(chan struct{})
	c.wg.Add(1)
	// The goroutine gets its own copies: the test appends to c.logs while it runs.
	args, log := c.args("start", i), c.logs[i]
	go func(stop chan struct{}) {
		defer c.wg.Done()
		if code := run(args, log, log, stop); code != exitOK {
			c.t.Errorf("replica %d exited %d:\n%s", i, code, log.String())
		}
	}(c.stops[i])
}

func (c *cluster) stop(i int) {
	close(c.stops[i])
	c.stops[i] = nil
}

func (c *cluster) stopAll() {
	for i := range c.stops {
		if c.stops[i] != nil {
			c.stop(i)
		}
	}
	c.wg.Wait()
}

func (c *cluster) benchmark(requests int) string {
	c.t.Helper()
	var out, errOut bytes.Buffer
	code := run(c.args("benchmark", -1, "--clients", "4", "--requests", fmt.Sprint(requests), "--timeout", "60s"), &out, &errOut, nil)
	if code != exitOK {
		c.t.Fatalf("benchmark: exit %d: %s\nreplica logs:\n%s", code, errOut.String(), c.logs[0].String())
	}
	return out.String()
}

func TestClusterOverTCPAndFiles(t *testing.T) {
	c := newCluster(t, 3)
	out := c.benchmark(400)
	for _, want := range []string{`requests replied\s+│ 400 `, `latency p50\s+│ \d`, `latency p90\s+│ \d`,
		`latency p99\s+│ \d`, `latency p999\s+│ \d`, `latency max\s+│ \d`,
		`sessions registered in\s+│ \d`, `elapsed \(after registering\)\s+│ \d`} {
		if !regexp.MustCompile(want).MatchString(out) {
			t.Fatalf("benchmark output lacks %s:\n%s", want, out)
		}
	}
	// Stop a backup or the primary, keep working, restart it from its file.
	c.stop(1)
	c.benchmark(200)
	c.start(1)
	c.benchmark(200)
	time.Sleep(500 * time.Millisecond) // commit heartbeats (every 100 ms) carry the last commit to the backups
	c.stopAll()
	var ops []string
	for i, log := range c.logs {
		lines := strings.Split(strings.TrimSpace(log.String()), "\n")
		last := lines[len(lines)-1]
		if !strings.Contains(last, "stopping: normal") {
			t.Fatalf("replica %d did not stop normal: %q", i, last)
		}
		ops = append(ops, last[strings.Index(last, "op="):])
	}
	if ops[0] != ops[1] || ops[1] != ops[2] {
		t.Fatalf("replicas stopped at different points: %v", ops)
	}
}

func TestBadUsage(t *testing.T) {
	dir := t.TempDir()
	cases := [][]string{
		{},
		{"launch"},
		{"format", "--addresses", "127.0.0.1:1", "--replica", "0", "--data", filepath.Join(dir, "x")},
		{"format", "--cluster", "1", "--replica", "0", "--data", filepath.Join(dir, "x")},
		{"format", "--cluster", "1", "--addresses", "127.0.0.1:1", "--replica", "3", "--data", filepath.Join(dir, "x")},
		{"format", "--cluster", "1", "--addresses", "localhost:1", "--replica", "0", "--data", filepath.Join(dir, "x"), "--journal-slots", "3"},
		{"start", "--cluster", "1", "--addresses", "127.0.0.1:1", "--replica", "0"},
		{"start", "--cluster", "1", "--addresses", "127.0.0.1:1", "--replica", "0", "--data", "x", "--bus-faults", "drop=0.1"},
		{"start", "--cluster", "1", "--addresses", "127.0.0.1:1", "--replica", "0", "--data", "x", "--status-interval", "-1s"},
		{"benchmark", "--cluster", "1", "--addresses", "127.0.0.1:1", "--clients", "0"},
	}
	for _, args := range cases {
		var out, errOut bytes.Buffer
		if code := run(args, &out, &errOut, nil); code != exitUsage || errOut.Len() == 0 {
			t.Errorf("%v: exit %d, stderr %q", args, code, errOut.String())
		}
	}
	// A data file that is missing, or formatted for other options, is a
	// failure with a message, not a crash.
	var errOut bytes.Buffer
	if code := run([]string{"start", "--cluster", "1", "--addresses", "127.0.0.1:1", "--replica", "0", "--data",
		filepath.Join(dir, "missing")}, io.Discard, &errOut, nil); code != exitFailure || !strings.Contains(errOut.String(), "missing") {
		t.Errorf("start on a missing file: exit %d: %s", code, errOut.String())
	}
}
