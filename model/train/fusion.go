package train

import (
	"math"

	"github.com/cmc-stream/cmc-stream/model"
)

// headCache holds one expert head's forward values for a batch, each
// [B,n] in row-major order.
type headCache struct {
	x, a, rd, res, logits []float32
	lin                   linearScratch
	draws                 []uint16 // dropout.apply's scratch
}

func (c *headCache) resize(b, e int) {
	c.x, c.a, c.rd, c.res = grow(c.x, b*e), grow(c.a, b*e), grow(c.rd, b*e), grow(c.res, b*e)
	c.logits = grow(c.logits, b*model.Classes)
}

// headForward applies the residual head of cmc-model.md §2.3 to the rows
// of c.x: logits = Out(Proj2(Drop(ReLU(Proj1 x))) + x).
func headForward(hd *model.Head, c *headCache, b int, drop dropout, key uint64) {
	e := hd.Proj1.In
	c.lin.forward(c.a, c.x, b, &hd.Proj1)
	for i, v := range c.a {
		c.rd[i] = max(v, 0)
	}
	if drop.active() {
		for s := range b {
			drop.apply(c.rd[s*e:(s+1)*e], streamKey(key, uint64(s)), &c.draws)
		}
	}
	c.lin.forward(c.res, c.rd, b, &hd.Proj2)
	for i, v := range c.x {
		c.res[i] += v
	}
	c.lin.forward(c.logits, c.res, b, &hd.Out)
}

// headBackward accumulates the head's parameter gradients into g from the
// logit gradients dlogits and writes the input gradient to dx. tmp is
// scratch of [B,E].
func headBackward(hd, g *model.Head, c *headCache, b int, drop dropout, key uint64, dlogits, dx, tmp []float32) {
	e := hd.Proj1.In
	c.lin.backward(dx, dlogits, c.res, b, &hd.Out, &g.Out, false) // dx = d res
	c.lin.backward(tmp, dx, c.rd, b, &hd.Proj2, &g.Proj2, false)  // tmp = d rd
	if drop.active() {
		for s := range b {
			drop.apply(tmp[s*e:(s+1)*e], streamKey(key, uint64(s)), &c.draws)
		}
	}
	for i, v := range c.a {
		if v <= 0 {
			tmp[i] = 0
		}
	}
	c.lin.backward(dx, tmp, c.x, b, &hd.Proj1, &g.Proj1, true)
}

// crossEntropy returns the mean softmax cross-entropy of logits [B,3]
// against labels (cmc-model.md §4.1) and adds its gradient, times scale,
// to grad when grad is not nil.
func crossEntropy(logits []float32, labels []int, grad []float32) float64 {
	b := len(labels)
	var loss float64
	for s, y := range labels {
		z := logits[s*model.Classes : (s+1)*model.Classes]
		mx := math.Inf(-1)
		for _, v := range z {
			mx = math.Max(mx, float64(v))
		}
		var sum float64
		var p [model.Classes]float64
		for c, v := range z {
			p[c] = math.Exp(float64(v) - mx)
			sum += p[c]
		}
		loss += math.Log(sum) + mx - float64(z[y])
		if grad != nil {
			gr := grad[s*model.Classes:]
			for c := range p {
				d := p[c] / sum
				if c == y {
					d--
				}
				gr[c] += float32(d / float64(b))
			}
		}
	}
	return loss / float64(b)
}

