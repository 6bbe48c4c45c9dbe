// Command vsr runs a real govsr cluster: the same replica core as the
// simulator, over TCP (an epoll loop) and a data file.
//
//	vsr format    --cluster N --replica I --addresses A,B,C --data FILE
//	vsr start     --cluster N --replica I --addresses A,B,C --data FILE
//	vsr benchmark --cluster N --addresses A,B,C [--clients 8] [--requests 10000]
//
// Every replica of a cluster is formatted and started with the same
// --cluster, --addresses and limits. Exit codes: 0 done, 1 failure, 2 bad usage.
// This package is flags and wiring only: the replica's loop is in
// vsr/server and the load generator in vsr/benchmark.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/govsr/govsr/vsr/benchmark"
	"github.com/govsr/govsr/vsr/server"
	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/tw"
)

const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

func main() {
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	done := make(chan struct{})
	go func() { <-stop; close(done) }()
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr, done))
}

func run(args []string, stdout, stderr io.Writer, stop <-chan struct{}) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "vsr: usage: vsr format|start|benchmark [flags] (vsr COMMAND -h for flags)")
		return exitUsage
	}
	switch args[0] {
	case "format":
		return format(args[1:], stdout, stderr)
	case "start":
		return start(args[1:], stdout, stderr, stop)
	case "benchmark":
		return bench(args[1:], stdout, stderr, stop)
	}
	fmt.Fprintf(stderr, "vsr: unknown command %q (want format, start or benchmark)\n", args[0])
	return exitUsage
}

// parseFlags parses the flags every command shares, which fix the options
// the data files are formatted with, and the command's own (extra).
func parseFlags(name string, args []string, stderr io.Writer, needReplica bool, extra func(fs *flag.FlagSet)) (*server.Config, error) {
	c := &server.Config{}
	var messageKiB int
	fs := flag.NewFlagSet("vsr "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Uint64Var(&c.Cluster, "cluster", 0, "cluster id (non-zero; the same on every replica and client)")
	fs.IntVar(&c.Replica, "replica", -1, "this replica's index in --addresses")
	addresses := fs.String("addresses", "", "every replica's IPv4 host:port, comma-separated, in replica order")
	fs.StringVar(&c.Data, "data", "", "the replica's data file")
	fs.IntVar(&c.KeysMax, "keys-max", 1<<16, "key-value store capacity, in keys")
	fs.IntVar(&messageKiB, "message-size-max-kib", 64, "largest message, KiB")
	fs.IntVar(&c.JournalSlots, "journal-slots", 256, "journal slots")
	if extra != nil {
		extra(fs)
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if *addresses != "" {
		c.Addresses = strings.Split(*addresses, ",")
	}
	if messageKiB < 1 || messageKiB > 64<<10 {
		return nil, fmt.Errorf("--message-size-max-kib %d outside [1, %d]", messageKiB, 64<<10)
	}
	c.MessageSizeMax = uint32(messageKiB) << 10
	return c, c.Check(needReplica)
}

// fail reports err and returns its exit code: bad usage for a flag or
// configuration error, failure otherwise.
func fail(stderr io.Writer, err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return exitUsage
	}
	fmt.Fprintf(stderr, "vsr: %v\n", err)
	if errors.Is(err, server.ErrConfig) {
		return exitUsage
	}
	return exitFailure
}

func usageError(stderr io.Writer, err error) int {
	if !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintf(stderr, "vsr: %v\n", err)
	}
	return exitUsage
}

func format(args []string, stdout, stderr io.Writer) int {
	var rejoin bool
	c, err := parseFlags("format", args, stderr, true, func(fs *flag.FlagSet) {
		fs.BoolVar(&rejoin, "rejoin", false, "format a replacement for a replica that lost its data file")
	})
	if err != nil {
		return usageError(stderr, err)
	}
	size, err := server.Format(*c, rejoin)
	if err != nil {
		return fail(stderr, err)
	}
	fmt.Fprintf(stdout, "formatted %s: replica %d of cluster %d, %d bytes (sparse)\n", c.Data, c.Replica, c.Cluster, size)
	return exitOK
}

func start(args []string, stdout, stderr io.Writer, stop <-chan struct{}) int {
	c, err := parseFlags("start", args, stderr, true, nil)
	if err != nil {
		return usageError(stderr, err)
	}
	s, err := server.Open(*c, stdout)
	if err != nil {
		return fail(stderr, err)
	}
	defer s.Close()
	fmt.Fprintf(stdout, "replica %d of cluster %d listening on %s\n", c.Replica, c.Cluster, c.Addresses[c.Replica])
	if err := s.Run(stop); err != nil {
		return fail(stderr, err)
	}
	return exitOK
}

func bench(args []string, stdout, stderr io.Writer, stop <-chan struct{}) int {
	b := benchmark.Config{}
	c, err := parseFlags("benchmark", args, stderr, false, func(fs *flag.FlagSet) {
		fs.IntVar(&b.Clients, "clients", 8, "concurrent clients, one request in flight each")
		fs.IntVar(&b.Requests, "requests", 10_000, "requests in all (writes of 16-byte keys, 64-byte values)")
		fs.DurationVar(&b.Timeout, "timeout", time.Minute, "give up after this long")
	})
	if err != nil {
		return usageError(stderr, err)
	}
	if _, _, err := c.Build(); err != nil {
		return fail(stderr, err)
	}
	b.Cluster, b.Addresses, b.MessageSizeMax = c.Cluster, c.Addresses, c.MessageSizeMax
	result, err := benchmark.Run(b, stop)
	if err != nil {
		return fail(stderr, err)
	}
	printBenchmark(stdout, result)
	return exitOK
}

func printBenchmark(w io.Writer, r *benchmark.Result) {
	t := tablewriter.NewTable(w, tablewriter.WithHeaderAutoFormat(tw.Off))
	t.Header("benchmark", "value")
	_ = t.Append("clients", r.Clients)
	_ = t.Append("requests replied", len(r.Latencies))
	_ = t.Append("elapsed", r.Elapsed.Round(time.Millisecond))
	_ = t.Append("throughput", fmt.Sprintf("%.0f requests/s", r.Throughput()))
	_ = t.Append("latency p50 / p99 / max", fmt.Sprintf("%s / %s / %s", r.Percentile(0.50).Round(time.Microsecond),
		r.Percentile(0.99).Round(time.Microsecond), r.Percentile(1).Round(time.Microsecond)))
	_ = t.Render()
}
