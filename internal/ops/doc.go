// Package ops serves the operations endpoints of a cmc-stream process on a
// listener of their own, independent of the dashboard:
//
//   - /metrics: the process's Prometheus registry (text or protobuf
//     exposition, as the scraper asks; native histograms need protobuf);
//   - /healthz: liveness, "ok" while the process serves HTTP;
//   - /readyz: readiness, the aggregate of named checks (such as "the Kafka
//     topics answer"), 200 "ok" or 503 with one line per failing check.
//
// Readiness checks run concurrently, each bounded by Config.CheckTimeout;
// their result is shared by the probes that arrive while they run and
// reused for Config.CacheFor, so a flood of probes costs at most one round
// of checks per CacheFor.
//
// The server binds loopback by default (DefaultAddr). Every request's Host
// header must name the listener (package httpguard), so a web page cannot
// read the endpoints through DNS rebinding, and every response carries the
// security headers of httpguard.
package ops
