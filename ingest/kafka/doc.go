// Package kafka reads transcript segments from a Kafka topic as a member of
// a consumer group, with kafka-go, for the pipeline (pipeline.Source). New
// decodes segments; NewDecoding takes any Decoder, such as one that also
// accepts the audio chunks of event.DecodeAudioChunk (PCM16, float32 or
// G.711 samples of one or two channels with their rate and start) that
// call-centre feeds carry on the same topic, keyed by stream id.
//
// Delivery is at least once. The source fetches without committing; each
// segment comes with an acknowledgement function that the pipeline calls
// once every sink accepted the events derived from it, and only then is its
// offset committed. Acknowledgements may come in any order: per partition,
// the source commits only the highest offset below which every message was
// acknowledged, so a crash never skips an unprocessed segment. A message that
// is not a valid segment goes to Config.Reject (a dead-letter writer) and is
// committed only once Reject took it; without Reject it is returned as a
// *MalformedError carrying the message and its offset, and counts as handled
// once Read has returned it. Either way it does not stop the source.
//
// Kafka input never drops: when MaxUnacked messages of a partition await
// their commit, that partition's fetch pauses, which pushes back on the
// broker, while the other partitions go on. A message acknowledged with a
// failure (an item that failed with no dead letter written) is never
// committed: its partition stops there (Stalled says so) and the message is
// delivered again after a restart or a rebalance. The source commits a
// partition only with the group generation that assigned it to this
// process, so once a rebalance gives the partition to another process this
// one never commits it again (which would move the new owner's committed
// offset back): its unacknowledged segments are dropped here and delivered
// again to the new owner. A partition kept over the rebalance, or a broker
// restart, goes on after the last message returned, none a second time.
//
// Compressed input is bounded: Config.MaxDecompressedBytes limits a message
// after decompression and what a record batch may inflate to. kafka-go
// inflates a whole batch before it returns any of its messages, so this
// package bounds kafka-go's codecs (decompress.go); a batch beyond the bound
// fails after the bound, and the source then fetches the batch raw with
// franz-go (rawbatch.go) and streams its records out of a bounded
// decompressor (records.go): each message within the bound is delivered,
// each above it is discarded unheld and rejected at its offset
// (ErrDecompressedTooLarge), and after BatchInflateFactor times the bound
// inflated the batch's remaining offsets are rejected. Should that fetch
// fail, the failed offset alone is rejected and the next one is tried the
// same way.
package kafka
