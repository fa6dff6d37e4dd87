package node

import (
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// registerRepairMetrics adds the repair loop's figures to reg (served at
// GET /metrics): the last pass's stripe counts and queue, and the totals
// of rebuilt shards, drops, audits and scrubs since the start.
func (n *Node) registerRepairMetrics(reg prometheus.Registerer) {
	r := n.repair
	gauge := func(name, help string, f func(repairReport) int) {
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help},
			func() float64 { return float64(f(r.lastReport())) }))
	}
	counter := func(name, help string, v *atomic.Int64) {
		reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help},
			func() float64 { return float64(v.Load()) }))
	}
	for _, s := range []struct {
		state string
		f     func(repairReport) int
	}{
		{"healthy", func(x repairReport) int { return x.Healthy }},
		{"degraded", func(x repairReport) int { return x.Degraded }},
		{"at_risk", func(x repairReport) int { return x.AtRisk }},
		{"lost", func(x repairReport) int { return x.Lost }},
	} {
		gauge("respaldo_repair_stripes_"+s.state, "Stripes this node holds a shard of that its last repair pass found "+s.state+".", s.f)
	}
	gauge("respaldo_repair_queue", "Stripes with shards to rebuild or move, as the last repair pass saw them.", func(x repairReport) int { return x.Queue })
	gauge("respaldo_repair_surplus_copies", "Surplus shard copies the last repair pass saw (counted once in health).", func(x repairReport) int { return x.Surplus })
	c := &r.stats
	counter("respaldo_repair_passes_total", "Repair loop passes.", &c.passes)
	counter("respaldo_repair_shards_rebuilt_total", "Shards this node rebuilt and put on a new holder as a stripe's leader.", &c.rebuilt)
	counter("respaldo_repair_rebuilt_bytes_total", "Bytes of the shards this node rebuilt and put.", &c.rebuiltBytes)
	counter("respaldo_repair_fetched_bytes_total", "Shard bytes this node fetched from co-holders to rebuild stripes.", &c.fetchedBytes)
	counter("respaldo_repair_puts_cancelled_total", "Planned repair puts skipped because the stripe no longer needed them.", &c.cancelled)
	counter("respaldo_repair_put_failures_total", "Repair puts that failed (the peer is avoided and the stripe planned again).", &c.putFailures)
	counter("respaldo_repair_drops_total", "Surplus copies this node dropped.", &c.drops)
	counter("respaldo_repair_audits_total", "Audits of co-holders' shards.", &c.audits)
	counter("respaldo_repair_audit_failures_total", "Audits a co-holder failed.", &c.auditFailures)
	counter("respaldo_scrub_shards_total", "Shards re-read and re-hashed by scrubs.", &c.scrubbed)
	counter("respaldo_scrub_bad_total", "Shards a scrub found damaged and dropped.", &c.scrubBad)
}
