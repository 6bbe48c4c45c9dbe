package benchmark

import (
	"errors"
	"testing"
	"time"

	"github.com/govsr/govsr/server"
)

func TestPercentiles(t *testing.T) {
	r := &Result{Elapsed: 2 * time.Second}
	for i := 1; i <= 1000; i++ {
		r.Latencies = append(r.Latencies, time.Duration(i)*time.Millisecond)
	}
	cases := []struct {
		p    float64
		want time.Duration
	}{{0, time.Millisecond}, {0.5, 500 * time.Millisecond}, {0.9, 900 * time.Millisecond},
		{0.99, 990 * time.Millisecond}, {0.999, 999 * time.Millisecond}, {1, time.Second}}
	for _, c := range cases {
		if got := r.Percentile(c.p); got != c.want {
			t.Errorf("p%v = %s, want %s", c.p, got, c.want)
		}
	}
	if got := r.Throughput(); got != 500 {
		t.Errorf("throughput %v, want 500 requests/s", got)
	}
	if got := (&Result{}).Percentile(0.5); got != 0 {
		t.Errorf("percentile of no latencies = %s", got)
	}
}

func TestConfigErrors(t *testing.T) {
	ok := Config{Cluster: 1, Addresses: []string{"127.0.0.1:1"}, Clients: 2, Requests: 2, Timeout: time.Second}
	if err := ok.Check(); err != nil {
		t.Fatal(err)
	}
	for _, change := range []func(c *Config){
		func(c *Config) { c.Clients = 0 },
		func(c *Config) { c.Clients = ClientsMax + 1 },
		func(c *Config) { c.Requests = 1 },
		func(c *Config) { c.Timeout = 0 },
		func(c *Config) { c.Cluster = 0 },
		func(c *Config) { c.Addresses = nil },
	} {
		c := ok
		change(&c)
		if _, err := Run(c, nil); !errors.Is(err, server.ErrConfig) {
			t.Errorf("%+v: %v, want a configuration error", c, err)
		}
	}
}
