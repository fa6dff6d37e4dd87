package api

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// GET /metrics: the Prometheus text format of ServerOptions.Metrics and, if
// the Backend is a MetricsSource, of its own metrics. It needs the token
// (or the dashboard's cookie) unless OpenMetrics is set; a local
// Prometheus can read the token with
// authorization: {credentials_file: DIR/api.token}, which it rereads at
// each scrape, so a restart's new token is picked up.

// MetricsSource is a Backend with metrics of its own (the node's counters:
// node/crashpoint_metrics.go), served at /metrics with
// ServerOptions.Metrics.
type MetricsSource interface {
	Metrics() prometheus.Gatherer
}

func (s *Server) metricsAccess() access {
	if s.opts.OpenMetrics {
		return open
	}
	return reader
}

func (s *Server) metrics(w http.ResponseWriter, r *http.Request) {
	var gs prometheus.Gatherers
	if s.opts.Metrics != nil {
		gs = append(gs, s.opts.Metrics)
	}
	if m, ok := s.b.(MetricsSource); ok {
		if g := m.Metrics(); g != nil {
			gs = append(gs, g)
		}
	}
	if len(gs) == 0 {
		writeError(w, errorf("not-found", "this node serves no metrics"))
		return
	}
	promhttp.HandlerFor(gs, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError}).ServeHTTP(w, r)
}
