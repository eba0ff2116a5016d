package event

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Schema is the value of Event.Schema for this version of the event. A
// change that breaks consumers bumps it.
const Schema = "cmc.sentiment.v2"

// Label is one of the three sentiment classes.
type Label string

// The sentiment classes, in the order of the model's logits.
const (
	// Negative is class 0.
	Negative Label = "negative"
	// Neutral is class 1.
	Neutral Label = "neutral"
	// Positive is class 2.
	Positive Label = "positive"
)

// Labels lists the classes in the order of the model's logits.
var Labels = [3]Label{Negative, Neutral, Positive}

// Valid reports whether l is Negative, Neutral or Positive.
func (l Label) Valid() bool {
	return l == Negative || l == Neutral || l == Positive
}

// Probs is a probability distribution over the three classes: the softmax of
// a set of logits.
type Probs struct {
	// Negative is the probability of the negative class, in [0, 1].
	Negative float64 `json:"negative"`
	// Neutral is the probability of the neutral class, in [0, 1].
	Neutral float64 `json:"neutral"`
	// Positive is the probability of the positive class, in [0, 1].
	Positive float64 `json:"positive"`
}

// probsTolerance is how far the sum of a Probs may be from 1. Softmax in
// float32 is off by a few ulps; a producer that rounds to three decimals is
// off by at most 1.5e-3.
const probsTolerance = 2e-3

// Softmax returns the softmax of the logits (negative, neutral, positive),
// computed stably by subtracting the largest logit first.
func Softmax(logits [3]float64) Probs {
	m := max(logits[0], logits[1], logits[2])
	var e [3]float64
	var sum float64
	for i, z := range logits {
		e[i] = math.Exp(z - m)
		sum += e[i]
	}
	return Probs{Negative: e[0] / sum, Neutral: e[1] / sum, Positive: e[2] / sum}
}

// Argmax returns the most probable class; ties go to the earlier class in
// the order negative, neutral, positive, as with argmax over the logits.
func (p Probs) Argmax() Label {
	l, best := Negative, p.Negative
	if p.Neutral > best {
		l, best = Neutral, p.Neutral
	}
	if p.Positive > best {
		l = Positive
	}
	return l
}

// Of returns the probability of class l, or 0 for an invalid label.
func (p Probs) Of(l Label) float64 {
	switch l {
	case Negative:
		return p.Negative
	case Neutral:
		return p.Neutral
	case Positive:
		return p.Positive
	}
	return 0
}

// Score returns P(positive) - P(negative), in [-1, 1]: +1 is certainly
// positive, -1 certainly negative, and 0 neutral or evenly split. It is the
// number that trends, summaries and alerts use.
func (p Probs) Score() float64 { return p.Positive - p.Negative }

// Validate checks that each probability is in [0, 1] and that they sum to 1
// within 2e-3.
func (p Probs) Validate() error {
	for _, v := range [3]float64{p.Negative, p.Neutral, p.Positive} {
		if !(v >= 0 && v <= 1) {
			return fmt.Errorf("probability %v outside [0, 1]", v)
		}
	}
	if s := p.Negative + p.Neutral + p.Positive; math.Abs(s-1) > probsTolerance {
		return fmt.Errorf("probabilities sum to %v, not 1", s)
	}
	return nil
}

// WindowKind is the window policy that produced an event.
type WindowKind string

// The window policies.
const (
	// Utterance is one window per final transcript segment.
	Utterance WindowKind = "utterance"
	// Sliding is a window of fixed size advanced by a fixed hop.
	Sliding WindowKind = "sliding"
)

// Window is the span of event time an event covers.
type Window struct {
	// Kind is the window policy.
	Kind WindowKind `json:"kind"`
	// Seq numbers the windows of one stream and policy from 0.
	Seq uint64 `json:"seq"`
	// Start is the inclusive start of the window.
	Start time.Time `json:"start"`
	// End is the exclusive end of the window; it is not before Start.
	End time.Time `json:"end"`
}

