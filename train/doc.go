// Package train trains the Calibrated Multimodal Consensus model (CMC,
// G. Zhong et al., "Calibrating Multimodal Consensus for Emotion
// Recognition", arXiv 2510.20256) in pure Go, float32.
//
// It follows the reference implementation as specified in
// docs/cmc-model.md:
//
//   - a training-mode forward pass with caches and its exact backward pass
//     for every layer: BatchNorm with batch statistics, the 1×1
//     projections, the pre-LN Transformer encoder layers with dropout, mean
//     pooling, L2 normalisation, the PFM, the MCR router, the residual expert
//     heads, softmax cross-entropy and the supervised contrastive loss
//     (§2, §4);
//   - Adam with PyTorch semantics (§5.2);
//   - the PLGM pseudo-label store and its schedules (§3);
//   - the stage-1 (unimodal, PLGM or CMC-GT) and stage-2 (multimodal)
//     training loops with EMA teachers, model selection and patience
//     (§3.3–3.5, §4.3–4.5, §5).
//
// Randomness (initialisation, shuffling, dropout masks) comes from seeded
// generators; dropout masks are a hash of (seed, step, site, sample,
// position), so results do not depend on goroutine scheduling, and the same
// seed and thread count give the same bytes.
package train
