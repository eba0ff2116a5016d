// Package model is the Calibrated Multimodal Consensus model (CMC, G. Zhong
// et al., arXiv 2510.20256) in pure Go: the configuration and weights of a
// bundle, and the inference-mode forward pass (BatchNorm, 1x1 projections,
// pre-LN Transformer encoders, mean pooling, L2 normalisation, the
// parameter-free fusion module and the multimodal consensus router).
//
// Tensor names follow the reference PyTorch state_dict, so weights move
// between the two with a plain state-dict dump. The numbers match the
// reference to 1e-5 (see the parity test against testdata/cmc-reference).
package model
