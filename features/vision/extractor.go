package vision

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
)

// Model paths below the assets folder, where make setup puts them.
var (
	// FaceModelFile is the BlazeFace short-range ONNX model, fetched by
	// scripts/fetch-vision-assets.sh.
	FaceModelFile = filepath.Join("models", "face_detection_front_128x128_barracuda.onnx")
	// ExpressionModelFile is the mini-Xception expression model in ONNX,
	// converted once from its TensorFlow.js graph model (models/emotion.json
	// and emotion.bin) by scripts/setup.sh with internal/tfjs/cmd/tfjs2onnx,
	// and checked by sha256.
	ExpressionModelFile = filepath.Join("models", "emotion.onnx")
)

// DefaultHaarCascade is the frontal-face Haar cascade of Debian's
// opencv-data package.
const DefaultHaarCascade = "/usr/share/opencv4/haarcascades/haarcascade_frontalface_default.xml"

// Defaults of Config.
const (
	// DefaultScoreThreshold is MediaPipe's min_score_thresh for the
	// short-range face detector.
	DefaultScoreThreshold = 0.5
	// DefaultIoUThreshold is MediaPipe's min_suppression_threshold.
	DefaultIoUThreshold = 0.3
	// DefaultThreads is the ONNX Runtime intra-op thread count per model.
	DefaultThreads = 1
)

// Errors.
var (
	// ErrNotBuilt is returned by New when the Haar fallback is enabled in a
	// build without OpenCV (tag nocv or CGO_ENABLED=0).
	ErrNotBuilt = errors.New("vision: built without OpenCV (cgo disabled or tag nocv)")
	// ErrFrameSize is returned by Extract when a frame does not hold
	// width*height*3 bytes or a dimension is not positive.
	ErrFrameSize = errors.New("vision: frame size does not match width*height*3")
	// ErrDstSize is returned by Extract when dst is shorter than Dims.
	ErrDstSize = errors.New("vision: destination shorter than the feature width")
)

// Config configures an Extractor. FaceModel and ExpressionModel are
// required (DefaultConfig sets them from the assets folder); the other zero
// fields mean their defaults.
type Config struct {
	// FaceModel is the BlazeFace short-range ONNX file; required.
	FaceModel string
	// ExpressionModel is the ONNX file of the expression model; required.
	ExpressionModel string
	// HaarCascade is the OpenCV Haar cascade XML of the fallback
	// detector. Default: DefaultHaarCascade.
	HaarCascade string
	// DisableHaar turns the Haar fallback off: frames where BlazeFace finds
	// no face then give the no-face vector. Default false (fallback on).
	DisableHaar bool
	// ScoreThreshold is the minimum BlazeFace score (sigmoid, in (0, 1]) of
	// a face. Default DefaultScoreThreshold (0.5).
	ScoreThreshold float32
	// IoUThreshold is the overlap (intersection over union, in (0, 1))
	// above which BlazeFace boxes are merged. Default DefaultIoUThreshold
	// (0.3).
	IoUThreshold float32
	// Threads is the ONNX Runtime intra-op thread count of each model.
	// Default DefaultThreads (1): scale out with one Extractor per core.
	Threads int
}

// DefaultConfig returns the Config of the models make setup put in the
// assets folder assetsDir (FaceModelFile and ExpressionModelFile below it),
// every other field at its default.
func DefaultConfig(assetsDir string) Config {
	return Config{FaceModel: filepath.Join(assetsDir, FaceModelFile), ExpressionModel: filepath.Join(assetsDir, ExpressionModelFile)}
}

// withDefaults returns c with zero fields replaced by their defaults.
func (c Config) withDefaults() Config {
	if c.HaarCascade == "" {
		c.HaarCascade = DefaultHaarCascade
	}
	if c.ScoreThreshold == 0 {
		c.ScoreThreshold = DefaultScoreThreshold
	}
	if c.IoUThreshold == 0 {
		c.IoUThreshold = DefaultIoUThreshold
	}
	if c.Threads == 0 {
		c.Threads = DefaultThreads
	}
	return c
}

// Validate reports the first invalid field of c (after defaults).
func (c Config) Validate() error {
	c = c.withDefaults()
	switch {
	case c.FaceModel == "":
		return errors.New("vision: config: FaceModel is required (DefaultConfig sets it from the assets folder)")
	case c.ExpressionModel == "":
		return errors.New("vision: config: ExpressionModel is required (DefaultConfig sets it from the assets folder)")
	case !(c.ScoreThreshold > 0 && c.ScoreThreshold <= 1):
		return fmt.Errorf("vision: config: ScoreThreshold %v must be in (0, 1]", c.ScoreThreshold)
	case !(c.IoUThreshold > 0 && c.IoUThreshold < 1):
		return fmt.Errorf("vision: config: IoUThreshold %v must be in (0, 1)", c.IoUThreshold)
	case c.Threads < 0:
		return fmt.Errorf("vision: config: Threads %d must not be negative", c.Threads)
	}
	return nil
}

