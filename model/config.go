package model

import (
	"encoding/json"
	"errors"
	"fmt"
)

// BundleFormat is the value of the "format" field of a bundle's model.json.
const BundleFormat = "cmc-bundle/1"

// Fixed sizes of the reference model (cmc-model.md §2: embed_dim and the
// class count are hard-coded in the reference main.py; the Transformer
// feed-forward width is 4 × embed_dim).
const (
	// Classes is the number of sentiment classes: negative, neutral, positive.
	Classes = 3
	// Experts is the number of modality experts: text, audio, vision.
	Experts = 3
	// DefaultEmbedDim is the reference embed_dim.
	DefaultEmbedDim = 32
	// DefaultTemperature is the PFM softmax temperature τ.
	DefaultTemperature = 0.07
	// DefaultTopK is the router's top_k (all three experts).
	DefaultTopK = 3
)

// Labels are the class names in class-index order.
var Labels = [Classes]string{"negative", "neutral", "positive"}

// Modality indexes text, audio and vision, in the reference's expert order
// (0 = text, 1 = audio, 2 = vision).
type Modality int

// The three modalities.
const (
	Text Modality = iota
	Audio
	Vision
)

// String returns "text", "audio" or "vision".
func (m Modality) String() string {
	switch m {
	case Text:
		return "text"
	case Audio:
		return "audio"
	case Vision:
		return "vision"
	}
	return fmt.Sprintf("modality(%d)", int(m))
}

// Modalities lists the modalities in expert order.
var Modalities = [Experts]Modality{Text, Audio, Vision}

// PerModality holds one integer per modality (feature dims or sequence lengths).
type PerModality struct {
	Text   int `json:"text"`
	Audio  int `json:"audio"`
	Vision int `json:"vision"`
}

// Get returns the value for modality m.
func (p PerModality) Get(m Modality) int {
	switch m {
	case Text:
		return p.Text
	case Audio:
		return p.Audio
	default:
		return p.Vision
	}
}

// Config is the content of a bundle's model.json: the architecture and
// provenance of one CMC model. Zero values of EmbedDim, Temperature and TopK
// mean the reference defaults (32, 0.07, 3); see Normalize.
type Config struct {
	// Format is BundleFormat.
	Format string `json:"format"`
	// Name and Version identify the model in events.
	Name    string `json:"name"`
	Version string `json:"version"`
	// Convention is the label convention of the training data: "sims" or
	// "mosi" (cmc-model.md §7, Has0 binarisation and SupCon rule).
	Convention string `json:"convention"`
	// EmbedDim is the width of every encoder (reference: 32).
	EmbedDim int `json:"embed_dim"`
	// Layers is the number of Transformer encoder layers per branch.
	Layers int `json:"transformer_layers"`
	// Heads is the number of attention heads; EmbedDim must divide by it.
	Heads int `json:"nhead"`
	// Temperature is the PFM softmax temperature (reference: 0.07).
	Temperature float64 `json:"temperature"`
	// TopK is how many experts the router keeps (reference: 3, i.e. all).
	TopK int `json:"top_k"`
	// OutDropout is the expert heads' dropout in training; unused in inference.
	OutDropout float64 `json:"out_dropout,omitempty"`
	// Dims are the input feature sizes (text 768 for BERT features).
	Dims PerModality `json:"dims"`
	// Lengths are the padded sequence lengths the model was trained on;
	// inputs are zero-padded at the end to these lengths.
	Lengths PerModality `json:"lengths"`
	// Features is the feature spec the model was trained on; absent for a
	// bundle made from weights alone.
	Features json.RawMessage `json:"features,omitempty"`
	// TrainedOn records the training data and settings.
	TrainedOn json.RawMessage `json:"trained_on,omitempty"`
}

// FeedForward returns the Transformer feed-forward width (4 × EmbedDim).
func (c *Config) FeedForward() int { return 4 * c.EmbedDim }

// Normalize fills zero-valued optional fields with the reference defaults.
func (c *Config) Normalize() {
	if c.Format == "" {
		c.Format = BundleFormat
	}
	if c.EmbedDim == 0 {
		c.EmbedDim = DefaultEmbedDim
	}
	if c.Temperature == 0 {
		c.Temperature = DefaultTemperature
	}
	if c.TopK == 0 {
		c.TopK = DefaultTopK
	}
}

// Validate checks the configuration and names the first offending field.
func (c *Config) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("model: config field %q: %s", field, fmt.Sprintf(format, args...)))
	}
	if c.Format != BundleFormat {
		bad("format", "is %q, want %q", c.Format, BundleFormat)
	}
	if c.Convention != "sims" && c.Convention != "mosi" {
		bad("convention", "is %q, want \"sims\" or \"mosi\"", c.Convention)
	}
	if c.EmbedDim <= 0 {
		bad("embed_dim", "is %d, want > 0", c.EmbedDim)
	}
	if c.Layers < 0 {
		bad("transformer_layers", "is %d, want >= 0", c.Layers)
	}
	if c.Heads <= 0 || (c.EmbedDim > 0 && c.EmbedDim%c.Heads != 0) {
		bad("nhead", "is %d, want a divisor of embed_dim %d", c.Heads, c.EmbedDim)
	}
	if !(c.Temperature > 0) {
		bad("temperature", "is %v, want > 0", c.Temperature)
	}
	if c.TopK < 1 || c.TopK > Experts {
		bad("top_k", "is %d, want 1..%d", c.TopK, Experts)
	}
	if c.OutDropout < 0 || c.OutDropout >= 1 {
		bad("out_dropout", "is %v, want [0,1)", c.OutDropout)
	}
	for _, m := range Modalities {
		if c.Dims.Get(m) <= 0 {
			bad("dims."+m.String(), "is %d, want > 0", c.Dims.Get(m))
		}
		if c.Lengths.Get(m) <= 0 {
			bad("lengths."+m.String(), "is %d, want > 0", c.Lengths.Get(m))
		}
	}
	return errors.Join(errs...)
}
