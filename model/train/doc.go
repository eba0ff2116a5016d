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
// Where the port differs from the reference, or chooses between its
// behaviours:
//
//   - The text branch starts from precomputed BERT last-hidden states (the
//     MMSA "text" key); BERT itself is neither run nor fine-tuned, so the
//     stage-2 BERT parameter groups of §5.2 do not exist here.
//   - SupCon follows the reference's float32 arithmetic by default, whose
//     denominator loses about 1e-3 relative precision to cancellation
//     (EngineOptions.StableSupCon selects an exact form).
//   - Like the reference, EMA teachers average parameters only: their
//     BatchNorm running statistics stay at mean 0 and variance 1 through
//     stage 1 and are copied so into stage 2, which re-estimates them.
//   - One learning rate (Settings.LR) serves every parameter; the
//     reference's stage-1 audio and vision optimisers ignore --lr.
//   - top_k must be 3 (the reference's only setting): the router is a dense
//     softmax gate.
//   - Dropout masks come from this package's generator, not PyTorch's.
//
// Randomness (initialisation, shuffling, dropout masks) comes from seeded
// generators; dropout masks are a hash of (seed, step, site, sample,
// position), so results do not depend on goroutine scheduling, and the same
// seed and thread count give the same bytes.
package train