// Modality is what one modality's expert says about a window.
type Modality struct {
	// Present tells whether the window had input for this modality. An
	// absent modality is still scored by the model (on zero input), but its
	// Label and Probs are left out of the event.
	Present bool `json:"present"`
	// Label is the argmax of Probs; empty when the modality is absent.
	Label Label `json:"label,omitempty"`
	// Probs is the softmax of the expert's logits; nil when the modality is
	// absent.
	Probs *Probs `json:"probs,omitempty"`
	// Score is Probs.Score(), in [-1, 1]; nil when the modality is absent.
	Score *float64 `json:"score,omitempty"`
	// Agrees tells whether Label is the event's fused label; nil when the
	// modality is absent.
	Agrees *bool `json:"agrees,omitempty"`
	// RouterWeight is the consensus router's gate for this modality, in
	// [0, 1]; the three weights of an event sum to 1.
	RouterWeight float64 `json:"router_weight"`
}

// Modalities holds the three modalities of an event.
type Modalities struct {
	// Text is the transcript modality.
	Text Modality `json:"text"`
	// Audio is the acoustic modality.
	Audio Modality `json:"audio"`
	// Vision is the facial modality.
	Vision Modality `json:"vision"`
}

// The indices of the modalities in Consensus.EmbeddingSimilarity and in
// the model's tensors.
const (
	// TextIndex is the index of the text modality.
	TextIndex = 0
	// AudioIndex is the index of the audio modality.
	AudioIndex = 1
	// VisionIndex is the index of the vision modality.
	VisionIndex = 2
)

// ModalityNames are the wire names of the modalities in index order.
var ModalityNames = [3]string{"text", "audio", "vision"}

// All returns the modalities in index order: text, audio, vision.
func (m Modalities) All() [3]Modality {
	return [3]Modality{m.Text, m.Audio, m.Vision}
}

// Present returns the Present flags in index order: text, audio, vision.
func (m Modalities) Present() [3]bool {
	return [3]bool{m.Text.Present, m.Audio.Present, m.Vision.Present}
}

// Consensus reports whether the modalities' experts agree.
type Consensus struct {
	// Agreement is how much the verdicts of the present experts agree, in
	// [0, 1]: 1 when their distributions are identical, 0 when every pair
	// puts its probability on different classes. See the function
	// Agreement for the formula.
	Agreement float64 `json:"agreement"`
	// Conflict is true when the label of at least one present expert
	// differs from the fused label.
	Conflict bool `json:"conflict"`
	// EmbeddingSimilarity is the parameter-free fusion's cosine similarity
	// matrix between the modality embeddings, indexed text, audio, vision:
	// symmetric, entries in [-1, 1]. The embeddings are the model's
	// internal representations, not verdicts: modalities whose experts say
	// the same can have dissimilar embeddings. (v1 called it similarity
	// and derived agreement from it.)
	EmbeddingSimilarity [3][3]float64 `json:"embedding_similarity"`
}

// Agreement returns 1 minus the mean Jensen-Shannon divergence (base 2)
// over the pairs of the experts' distributions:
//
//	agreement = 1 - (1/|P|) Σ_{(i,j) ∈ P} JSD(p_i, p_j)
//	JSD(p, q) = ½ KL(p ‖ m) + ½ KL(q ‖ m),  m = ½ (p + q),  KL in bits
//
// where P is the set of pairs i < j. JSD in bits lies in [0, 1] (0 for equal
// distributions, 1 for distributions on disjoint classes), is symmetric and
// finite even when a class has probability 0 (KL alone is not), and weighs
// the experts' confidence, not only their argmax; so the agreement lies in
// [0, 1] and reads 1 when all experts say the same with the same
// confidence. Pass the distributions of the present experts only. With fewer
// than two experts there is no pair that could disagree and the agreement is
// 1; the event's modalities tell how many experts were present.
func Agreement(experts ...Probs) float64 {
	var sum float64
	n := 0
	for i := range experts {
		for j := i + 1; j < len(experts); j++ {
			sum += jsd(experts[i], experts[j])
			n++
		}
	}
	if n == 0 {
		return 1
	}
	return min(max(1-sum/float64(n), 0), 1)
}

