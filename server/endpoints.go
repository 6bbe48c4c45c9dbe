package server

import (
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// endpoint is an HTTP server beside the replica (metrics, profiles),
// served on goroutines of its own: it never touches the replica.
type endpoint struct {
	server   *http.Server
	listener net.Listener
	done     chan struct{}
}

// serveHTTP listens on address (so that a bad one fails at start) and
// serves handler until close.
func serveHTTP(what, address string, handler http.Handler) (*endpoint, error) {
	l, err := net.Listen("tcp", address)
	if err != nil {
		return nil, fmt.Errorf("%w: %s endpoint: %w", ErrConfig, what, err)
	}
	e := &endpoint{server: &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}, listener: l,
		done: make(chan struct{})}
	go func() {
		defer close(e.done)
		// It returns when closed, or when the listener fails: then the
		// endpoint is gone and the replica carries on without it.
		_ = e.server.Serve(l)
	}()
	return e, nil
}

// address is where the endpoint listens (a port 0 resolved), or "" for
// no endpoint.
func (e *endpoint) address() string {
	if e == nil {
		return ""
	}
	return e.listener.Addr().String()
}

func (e *endpoint) close() {
	if e == nil {
		return
	}
	e.server.Close()
	<-e.done
}

// metricsHandler serves the registry at /metrics.
func (m *metrics) handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{}))
	return mux
}

// pprofHandler serves Go's profiles under /debug/pprof/.
func pprofHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}
