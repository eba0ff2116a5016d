package obs

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// ContentType is the media type of the Prometheus text format that
// Registry writes.
const ContentType = "text/plain; version=0.0.4; charset=utf-8"

// Registry holds metrics and writes them in the Prometheus text format. The
// zero value is not usable; call NewRegistry. It is safe for concurrent use.
type Registry struct {
	mu       sync.Mutex
	families map[string]*family
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{families: make(map[string]*family)}
}

type family struct {
	name, help, typ string
	series          map[string]series // by rendered label set
}

// series is one labelled time series of a family.
type series interface {
	write(w *bufio.Writer, name, labels string)
}

// register adds a series, panicking on an invalid name or label, a type
// clash, or a duplicate.
func (r *Registry) register(name, help, typ string, labels []string, s series) {
	if !validName(name) {
		panic(fmt.Sprintf("obs: invalid metric name %q", name))
	}
	ls := renderLabels(labels)
	r.mu.Lock()
	defer r.mu.Unlock()
	f := r.families[name]
	if f == nil {
		f = &family{name: name, help: help, typ: typ, series: make(map[string]series)}
		r.families[name] = f
	}
	if f.typ != typ {
		panic(fmt.Sprintf("obs: metric %q registered as %s and %s", name, f.typ, typ))
	}
	if _, dup := f.series[ls]; dup {
		panic(fmt.Sprintf("obs: metric %s%s registered twice", name, ls))
	}
	f.series[ls] = s
}

// Counter registers and returns a counter, a value that only goes up. The
// name should end in "_total". labels are constant label pairs: name,
// value, name, value, ... It panics on an invalid or duplicate
// registration.
func (r *Registry) Counter(name, help string, labels ...string) *Counter {
	c := new(Counter)
	r.register(name, help, "counter", labels, c)
	return c
}

// Gauge registers and returns a gauge, a value that goes up and down. labels
// are as for Counter. It panics on an invalid or duplicate registration.
func (r *Registry) Gauge(name, help string, labels ...string) *Gauge {
	g := new(Gauge)
	r.register(name, help, "gauge", labels, g)
	return g
}

// GaugeFunc registers a gauge whose value is f's result at the time the
// registry is written, such as a queue depth. f must be safe for concurrent
// use and must not call the registry. labels are as for Counter. It panics on
// an invalid or duplicate registration.
func (r *Registry) GaugeFunc(name, help string, f func() float64, labels ...string) {
	r.register(name, help, "gauge", labels, gaugeFunc(f))
}

// Histogram registers and returns a histogram with the given upper bucket
// bounds, which must be finite and strictly increasing; the +Inf bucket is
// implicit. labels are as for Counter. It panics on invalid bounds or an
// invalid or duplicate registration.
func (r *Registry) Histogram(name, help string, bounds []float64, labels ...string) *Histogram {
	checkBounds(name, bounds)
	h := &Histogram{bounds: slices.Clone(bounds), counts: make([]atomic.Uint64, len(bounds)+1)}
	r.register(name, help, "histogram", labels, h)
	return h
}

// HistogramSnapshot is a histogram read at writing time: per-bucket (not
// cumulative) counts for the upper bounds, the last for +Inf, and the sum
// of the observations.
type HistogramSnapshot struct {
	Counts []uint64
	Sum    float64
}

// HistogramFunc registers a histogram whose buckets are read from f when
// the registry is written, such as a pipeline stage's latency histogram
// kept elsewhere. bounds are as for Histogram; f must return
// len(bounds)+1 counts, be safe for concurrent use and not call the
// registry. It panics on invalid bounds or an invalid or duplicate
// registration.
func (r *Registry) HistogramFunc(name, help string, bounds []float64, f func() HistogramSnapshot, labels ...string) {
	checkBounds(name, bounds)
	r.register(name, help, "histogram", labels, histogramFunc{bounds: slices.Clone(bounds), f: f})
}

type histogramFunc struct {
	bounds []float64
	f      func() HistogramSnapshot
}

func (h histogramFunc) write(w *bufio.Writer, name, labels string) {
	snap := h.f()
	var cum uint64
	for i := range len(h.bounds) + 1 {
		if i < len(snap.Counts) {
			cum += snap.Counts[i]
		}
		le := "+Inf"
		if i < len(h.bounds) {
			le = formatFloat(h.bounds[i])
		}
		fmt.Fprintf(w, "%s_bucket%s %d\n", name, withLabel(labels, "le", le), cum)
	}
	fmt.Fprintf(w, "%s_sum%s %s\n", name, labels, formatFloat(snap.Sum))
	fmt.Fprintf(w, "%s_count%s %d\n", name, labels, cum)
}

func checkBounds(name string, bounds []float64) {
	for i, b := range bounds {
		if math.IsInf(b, 0) || math.IsNaN(b) || (i > 0 && b <= bounds[i-1]) {
			panic(fmt.Sprintf("obs: histogram %q: bounds %v not finite and increasing", name, bounds))
		}
	}
}