// jsd returns the Jensen-Shannon divergence of p and q in bits, clamped to
// [0, 1] against rounding.
func jsd(p, q Probs) float64 {
	a := [3]float64{p.Negative, p.Neutral, p.Positive}
	b := [3]float64{q.Negative, q.Neutral, q.Positive}
	var d float64
	for k := range 3 {
		m := (a[k] + b[k]) / 2
		if a[k] > 0 {
			d += a[k] * math.Log2(a[k]/m)
		}
		if b[k] > 0 {
			d += b[k] * math.Log2(b[k]/m)
		}
	}
	return min(max(d/2, 0), 1)
}

// Derive sets the fields of e that follow from its probabilities: Score,
// each present modality's Score and Agrees, Consensus.Agreement over the
// present experts and Consensus.Conflict. Label, Probs and each
// modality's Present, Label and Probs must be set first.
func (e *Event) Derive() {
	e.Score = e.Probs.Score()
	var experts []Probs
	e.Consensus.Conflict = false
	for _, m := range []*Modality{&e.Modalities.Text, &e.Modalities.Audio, &e.Modalities.Vision} {
		if !m.Present || m.Probs == nil {
			m.Score, m.Agrees = nil, nil
			continue
		}
		score, agrees := m.Probs.Score(), m.Label == e.Label
		m.Score, m.Agrees = &score, &agrees
		e.Consensus.Conflict = e.Consensus.Conflict || !agrees
		experts = append(experts, *m.Probs)
	}
	e.Consensus.Agreement = Agreement(experts...)
}

// Model identifies the model bundle that scored an event.
type Model struct {
	// Name is the bundle's name, such as "cmc-sims".
	Name string `json:"name"`
	// Version is the bundle's version.
	Version string `json:"version"`
	// SHA256 is the hex SHA-256 of the bundle's weights file.
	SHA256 string `json:"sha256"`
}

// Latency reports where the time of an event went, in milliseconds.
type Latency struct {
	// Features is the time spent extracting features for the window.
	Features float64 `json:"features"`
	// Model is the time spent in the model's forward pass.
	Model float64 `json:"model"`
	// EndToEnd is the time from the window's end, in wall time (the
	// stream's start plus the end's offset), to the event being handed to
	// the sinks. It is 0 for media read faster than real time, whose window
	// ends lie in the future.
	EndToEnd float64 `json:"end_to_end"`
}

// Event is one sentiment event of schema cmc.sentiment.v2, encoded as one
// JSON object by encoding/json.
type Event struct {
	// Schema is always the constant Schema.
	Schema string `json:"schema"`
	// EventID is ID(StreamID, Window.Kind, Window.Seq), or, for a
	// party's window of a call whose parties are scored apart,
	// PartyID(StreamID, Speaker, Window.Kind, Window.Seq).
	EventID string `json:"event_id"`
	// StreamID names the stream: a webcam session, a call id.
	StreamID string `json:"stream_id"`
	// Speaker names the speaker of the window, if known.
	Speaker string `json:"speaker,omitempty"`
	// Window is the span of event time the event covers.
	Window Window `json:"window"`
	// Label is the fused prediction, the argmax of Probs.
	Label Label `json:"label"`
	// Probs is the softmax of the fused logits.
	Probs Probs `json:"probs"`
	// Score is Probs.Score(): P(positive) - P(negative), in [-1, 1].
	Score float64 `json:"score"`
	// Modalities reports each modality's expert and router weight.
	Modalities Modalities `json:"modalities"`
	// Consensus reports whether the modalities' experts agree.
	Consensus Consensus `json:"consensus"`
	// Transcript is the text of the window, if any.
	Transcript string `json:"transcript,omitempty"`
	// TranscriptSource is "asr" when cmc-stream recognised the transcript
	// from the stream's audio itself; empty (omitted) for transcripts
	// from a feed (Kafka, file).
	TranscriptSource string `json:"transcript_source,omitempty"`
	// Model identifies the model that scored the window.
	Model Model `json:"model"`
	// LatencyMS reports the processing latency, in milliseconds.
	LatencyMS Latency `json:"latency_ms"`
}

