// Package kafkasec configures the security of Kafka connections, TLS and
// SASL, in one place for every Kafka client of cmc-stream: the transcript
// and audio source (ingest/kafka), the event sink (sink), the dead-letter
// sink, the readiness probes and the benchmarks.
//
// A Config is the "tls" and "sasl" keys of a Kafka block of the YAML
// configuration. Dialer and Transport turn it into kafka-go's own Dialer
// (consumer groups, readers, single connections) and Transport (writers),
// with kafka-go's TLS support and its sasl/plain and sasl/scram mechanisms.
// Secrets never sit in the configuration: the password is read from the
// file or the environment variable the configuration names, when the
// connection is built, and String describes a Config without it.
package kafkasec
