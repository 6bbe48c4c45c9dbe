// Command etcd-bench is the load generator of scripts/compare-etcd.sh: a
// closed loop of puts against an etcd cluster, the same workload as
// `vsr benchmark` (each client writes 64-byte values to keys of its own,
// one request in flight), printing one summary line in the format of
// scripts/cluster-bench.sh. It lives in its own module so that govsr does
// not depend on etcd.
//
//	etcd-bench --endpoints 127.0.0.1:2379,... --clients 64 --requests 100000
package main

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

func main() {
	endpoints := flag.String("endpoints", "127.0.0.1:2379", "etcd client URLs or host:port, comma-separated")
	clients := flag.Int("clients", 8, "concurrent clients, one request in flight each")
	requests := flag.Int("requests", 10_000, "requests in all")
	connections := flag.Int("connections", 16, "gRPC connections the clients share, at most")
	timeout := flag.Duration("timeout", 10*time.Minute, "give up after this long")
	flag.Parse()
	if *clients < 1 || *clients > 4096 || *requests < *clients || *connections < 1 {
		fmt.Fprintln(os.Stderr, "etcd-bench: --clients 1..4096, --requests at least --clients, --connections at least 1")
		os.Exit(2)
	}
	if err := run(strings.Split(*endpoints, ","), *clients, *requests, *connections, *timeout); err != nil {
		fmt.Fprintf(os.Stderr, "etcd-bench: %v\n", err)
		os.Exit(1)
	}
}

func run(endpoints []string, clients, requests, connections int, timeout time.Duration) error {
	conns := make([]*clientv3.Client, min(clients, connections))
	for i := range conns {
		c, err := clientv3.New(clientv3.Config{Endpoints: endpoints, DialTimeout: 5 * time.Second})
		if err != nil {
			return err
		}
		defer c.Close()
		conns[i] = c
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	perClient := requests / clients
	latencies := make([][]time.Duration, clients)
	errs := make([]error, clients)
	var wg sync.WaitGroup
	started := time.Now()
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			latencies[i], errs[i] = client(ctx, conns[i%len(conns)], i, perClient)
		}()
	}
	wg.Wait()
	elapsed := time.Since(started)
	var all []time.Duration
	for i := range clients {
		if errs[i] != nil {
			return errs[i]
		}
		all = append(all, latencies[i]...)
	}
	slices.Sort(all)
	pct := func(p float64) time.Duration { return all[min(len(all)-1, int(p*float64(len(all))))] }
	fmt.Printf("clients=%d requests=%d throughput=%.0f/s latency(p50/p99/max)=%s/%s/%s\n", clients, len(all),
		float64(len(all))/elapsed.Seconds(), pct(0.50).Round(time.Microsecond), pct(0.99).Round(time.Microsecond),
		all[len(all)-1].Round(time.Microsecond))
	return nil
}

// client writes perClient values of 64 bytes to 1024 keys of its own, as
// `vsr benchmark` does, and returns each write's latency.
func client(ctx context.Context, c *clientv3.Client, index, perClient int) ([]time.Duration, error) {
	random := rand.New(rand.NewPCG(uint64(index), 1))
	latencies := make([]time.Duration, 0, perClient)
	for done := range perClient {
		key := fmt.Sprintf("k%d-%016x", index, random.Uint64()%1024)
		value := fmt.Sprintf("%064x", done)
		sent := time.Now()
		if _, err := c.Put(ctx, key, value); err != nil {
			return nil, fmt.Errorf("client %d, put %d: %w", index, done, err)
		}
		latencies = append(latencies, time.Since(sent))
	}
	return latencies, nil
}