// Feature columns, in order: the index of each value in a feature row.
const (
	// ColFacePresent is 1 when a face was found, else 0.
	ColFacePresent = iota
	// ColFaceX is the left edge of the largest face, as a fraction of the
	// frame width, in [0, 1].
	ColFaceX
	// ColFaceY is the top edge, as a fraction of the frame height.
	ColFaceY
	// ColFaceW is the width, as a fraction of the frame width.
	ColFaceW
	// ColFaceH is the height, as a fraction of the frame height.
	ColFaceH
	// ColFaceScore is the BlazeFace confidence of the face, in (0, 1];
	// 0 for a face from the Haar fallback, which gives no confidence.
	ColFaceScore
	// ColFaceHaar is 1 when the face came from the Haar fallback, else 0.
	ColFaceHaar
	// ColExprAngry is the first of the 7 facial-expression probabilities
	// of the largest face (FER2013 classes: angry, disgust, fear, happy,
	// sad, surprise, neutral; they sum to 1), 0 without a face.
	ColExprAngry
	// ColExprDisgust is the probability of disgust.
	ColExprDisgust
	// ColExprFear is the probability of fear.
	ColExprFear
	// ColExprHappy is the probability of happiness.
	ColExprHappy
	// ColExprSad is the probability of sadness.
	ColExprSad
	// ColExprSurprise is the probability of surprise.
	ColExprSurprise
	// ColExprNeutral is the probability of a neutral face.
	ColExprNeutral
	// Dims is the number of columns.
	Dims
)

// columns are the documented names of the columns, in order.
var columns = [Dims]string{
	"face_present", "face_x", "face_y", "face_w", "face_h", "face_score", "face_haar",
	"expr_angry", "expr_disgust", "expr_fear", "expr_happy", "expr_sad", "expr_surprise", "expr_neutral",
}

// Columns returns the names of the feature columns, in order.
func Columns() []string { return append([]string(nil), columns[:]...) }

// FrameStep is the recipe's cadence: the features of one video frame in
// FrameStep are computed (frame indices 0, FrameStep, 2*FrameStep, ...),
// 5 of a 15 frames/s stream, by both the offline extraction and the live
// pipeline. Vision was most of the live pipeline's CPU time at every
// frame (issue #16: 11 streams on two cores); the recipe's frame rate is
// recorded in the feature spec (recipe.Default's frame_step).
const FrameStep = 3

// Sampled reports whether the recipe computes the features of the frame at
// index (0-based in its stream or file).
func Sampled(index int64) bool { return index%FrameStep == 0 }

// SpecName is the feature-spec name of the recipe an Extractor computes.
const SpecName = "blazeface128-haar-minixception7"

// SpecVersion is bumped whenever a change alters the extracted numbers.
const SpecVersion = "1"

// Spec describes the features an Extractor produces, for a model bundle to
// record and check.
type Spec struct {
	// Name is the recipe, SpecName.
	Name string `json:"name"`
	// Version is the recipe version, SpecVersion.
	Version string `json:"version"`
	// ScoreThreshold is the minimum BlazeFace score of a face.
	ScoreThreshold float32 `json:"score_threshold"`
	// IoUThreshold is the BlazeFace box-merging overlap.
	IoUThreshold float32 `json:"iou_threshold"`
	// Haar reports whether the Haar fallback runs.
	Haar bool `json:"haar"`
	// Columns names the feature columns in order.
	Columns []string `json:"columns"`
}

// Dims returns the number of feature columns.
func (s Spec) Dims() int { return len(s.Columns) }

// Check returns an error naming the first field in which other differs from
// s, or nil when they describe the same features.
func (s Spec) Check(other Spec) error {
	for _, f := range []struct {
		name      string
		want, got any
	}{
		{"name", s.Name, other.Name}, {"version", s.Version, other.Version},
		{"score_threshold", s.ScoreThreshold, other.ScoreThreshold},
		{"iou_threshold", s.IoUThreshold, other.IoUThreshold},
		{"haar", s.Haar, other.Haar},
		{"columns", strings.Join(s.Columns, ","), strings.Join(other.Columns, ",")},
	} {
		if f.want != f.got {
			return fmt.Errorf("vision: feature spec %s is %v, want %v", f.name, f.got, f.want)
		}
	}
	return nil
}

// Extractor computes one feature row per video frame: the largest face, its
// box and its expression probabilities. Not safe for concurrent use: run one Extractor per worker.
// Close releases its models.
type Extractor struct {
	cfg   Config
	blaze *blazeFace
	haar  *haar
	expr  *expression
	found []Face // the faces of the last Extract
}

// Face is a face found in a frame, its box clipped to the frame.
type Face struct {
	// X and Y are the box's left and top edges as fractions of the frame
	// width and height, in [0, 1].
	X, Y float32
	// W and H are its width and height as fractions of the frame's.
	W, H float32
	// Score is the BlazeFace confidence in (0, 1]; 0 for a face from the
	// Haar fallback, which gives none.
	Score float32
	// Haar reports whether the face came from the Haar fallback.
	Haar bool
}

