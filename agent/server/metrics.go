package server

import (
	"net/http"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/shingle-storage/shingle/agent/health/iotime"
	"github.com/shingle-storage/shingle/agent/health/monitor"
	"github.com/shingle-storage/shingle/agent/health/smart"
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
	m.reg.MustRegister(m.ops, m.bytes, m.errors, healthCollector{ds},
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

// The per-drive device I/O and health metrics, read at scrape time from
// each drive's I/O counters (live) and the health monitor's latest check.
var (
	descDeviceOps = prometheus.NewDesc("shingle_agent_device_ops_total",
		"Operations the agent issued to the drive's device, by kind (read, write, sync, zone: zone reports and management), failed ones included.",
		[]string{"drive", "op"}, nil)
	descDeviceBytes = prometheus.NewDesc("shingle_agent_device_bytes_total",
		"Bytes read from and written to the drive's device.", []string{"drive", "op"}, nil)
	descDeviceErrors = prometheus.NewDesc("shingle_agent_device_errors_total",
		"Device errors (I/O errors, zones gone read-only or offline) by kind of operation.", []string{"drive", "op"}, nil)
	descDeviceLatency = prometheus.NewDesc("shingle_agent_device_latency_seconds",
		"Latency of the drive's device operations (read, write, sync), as the agent sees them, queueing included.",
		[]string{"drive", "op"}, nil)

	descHealth = prometheus.NewDesc("shingle_agent_drive_health",
		"The health monitor's verdict on the drive: 1 for the current state (ok, suspect, failing), 0 for the others.",
		[]string{"drive", "state"}, nil)
	descHealthChecked = prometheus.NewDesc("shingle_agent_drive_health_checked_timestamp_seconds",
		"When the health monitor last checked the drive, in seconds since the epoch.", []string{"drive"}, nil)
	descFailureProbability = prometheus.NewDesc("shingle_agent_drive_failure_probability",
		"Predicted probability that the drive fails within 30 days, from its SMART history; absent for drives without SMART data.",
		[]string{"drive"}, nil)
	descFailSlow = prometheus.NewDesc("shingle_agent_drive_fail_slow",
		"1 if the drive's read or write latency over the last window is an outlier among the host's drives (fail-slow), else 0.",
		[]string{"drive"}, nil)
	descZones = prometheus.NewDesc("shingle_agent_drive_zones",
		"The drive's zones by condition, from its zone report.", []string{"drive", "condition"}, nil)
	descSMARTRaw = prometheus.NewDesc("shingle_agent_drive_smart_raw",
		"Raw value of the Backblaze SMART attributes the drive reports: 5 reallocated sectors, 187 reported uncorrectable, 188 command timeouts, 197 pending sectors, 198 offline uncorrectable.",
		[]string{"drive", "attribute"}, nil)
	descSMARTFailing = prometheus.NewDesc("shingle_agent_drive_smart_failing_attributes",
		"SMART attributes at or below the drive's own threshold.", []string{"drive"}, nil)
	descTemperature = prometheus.NewDesc("shingle_agent_drive_temperature_celsius",
		"The drive's temperature from SMART.", []string{"drive"}, nil)
	descNVMeWarning = prometheus.NewDesc("shingle_agent_drive_nvme_critical_warning",
		"The NVMe critical warning bits (0 for none).", []string{"drive"}, nil)
	descNVMeMediaErrors = prometheus.NewDesc("shingle_agent_drive_nvme_media_errors",
		"NVMe media and data integrity errors over the drive's life.", []string{"drive"}, nil)
	descNVMeUsed = prometheus.NewDesc("shingle_agent_drive_nvme_percentage_used",
		"NVMe estimate of the rated endurance used, in percent.", []string{"drive"}, nil)
)

// latencyOps are the kinds of operation whose latency is exposed.
var latencyOps = []iotime.Op{iotime.Read, iotime.Write, iotime.Sync}

// healthCollector exposes the drives' device I/O and health.
type healthCollector struct{ ds *drives }

// Describe sends every metric's description.
func (c healthCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descDeviceOps, descDeviceBytes, descDeviceErrors, descDeviceLatency,
		descHealth, descHealthChecked, descFailureProbability, descFailSlow, descZones, descSMARTRaw, descSMARTFailing,
		descTemperature, descNVMeWarning, descNVMeMediaErrors, descNVMeUsed} {
		ch <- d
	}
}

// Collect reads each drive's counters and latest health status.
func (c healthCollector) Collect(ch chan<- prometheus.Metric) {
	gauge := func(desc *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, v, labels...)
	}
	counter := func(desc *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(desc, prometheus.CounterValue, float64(v), labels...)
	}
	bounds := iotime.BoundsSeconds()
	for _, d := range c.ds.list {
		if d.IO != nil {
			stats := d.IO.Stats()
			for _, op := range iotime.Ops() {
				s := stats.Of(op)
				counter(descDeviceOps, s.Ops, d.ID, op.String())
				counter(descDeviceErrors, s.Errors, d.ID, op.String())
				if op == iotime.Read || op == iotime.Write {
					counter(descDeviceBytes, s.Bytes, d.ID, op.String())
				}
			}
			for _, op := range latencyOps {
				l := stats.Of(op).Latency
				buckets := make(map[float64]uint64, len(bounds))
				var cum uint64
				for i, b := range bounds {
					cum += l.Buckets[i]
					buckets[b] = cum
				}
				ch <- prometheus.MustNewConstHistogram(descDeviceLatency, l.Count(), l.Sum.Seconds(), buckets, d.ID, op.String())
			}
		}

		st, checked := d.HealthStatus()
		if !checked {
			continue
		}
		for _, state := range []string{monitor.HealthOK, monitor.HealthSuspect, monitor.HealthFailing} {
			gauge(descHealth, boolFloat(st.Health == state), d.ID, state)
		}
		gauge(descHealthChecked, float64(st.Checked.UnixMilli())/1e3, d.ID)
		if st.Predicted {
			gauge(descFailureProbability, st.FailureProbability, d.ID)
		}
		gauge(descFailSlow, boolFloat(st.FailSlow.Slow), d.ID)
		if st.Zones != nil {
			for _, cond := range monitor.Conditions() {
				gauge(descZones, float64(st.Zones[cond]), d.ID, monitor.ConditionName(cond))
			}
		}
		if !st.HasSMART {
			continue
		}
		g := st.Signals
		if g.HasTemperature {
			gauge(descTemperature, float64(g.TemperatureC), d.ID)
		}
		switch g.Kind {
		case smart.ATA:
			for _, id := range smart.BackblazeAttributes() {
				if v, ok := g.Backblaze[id]; ok {
					gauge(descSMARTRaw, float64(v), d.ID, strconv.Itoa(int(id)))
				}
			}
			gauge(descSMARTFailing, float64(len(g.FailingAttributes)), d.ID)
		case smart.NVMe:
			gauge(descNVMeWarning, float64(g.CriticalWarning), d.ID)
			gauge(descNVMeMediaErrors, float64(g.MediaErrors), d.ID)
			gauge(descNVMeUsed, float64(g.PercentageUsed), d.ID)
		}
	}
}

func boolFloat(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