// ID returns the deterministic id of the event of window seq of a stream:
// "<stream>/utt/<seq>" for utterance windows and "<stream>/win/<seq>" for
// sliding windows. The same window always gets the same id, so consumers of
// an at-least-once stream can de-duplicate by it. It returns "" for an
// unknown kind.
func ID(streamID string, kind WindowKind, seq uint64) string {
	var k string
	switch kind {
	case Utterance:
		k = "/utt/"
	case Sliding:
		k = "/win/"
	default:
		return ""
	}
	return streamID + k + strconv.FormatUint(seq, 10)
}

// PartyID returns the id of the event of window seq of one party of a
// call whose parties have audio channels of their own and are scored apart
// (two parties' windows may start in the same millisecond, and so share a
// seq): ID(streamID, kind, seq) followed by "/" and the party, such as
// "call-42/utt/17/customer". It returns "" for an unknown kind.
func PartyID(streamID, party string, kind WindowKind, seq uint64) string {
	id := ID(streamID, kind, seq)
	if id == "" {
		return ""
	}
	return id + "/" + party
}

// ErrInvalid is wrapped by every error of Event.Validate.
var ErrInvalid = errors.New("event: invalid event")

// similarityTolerance is how far EmbeddingSimilarity may be from
// symmetric and the diagonal of a present modality from 1: float32 cosines
// carry about 1e-7 of error, and a producer that rounds to three decimals is
// off by 5e-4.
const similarityTolerance = 1e-3

// derivedTolerance is how far Score and Agreement may be from the values
// Derive computes from the probabilities. A score of probabilities rounded
// to three decimals is off by at most 1e-3; the divergence's p log p terms
// are steep near 0, where rounding a probability of 4e-4 to 0 moves the
// agreement by about 2e-3, so the agreement gets 5e-3.
const (
	scoreTolerance     = 2e-3
	agreementTolerance = 5e-3
)

// Validate checks the invariants of an event: the schema, the id, a
// non-empty valid UTF-8 stream id, the window, labels that are the argmax of
// their probabilities, probability distributions, router weights summing to
// 1, scores, agrees, agreement and conflict matching what Derive computes,
// a symmetric embedding similarity matrix in [-1, 1] with ones on the
// diagonal of present modalities, a model name, a 64-digit hex SHA-256 when set, and finite non-negative latencies.
// The tolerances are documented at the constants they use. Every error wraps
// ErrInvalid.
func (e *Event) Validate() error {
	if err := e.validate(); err != nil {
		return fmt.Errorf("%w: %s: %w", ErrInvalid, e.EventID, err)
	}
	return nil
}

func (e *Event) validate() error {
	if e.Schema != Schema {
		return fmt.Errorf("schema %q, want %q", e.Schema, Schema)
	}
	if e.StreamID == "" || !utf8.ValidString(e.StreamID) {
		return errors.New("stream_id empty or not UTF-8")
	}
	if !utf8.ValidString(e.Speaker) || !utf8.ValidString(e.Transcript) {
		return errors.New("speaker or transcript not UTF-8")
	}
	if want := ID(e.StreamID, e.Window.Kind, e.Window.Seq); want == "" {
		return fmt.Errorf("window kind %q", e.Window.Kind)
	} else if e.EventID != want && (e.Speaker == "" || e.EventID != PartyID(e.StreamID, e.Speaker, e.Window.Kind, e.Window.Seq)) {
		return fmt.Errorf("event_id %q, want %q", e.EventID, want)
	}
	if e.Window.Start.IsZero() || e.Window.End.Before(e.Window.Start) {
		return fmt.Errorf("window [%v, %v]", e.Window.Start, e.Window.End)
	}
	if err := checkPrediction(e.Label, e.Probs); err != nil {
		return fmt.Errorf("label: %w", err)
	}
	if err := checkScore(e.Score, e.Probs); err != nil {
		return err
	}
	var weights float64
	for i, m := range e.Modalities.All() {
		if err := m.validate(e.Label); err != nil {
			return fmt.Errorf("modalities.%s: %w", ModalityNames[i], err)
		}
		weights += m.RouterWeight
	}
	if math.Abs(weights-1) > probsTolerance {
		return fmt.Errorf("router weights sum to %v, not 1", weights)
	}
	want := *e
	want.Modalities = Modalities{}
	for i, m := range e.Modalities.All() {
		if m.Present {
			p := *m.Probs
			*want.modality(i) = Modality{Present: true, Label: m.Label, Probs: &p}
		}
	}
	want.Derive()
	if err := e.Consensus.validate(want.Consensus, e.Modalities.Present()); err != nil {
		return fmt.Errorf("consensus: %w", err)
	}
	if e.Model.Name == "" {
		return errors.New("model.name empty")
	}
	if s := e.Model.SHA256; s != "" && (len(s) != 64 || strings.Trim(s, "0123456789abcdef") != "") {
		return fmt.Errorf("model.sha256 %q is not 64 lower-case hex digits", s)
	}
	for _, v := range [3]float64{e.LatencyMS.Features, e.LatencyMS.Model, e.LatencyMS.EndToEnd} {
		if !(v >= 0 && v <= math.MaxFloat64) {
			return fmt.Errorf("latency %v ms", v)
		}
	}
	return nil
}

