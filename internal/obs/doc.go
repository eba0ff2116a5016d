// Package obs is a small metrics registry that writes the Prometheus text
// exposition format (version 0.0.4) by hand: counters, gauges, gauge
// functions and histograms, optionally with constant labels.
//
// A Registry is created per process (or per test: there is no global
// registry), the components register their metrics on it at construction,
// and the HTTP sink serves it at /metrics. Registering a metric twice, or
// with an invalid name, is a programmer error and panics, as with
// duplicate registrations elsewhere. Every type in this package is safe for
// concurrent use; updating a metric is lock-free.
package obs
