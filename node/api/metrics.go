package api

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// GET /metrics: the Prometheus text format of ServerOptions.Metrics. It
// needs the token (or the dashboard's cookie) unless OpenMetrics is set; a
// local Prometheus can read the token with
// authorization: {credentials_file: DIR/api.token}, which it rereads at
// each scrape, so a restart's new token is picked up.

func (s *Server) metricsAccess() access {
	if s.opts.OpenMetrics {
		return open
	}
	return reader
}

func (s *Server) metrics(w http.ResponseWriter, r *http.Request) {
	if s.opts.Metrics == nil {
		writeError(w, errorf("not-found", "this node serves no metrics"))
		return
	}
	promhttp.HandlerFor(s.opts.Metrics, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError}).ServeHTTP(w, r)
}