func checkPrediction(l Label, p Probs) error {
	if !l.Valid() {
		return fmt.Errorf("%q is not a class", l)
	}
	if err := p.Validate(); err != nil {
		return err
	}
	if p.Of(l) < p.Of(p.Argmax()) {
		return fmt.Errorf("%q is not the argmax of the probabilities", l)
	}
	return nil
}

func checkScore(score float64, p Probs) error {
	if !(math.Abs(score-p.Score()) <= scoreTolerance) {
		return fmt.Errorf("score %v, want P(positive) - P(negative) = %v", score, p.Score())
	}
	return nil
}

// modality returns the modality of index i.
func (e *Event) modality(i int) *Modality {
	return [3]*Modality{&e.Modalities.Text, &e.Modalities.Audio, &e.Modalities.Vision}[i]
}

func (m Modality) validate(fused Label) error {
	if !(m.RouterWeight >= 0 && m.RouterWeight <= 1) {
		return fmt.Errorf("router_weight %v outside [0, 1]", m.RouterWeight)
	}
	if !m.Present {
		if m.Label != "" || m.Probs != nil || m.Score != nil || m.Agrees != nil {
			return errors.New("absent modality with a label, probs, score or agrees")
		}
		return nil
	}
	if m.Probs == nil || m.Score == nil || m.Agrees == nil {
		return errors.New("present modality without probs, score or agrees")
	}
	if err := checkPrediction(m.Label, *m.Probs); err != nil {
		return err
	}
	if err := checkScore(*m.Score, *m.Probs); err != nil {
		return err
	}
	if *m.Agrees != (m.Label == fused) {
		return fmt.Errorf("agrees %v, but label %q and the fused label %q", *m.Agrees, m.Label, fused)
	}
	return nil
}

// validate checks c against want, the consensus Derive computes.
func (c Consensus) validate(want Consensus, present [3]bool) error {
	sim := c.EmbeddingSimilarity
	for i := range 3 {
		for j := range 3 {
			s := sim[i][j]
			if !(s >= -1-similarityTolerance && s <= 1+similarityTolerance) {
				return fmt.Errorf("embedding_similarity[%d][%d] = %v outside [-1, 1]", i, j, s)
			}
			if math.Abs(s-sim[j][i]) > similarityTolerance {
				return fmt.Errorf("embedding_similarity not symmetric at [%d][%d]", i, j)
			}
		}
		if present[i] && math.Abs(sim[i][i]-1) > similarityTolerance {
			return fmt.Errorf("embedding_similarity[%d][%d] = %v, want 1", i, i, sim[i][i])
		}
	}
	if !(math.Abs(c.Agreement-want.Agreement) <= agreementTolerance) {
		return fmt.Errorf("agreement %v, want %v", c.Agreement, want.Agreement)
	}
	if c.Conflict != want.Conflict {
		return fmt.Errorf("conflict %v, want %v", c.Conflict, want.Conflict)
	}
	return nil
}