// Faces appends to dst every face the last Extract found (the largest of
// which fills the feature row), in the detector's order, and returns the
// extended slice; none before the first Extract, after a frame without a
// face or after an Extract that failed.
func (e *Extractor) Faces(dst []Face) []Face { return append(dst, e.found...) }

// New validates cfg and loads the models. ONNX Runtime must have been
// initialised (onnx.Init, by the command); before, New returns an error
// wrapping onnx.ErrNotInitialized.
func New(cfg Config) (*Extractor, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	e := &Extractor{cfg: cfg}
	var err error
	if e.blaze, err = newBlazeFace(cfg.FaceModel, cfg.Threads, cfg.ScoreThreshold, cfg.IoUThreshold); err != nil {
		return nil, err
	}
	if e.expr, err = newExpression(cfg.ExpressionModel, cfg.Threads); err != nil {
		return nil, errors.Join(err, e.Close())
	}
	if !cfg.DisableHaar {
		if e.haar, err = newHaar(cfg.HaarCascade); err != nil {
			return nil, errors.Join(err, e.Close())
		}
	}
	return e, nil
}

// Spec returns the description of the features e produces.
func (e *Extractor) Spec() Spec {
	return Spec{
		Name: SpecName, Version: SpecVersion,
		ScoreThreshold: e.cfg.ScoreThreshold, IoUThreshold: e.cfg.IoUThreshold,
		Haar: !e.cfg.DisableHaar, Columns: Columns(),
	}
}

// Columns returns the names of the feature columns, in order (the package
// function Columns).
func (e *Extractor) Columns() []string { return Columns() }

// Extract writes the features of one frame into dst[:Dims]. The frame holds
// width*height pixels of 3 bytes in BGR order (OpenCV's layout), row-major
// without padding. The largest face found by BlazeFace, else by the Haar
// fallback, fills the box columns, and the expression model, run on the
// square around the box's centre with the box's longer side, fills the
// expression columns; a frame
// without a face gives the no-face vector: every column 0, the expression
// probabilities included.
func (e *Extractor) Extract(frame []byte, width, height int, dst []float32) error {
	if width <= 0 || height <= 0 || len(frame) != width*height*3 {
		return fmt.Errorf("%w: %d bytes for %dx%d", ErrFrameSize, len(frame), width, height)
	}
	if len(dst) < Dims {
		return fmt.Errorf("%w: %d < %d", ErrDstSize, len(dst), Dims)
	}
	row := dst[:Dims]
	clear(row)
	e.found = e.found[:0]
	faces, err := e.blaze.detect(frame, width, height)
	if err != nil {
		return err
	}
	fromHaar := false
	if len(faces) == 0 && e.haar != nil {
		if faces, err = e.haar.detect(frame, width, height); err != nil {
			return err
		}
		fromHaar = true
	}
	for _, b := range faces {
		if c := clip(b); c.w > 0 && c.h > 0 {
			e.found = append(e.found, Face{X: c.x, Y: c.y, W: c.w, H: c.h, Score: c.score, Haar: fromHaar})
		}
	}
	if len(faces) == 0 {
		return nil
	}
	face := largest(faces)
	f := clip(face)
	if f.w <= 0 || f.h <= 0 {
		e.found = e.found[:0]
		return nil
	}
	if err := e.expr.probs(frame, width, height, faceSquare(face, width, height), row[ColExprAngry:]); err != nil {
		e.found = e.found[:0]
		return err
	}
	row[ColFacePresent] = 1
	row[ColFaceX], row[ColFaceY], row[ColFaceW], row[ColFaceH] = f.x, f.y, f.w, f.h
	row[ColFaceScore] = f.score
	if fromHaar {
		row[ColFaceHaar] = 1
	}
	return nil
}

// largest returns the box of largest area.
func largest(faces []box) box {
	best := faces[0]
	for _, f := range faces[1:] {
		if f.area() > best.area() {
			best = f
		}
	}
	return best
}

// clip returns b cut to the frame [0, 1] x [0, 1].
func clip(b box) box {
	x0, y0 := max(b.x, 0), max(b.y, 0)
	x1, y1 := min(b.x+b.w, 1), min(b.y+b.h, 1)
	return box{x: x0, y: y0, w: max(x1-x0, 0), h: max(y1-y0, 0), score: b.score}
}

// Close releases the models. Call it once, after the last Extract.
func (e *Extractor) Close() error {
	var errs []error
	if e.blaze != nil {
		errs = append(errs, e.blaze.close())
	}
	if e.haar != nil {
		errs = append(errs, e.haar.close())
	}
	if e.expr != nil {
		errs = append(errs, e.expr.close())
	}
	return errors.Join(errs...)
}