// supCon returns the supervised contrastive loss of cmc-model.md §4.2 (the
// "log of summed positives" form) over the unit rows of h [n,E] with binary
// labels q, and adds its gradient with respect to h to grad when grad is
// not nil. Anchors without a positive are left out; with none it is 0.
//
// With stable unset it replicates the reference arithmetic: float32
// E_ij = exp(H_i·H_j/τ) without a shift, and the denominator as the
// float32 row sum including the self term e^{1/τ} ≈ 1.6e6, minus that term.
// The cancellation costs about 1e-3 relative precision in the denominator,
// which the reference's losses and gradients carry (the fixture shows it).
// With stable set the sums are formed in float64 after subtracting each
// row's maximum over j ≠ i.
func supCon(h []float32, q []bool, e int, tau float64, stable bool, grad []float32) float64 {
	n := len(q)
	anchors := 0
	for i := range n {
		for j := range n {
			if j != i && q[j] == q[i] {
				anchors++
				break
			}
		}
	}
	if anchors == 0 {
		return 0
	}
	sim := make([]float64, n)
	ex := make([]float64, n)
	var coef []float64 // ∂loss/∂(H_i·H_j/τ), row-major
	if grad != nil {
		coef = make([]float64, n*n)
	}
	var loss float64
	for i := range n {
		hasPos := false
		for j := range n {
			sim[j] = float64(dot(h[i*e:(i+1)*e], h[j*e:(j+1)*e])) / tau
			hasPos = hasPos || (j != i && q[j] == q[i])
		}
		if !hasPos {
			continue
		}
		var pos, all float64
		if stable {
			mx := math.Inf(-1)
			for j, v := range sim {
				if j != i {
					mx = math.Max(mx, v)
				}
			}
			for j, v := range sim {
				ex[j] = 0
				if j == i {
					continue
				}
				ex[j] = math.Exp(v - mx)
				all += ex[j]
				if q[j] == q[i] {
					pos += ex[j]
				}
			}
		} else {
			var pos32, sum32 float32
			for j, v := range sim {
				x := float32(math.Exp(float64(float32(v))))
				ex[j] = float64(x)
				sum32 += x
				if j != i && q[j] == q[i] {
					pos32 += x
				}
			}
			pos, all = float64(pos32), float64(sum32-float32(ex[i]))
		}
		loss -= math.Log(pos / all)
		if coef == nil {
			continue
		}
		for j := range n {
			if j == i {
				continue
			}
			c := ex[j] / all
			if q[j] == q[i] {
				c -= ex[j] / pos
			}
			coef[i*n+j] = c / float64(anchors)
		}
	}
	if grad != nil {
		for i := range n {
			gi := grad[i*e : (i+1)*e]
			for j := range n {
				c := float32((coef[i*n+j] + coef[j*n+i]) / tau)
				if c != 0 {
					axpy(c, h[j*e:(j+1)*e], gi)
				}
			}
		}
	}
	return loss / float64(anchors)
}

// pfmCache holds the PFM and router values of one sample.
type pfmCache struct {
	a [model.Experts][model.Experts]float32 // row-softmax weights A
	f []float32                             // router input Σ_k X'_k
	g [model.Experts]float32                // router gate
}

// pfmForward mixes the unit rows h of one sample into mixed (cmc-model.md
// §2.5: S = XXᵀ, A = softmax(S/τ), X' = AX) and computes the router input.
func pfmForward(c *pfmCache, h, mixed [model.Experts][]float32, tau float32) {
	for i := range model.Experts {
		var z [model.Experts]float32
		mx := float32(math.Inf(-1))
		for j := range model.Experts {
			z[j] = dot(h[i], h[j]) / tau
			mx = max(mx, z[j])
		}
		var sum float32
		for j := range z {
			z[j] = float32(math.Exp(float64(z[j] - mx)))
			sum += z[j]
		}
		row := mixed[i]
		clear(row)
		for j := range z {
			c.a[i][j] = z[j] / sum
			axpy(c.a[i][j], h[j], row)
		}
	}
	clear(c.f)
	for k := range model.Experts {
		axpy(1, mixed[k], c.f)
	}
}

// pfmBackward adds to dh the gradient through X' = softmax(XXᵀ/τ)X from
// dmixed.
func pfmBackward(c *pfmCache, h, dmixed, dh [model.Experts][]float32, tau float32) {
	var ds [model.Experts][model.Experts]float32
	for i := range model.Experts {
		var da [model.Experts]float32
		var s float32
		for j := range model.Experts {
			da[j] = dot(dmixed[i], h[j])
			s += c.a[i][j] * da[j]
			axpy(c.a[i][j], dmixed[i], dh[j])
		}
		for j := range model.Experts {
			ds[i][j] = c.a[i][j] * (da[j] - s) / tau
		}
	}
	for i := range model.Experts {
		for j := range model.Experts {
			axpy(ds[i][j]+ds[j][i], h[j], dh[i])
		}
	}
}