// WriteText writes every metric in the Prometheus text format, families
// sorted by name and series by labels.
func (r *Registry) WriteText(w io.Writer) error {
	r.mu.Lock()
	fams := make([]*family, 0, len(r.families))
	for _, f := range r.families {
		fams = append(fams, f)
	}
	type entry struct {
		labels string
		s      series
	}
	all := make([][]entry, len(fams))
	slices.SortFunc(fams, func(a, b *family) int { return strings.Compare(a.name, b.name) })
	for i, f := range fams {
		for ls, s := range f.series {
			all[i] = append(all[i], entry{ls, s})
		}
		slices.SortFunc(all[i], func(a, b entry) int { return strings.Compare(a.labels, b.labels) })
	}
	r.mu.Unlock()

	bw := bufio.NewWriter(w)
	for i, f := range fams {
		fmt.Fprintf(bw, "# HELP %s %s\n# TYPE %s %s\n", f.name, helpEscaper.Replace(f.help), f.name, f.typ)
		for _, e := range all[i] {
			e.s.write(bw, f.name, e.labels)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("obs: write metrics: %w", err)
	}
	return nil
}

// ServeHTTP writes the metrics as the response, for mounting at /metrics.
func (r *Registry) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", ContentType)
	// The client went away if this fails; there is nobody to tell.
	_ = r.WriteText(w)
}

// Counter is a monotonically increasing count. It is safe for concurrent
// use.
type Counter struct{ v atomic.Uint64 }

// Inc adds 1.
func (c *Counter) Inc() { c.v.Add(1) }

// Add adds n.
func (c *Counter) Add(n uint64) { c.v.Add(n) }

// Value returns the current count.
func (c *Counter) Value() uint64 { return c.v.Load() }

func (c *Counter) write(w *bufio.Writer, name, labels string) {
	fmt.Fprintf(w, "%s%s %d\n", name, labels, c.Value())
}

// Gauge is a value that goes up and down. It is safe for concurrent use.
type Gauge struct{ bits atomic.Uint64 }

// Set sets the value.
func (g *Gauge) Set(v float64) { g.bits.Store(math.Float64bits(v)) }

// Add adds d, which may be negative.
func (g *Gauge) Add(d float64) { addFloat(&g.bits, d) }

// Value returns the current value.
func (g *Gauge) Value() float64 { return math.Float64frombits(g.bits.Load()) }

func (g *Gauge) write(w *bufio.Writer, name, labels string) {
	fmt.Fprintf(w, "%s%s %s\n", name, labels, formatFloat(g.Value()))
}

type gaugeFunc func() float64

func (f gaugeFunc) write(w *bufio.Writer, name, labels string) {
	fmt.Fprintf(w, "%s%s %s\n", name, labels, formatFloat(f()))
}

// Histogram counts observations in buckets. It is safe for concurrent use;
// a concurrent write may see an observation in the count before the sum.
type Histogram struct {
	bounds  []float64
	counts  []atomic.Uint64 // per bucket, not cumulative; the last is +Inf
	sumBits atomic.Uint64
}

// Observe records one value, such as a latency in seconds.
func (h *Histogram) Observe(v float64) {
	i, _ := slices.BinarySearch(h.bounds, v)
	h.counts[i].Add(1)
	addFloat(&h.sumBits, v)
}

// Count returns the number of observations.
func (h *Histogram) Count() uint64 {
	var n uint64
	for i := range h.counts {
		n += h.counts[i].Load()
	}
	return n
}

func (h *Histogram) write(w *bufio.Writer, name, labels string) {
	var cum uint64
	for i := range h.counts {
		cum += h.counts[i].Load()
		le := "+Inf"
		if i < len(h.bounds) {
			le = formatFloat(h.bounds[i])
		}
		fmt.Fprintf(w, "%s_bucket%s %d\n", name, withLabel(labels, "le", le), cum)
	}
	fmt.Fprintf(w, "%s_sum%s %s\n", name, labels, formatFloat(math.Float64frombits(h.sumBits.Load())))
	fmt.Fprintf(w, "%s_count%s %d\n", name, labels, cum)
}

// ExponentialBounds returns n bucket bounds start, start*factor,
// start*factor², ...; start must be positive and factor above 1.
func ExponentialBounds(start, factor float64, n int) []float64 {
	if start <= 0 || factor <= 1 || n < 1 {
		panic(fmt.Sprintf("obs: ExponentialBounds(%v, %v, %d)", start, factor, n))
	}
	b := make([]float64, n)
	for i := range b {
		b[i] = start
		start *= factor
	}
	return b
}

func addFloat(bits *atomic.Uint64, d float64) {
	for {
		old := bits.Load()
		if bits.CompareAndSwap(old, math.Float64bits(math.Float64frombits(old)+d)) {
			return
		}
	}
}

func formatFloat(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	case math.IsNaN(v):
		return "NaN"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

var (
	helpEscaper  = strings.NewReplacer(`\`, `\\`, "\n", `\n`)
	valueEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`, `"`, `\"`)
)

// renderLabels renders name/value pairs as {a="x",b="y"} in the given
// order, panicking on an odd count or an invalid label name.
func renderLabels(pairs []string) string {
	if len(pairs)%2 != 0 {
		panic(fmt.Sprintf("obs: odd number of label strings %q", pairs))
	}
	ls := ""
	for i := 0; i < len(pairs); i += 2 {
		if !validName(pairs[i]) || strings.Contains(pairs[i], ":") || strings.HasPrefix(pairs[i], "__") || pairs[i] == "le" {
			panic(fmt.Sprintf("obs: invalid label name %q", pairs[i]))
		}
		ls = withLabel(ls, pairs[i], pairs[i+1])
	}
	return ls
}

// withLabel appends one label to a rendered label set.
func withLabel(labels, name, value string) string {
	l := name + `="` + valueEscaper.Replace(value) + `"`
	if labels == "" {
		return "{" + l + "}"
	}
	return labels[:len(labels)-1] + "," + l + "}"
}

// validName reports whether s matches [a-zA-Z_:][a-zA-Z0-9_:]*.
func validName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '_' || c == ':' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || i > 0 && '0' <= c && c <= '9' {
			continue
		}
		return false
	}
	return true
}
