// Package broker runs an in-process Kafka-protocol broker on a loopback
// address, for the demo, for trying cmc-stream out without a Kafka cluster,
// and for tests.
//
// The broker is kfake (github.com/twmb/franz-go/pkg/kfake): it speaks the
// real Kafka wire protocol, so kafka-go readers and writers, consumer groups,
// offset commits and tools such as kcat work against it unchanged. It is a
// single broker, not a production Kafka: users point the same configuration
// at their own cluster. It listens on loopback addresses only, and it can
// persist its topics, records and committed offsets to a data directory so
// that a restart keeps them.
package broker
