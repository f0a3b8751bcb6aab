package server

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the agent's Prometheus metrics, in a registry of its own.
type metrics struct {
	reg    *prometheus.Registry
	ops    *prometheus.CounterVec
	bytes  *prometheus.CounterVec
	errors *prometheus.CounterVec
}

// newMetrics registers the per-drive counters, and gauges read from each
// drive's store at scrape time.
func newMetrics(ds *drives) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		ops: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shingle_agent_drive_ops_total",
			Help: "Blob operations served per drive, by operation (put, get, delete).",
		}, []string{"drive", "op"}),
		bytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shingle_agent_drive_bytes_total",
			Help: "Blob bytes written (put) and read (get) per drive.",
		}, []string{"drive", "op"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shingle_agent_drive_errors_total",
			Help: "Failed operations per drive, by operation and Connect error code.",
		}, []string{"drive", "op", "code"}),
	}
	m.reg.MustRegister(m.ops, m.bytes, m.errors,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	for _, d := range ds.list {
		labels := prometheus.Labels{"drive": d.ID}
		m.reg.MustRegister(
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "shingle_agent_drive_free_bytes", ConstLabels: labels,
				Help: "Bytes in the drive's free extents."}, func() float64 { return float64(d.FreeBytes()) }),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "shingle_agent_drive_blobs", ConstLabels: labels,
				Help: "Live blobs on the drive."}, func() float64 { return float64(d.Store.Stat().Blobs) }),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "shingle_agent_drive_extents", ConstLabels: labels,
				Help: "Extents in use on the drive."}, func() float64 { return float64(d.Store.Stat().Extents) }),
		)
		// Make every series exist from the start, so rates work from the
		// first scrape.
		for _, op := range []string{"put", "get", "delete"} {
			m.ops.WithLabelValues(d.ID, op)
		}
		for _, op := range []string{"put", "get"} {
			m.bytes.WithLabelValues(d.ID, op)
		}
	}
	return m
}

// done counts one operation on drive that moved n bytes, or failed with
// code (empty on success).
func (m *metrics) done(drive, op string, n int, code string) {
	m.ops.WithLabelValues(drive, op).Inc()
	if code != "" {
		m.errors.WithLabelValues(drive, op, code).Inc()
		return
	}
	if n > 0 {
		m.bytes.WithLabelValues(drive, op).Add(float64(n))
	}
}

// handler serves the registry.
func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}
