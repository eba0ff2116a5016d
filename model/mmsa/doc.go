// Package mmsa reads and writes sentiment datasets stored as MMSA-layout
// pickles, the format of the CMU-MOSI, CMU-MOSEI, CH-SIMS and CH-SIMS v2
// releases that the Calibrated Multimodal Consensus model (CMC, arXiv
// 2510.20256) trains on (unaligned_50.pkl, unaligned_39.pkl, ...).
//
// Such a file is a pickled dict of splits ("train", "valid", "test"), each a
// dict of NumPy arrays keyed "id", "raw_text", "text", "text_bert",
// "audio", "vision", "audio_lengths", "vision_lengths" and
// "regression_labels", with "regression_labels_T", "_A" and "_V" in the
// CH-SIMS layouts (docs/cmc-model.md §1.1).
//
// The package contains its own pickle virtual machine for the binary
// opcodes of protocols 2 to 5 (PEP 307, PEP 3154, PEP 574). It never runs
// code from a pickle: it interprets only the NumPy reconstructors
// (numpy.core.multiarray._reconstruct with its __setstate__ tuple,
// numpy.core.numeric._frombuffer for protocol 5, numpy.dtype and NumPy
// scalars, under both the numpy.core and numpy._core module names) and the
// latin-1 codec call that protocol 2 uses for bytes. Arrays may be bool,
// signed or unsigned integers, float32 or float64 in either byte order and
// either memory order, NumPy unicode ("<U"), bytes ("S") or object arrays
// of strings. Out-of-band protocol-5 buffers are not supported.
//
// [Load] and [Decode] validate every split: a missing key, a wrong rank or a
// clip count that differs between keys yields a [*FieldError] naming the
// split and the key; a damaged or truncated stream yields an error wrapping
// [ErrPickle]. [Write] and [Encode] produce a protocol-4 pickle in the same
// layout, with arrays encoded as NumPy 1.x encodes them, so Python's
// pickle.load returns NumPy arrays.
//
// Functions are safe for concurrent use on distinct values.
package mmsa
