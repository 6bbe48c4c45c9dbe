package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/govsr/govsr/client"
)

// kv runs vsr kv against the cluster and returns its output and exit code.
func (c *cluster) kv(op ...string) (string, int) {
	var out, errOut bytes.Buffer
	code := run(c.args("kv", -1, append([]string{"--timeout", "30s"}, op...)...), &out, &errOut, nil)
	if errOut.Len() > 0 && code != exitUsage {
		c.t.Logf("kv %v: %s", op, errOut.String())
	}
	return out.String(), code
}

func TestKV(t *testing.T) {
	c := newCluster(t, 3)
	steps := []struct {
		op   []string
		out  string
		code int
	}{
		{[]string{"read", "color"}, "not_found\n", exitNo},
		{[]string{"cas", "color", "red", "blue"}, "not_found\n", exitNo},
		{[]string{"write", "color", "red"}, "ok\n", exitOK},
		{[]string{"read", "color"}, "red\n", exitOK},
		{[]string{"cas", "color", "green", "blue"}, "mismatch red\n", exitNo},
		{[]string{"cas", "color", "red", "blue"}, "ok\n", exitOK},
		{[]string{"read", "color"}, "blue\n", exitOK},
		{[]string{"write", "empty", ""}, "ok\n", exitOK},
		{[]string{"read", "empty"}, "\n", exitOK},
		{[]string{"read"}, "", exitUsage},
		{[]string{"write", "k"}, "", exitUsage},
		{[]string{"delete", "k"}, "", exitUsage},
		{[]string{"read", strings.Repeat("k", 65)}, "", exitUsage}, // the store's keys are at most 64 bytes
	}
	for _, s := range steps {
		out, code := c.kv(s.op...)
		if out != s.out || code != s.code {
			t.Errorf("kv %v: %q, exit %d; want %q, exit %d", s.op, out, code, s.out, s.code)
		}
	}
}

func TestKVUnreachable(t *testing.T) {
	var out, errOut bytes.Buffer
	code := run([]string{"kv", "--cluster", "9", "--addresses", freeAddresses(t, 3), "--timeout", "300ms", "read", "k"},
		&out, &errOut, nil)
	if code != exitUnreachable || out.Len() != 0 || !strings.Contains(errOut.String(), "unreachable") {
		t.Fatalf("kv with no cluster: exit %d, stdout %q, stderr %q", code, out.String(), errOut.String())
	}
}

// Each kind of client error has its exit code.
func TestKVErrorCodes(t *testing.T) {
	cases := []struct {
		err  error
		code int
	}{
		{&client.TooLargeError{What: "key", Size: 70, Max: 64}, exitUsage},
		{fmt.Errorf("dial: %w", client.ErrUnreachable), exitUnreachable},
		{fmt.Errorf("write: %w (%w)", context.DeadlineExceeded, client.ErrIndefinite), exitIndefinite},
		{fmt.Errorf("write: %w: %w (%w)", client.ErrUnreachable, context.DeadlineExceeded, client.ErrIndefinite), exitIndefinite},
		{client.ErrInvalid, exitKVFailure},
	}
	for _, c := range cases {
		if code := kvError(&bytes.Buffer{}, c.err); code != c.code {
			t.Errorf("%v: exit %d, want %d", c.err, code, c.code)
		}
	}
}

// Replicas and clients take hostnames and IPv6 literals in --addresses.
func TestHostnamesAndIPv6Addresses(t *testing.T) {
	l6, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	}
	v6 := l6.Addr().String()
	l6.Close()
	ports := strings.Split(freeAddresses(t, 2), ",")
	host := "localhost:" + ports[0][strings.LastIndex(ports[0], ":")+1:]
	if _, err := net.ResolveTCPAddr("tcp", host); err != nil {
		t.Skipf("localhost does not resolve: %v", err)
	}
	c := &cluster{t: t, addresses: strings.Join([]string{host, v6, ports[1]}, ","), dir: t.TempDir()}
	for i := range 3 {
		var errOut bytes.Buffer
		if code := run(c.args("format", i), &bytes.Buffer{}, &errOut, nil); code != exitOK {
			t.Fatalf("format %d: exit %d: %s", i, code, errOut.String())
		}
		c.stops, c.logs = append(c.stops, nil), append(c.logs, &syncBuffer{})
		c.start(i)
	}
	t.Cleanup(c.stopAll)
	if out, code := c.kv("write", "k", "v"); code != exitOK {
		t.Fatalf("write over %s: %q, exit %d", c.addresses, out, code)
	}
	if out, code := c.kv("read", "k"); code != exitOK || out != "v\n" {
		t.Fatalf("read over %s: %q, exit %d", c.addresses, out, code)
	}
}
