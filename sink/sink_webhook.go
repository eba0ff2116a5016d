package sink

import (
	"bytes"
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cmc-stream/cmc-stream/event"
	"github.com/cmc-stream/cmc-stream/internal/ctxtime"
)

// SignatureHeader is the request header that carries the webhook
// signature: "sha256=" and the lower-case hex HMAC-SHA256 of the request
// body under the configured secret. A receiver recomputes it over the raw
// body and compares in constant time (hmac.Equal).
const SignatureHeader = "X-CMC-Signature"

// Sign returns the value of SignatureHeader for body under secret.
func Sign(secret, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// WebhookConfig configures a Webhook sink. Zero values mean the defaults.
type WebhookConfig struct {
	// URL receives one POST per record; http or https, required.
	URL string
	// Secret is the HMAC-SHA256 key of the signature; required, at least
	// 16 bytes. Read it from a file or an environment variable; it is
	// never logged.
	Secret []byte
	// Timeout bounds one attempt. Default 5 s.
	Timeout time.Duration
	// MaxAttempts is how many times a record is tried. Default 5.
	MaxAttempts int
	// BackoffMin and BackoffMax bound the wait between attempts, which
	// doubles from BackoffMin. Defaults 200 ms and 10 s.
	BackoffMin, BackoffMax time.Duration
	// Queue is the number of records waiting to be sent; a record that
	// finds it full is dead-lettered at once. Default 1024.
	Queue int
	// DeadLetter receives each record given up on with the reason: after
	// MaxAttempts, at once for a 4xx answer other than 408 and 429, or a
	// full queue. It must not block for long. Default: dropped (the error
	// is reported by Failed).
	DeadLetter func(ctx context.Context, r event.Record, reason error)
	// Client sends the requests. Default: a client with Timeout.
	Client *http.Client
}

// The defaults of WebhookConfig.
const (
	// DefaultWebhookTimeout is the default bound on one attempt.
	DefaultWebhookTimeout = 5 * time.Second
	// DefaultWebhookAttempts is the default number of attempts.
	DefaultWebhookAttempts = 5
	// DefaultWebhookBackoffMin is the default first wait between attempts.
	DefaultWebhookBackoffMin = 200 * time.Millisecond
	// DefaultWebhookBackoffMax is the default longest wait.
	DefaultWebhookBackoffMax = 10 * time.Second
	// DefaultWebhookQueue is the default queue length, in records.
	DefaultWebhookQueue = 1024
)

// Validate checks the URL, the secret's length and that nothing is
// negative.
func (c WebhookConfig) Validate() error {
	u, err := url.Parse(c.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("sink: webhook: url %q is not an http or https URL", c.URL)
	}
	if len(c.Secret) < 16 {
		return fmt.Errorf("sink: webhook: secret of %d bytes, want at least 16", len(c.Secret))
	}
	if c.Timeout < 0 || c.MaxAttempts < 0 || c.BackoffMin < 0 || c.BackoffMax < 0 || c.Queue < 0 {
		return errors.New("sink: webhook: negative timeout, attempts, back-off or queue")
	}
	return nil
}

// Webhook POSTs each record (summary, alert) as JSON to a URL, signed with
// SignatureHeader, with the headers X-CMC-Schema (the schema name) and
// X-CMC-ID (the record's deterministic id, for de-duplication: a record
// may arrive twice when an answer is lost). Publish queues the records and
// returns; one goroutine sends them in order, retrying with back-off, and
// dead-letters those it gives up on. Safe for concurrent use.
type Webhook struct {
	cfg    WebhookConfig
	queue  chan event.Record
	stop   chan struct{} // closed by Close: give up waiting
	done   chan struct{} // closed when the sender returns
	failed atomic.Int64

	mu     sync.Mutex // guards closed and sending on queue
	closed bool
}

// NewWebhook starts the sender.
func NewWebhook(cfg WebhookConfig) (*Webhook, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.Timeout = cmp.Or(cfg.Timeout, DefaultWebhookTimeout)
	cfg.MaxAttempts = cmp.Or(cfg.MaxAttempts, DefaultWebhookAttempts)
	cfg.BackoffMin = cmp.Or(cfg.BackoffMin, DefaultWebhookBackoffMin)
	cfg.BackoffMax = max(cmp.Or(cfg.BackoffMax, DefaultWebhookBackoffMax), cfg.BackoffMin)
	cfg.Queue = cmp.Or(cfg.Queue, DefaultWebhookQueue)
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: cfg.Timeout}
	}
	w := &Webhook{cfg: cfg, queue: make(chan event.Record, cfg.Queue), stop: make(chan struct{}), done: make(chan struct{})}
	go w.run()
	return w, nil
}

// errQueueFull is the dead-letter reason of a record that found the queue
// full.
var errQueueFull = errors.New("sink: webhook: queue full")

// Publish queues the records; a record that finds the queue full is
// dead-lettered.
func (w *Webhook) Publish(ctx context.Context, records []event.Record) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("sink: webhook: %w", err)
	}
	var full []event.Record
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return ErrClosed
	}
	for _, r := range records {
		select {
		case w.queue <- r:
		default:
			full = append(full, r)
		}
	}
	w.mu.Unlock()
	for _, r := range full {
		w.giveUp(ctx, r, errQueueFull)
	}
	return nil
}

// Failed returns the number of records given up on.
func (w *Webhook) Failed() int64 { return w.failed.Load() }

// Close sends what is queued, until ctx is done; the records left are
// dead-lettered.
func (w *Webhook) Close(ctx context.Context) error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return nil
	}
	w.closed = true
	close(w.queue)
	w.mu.Unlock()
	select {
	case <-w.done:
		return nil
	case <-ctx.Done():
		close(w.stop)
		<-w.done
		return fmt.Errorf("sink: webhook: close: %w", ctx.Err())
	}
}

func (w *Webhook) run() {
	defer close(w.done)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-w.stop:
			cancel()
		case <-w.done:
		}
	}()
	for r := range w.queue {
		if err := w.send(ctx, r); err != nil {
			w.giveUp(context.WithoutCancel(ctx), r, err)
		}
	}
}

// giveUp counts a failed record and hands it to the dead letter.
func (w *Webhook) giveUp(ctx context.Context, r event.Record, reason error) {
	w.failed.Add(1)
	if w.cfg.DeadLetter != nil {
		w.cfg.DeadLetter(ctx, r, reason)
	}
}

// errPermanent marks an answer that trying again will not change.
var errPermanent = errors.New("permanent")

// send POSTs one record, trying up to MaxAttempts times.
func (w *Webhook) send(ctx context.Context, r event.Record) error {
	body, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("sink: webhook: %q: %w", r.RecordID(), err)
	}
	sig := Sign(w.cfg.Secret, body)
	wait := w.cfg.BackoffMin
	for attempt := 1; ; attempt++ {
		err = w.post(ctx, r, body, sig)
		if err == nil {
			return nil
		}
		if errors.Is(err, errPermanent) || attempt == w.cfg.MaxAttempts {
			return fmt.Errorf("sink: webhook: %q after %d attempts: %w", r.RecordID(), attempt, err)
		}
		if serr := ctxtime.Sleep(ctx, wait); serr != nil {
			return fmt.Errorf("sink: webhook: %q: %w (last: %w)", r.RecordID(), serr, err)
		}
		wait = min(2*wait, w.cfg.BackoffMax)
	}
}

func (w *Webhook) post(ctx context.Context, r event.Record, body []byte, sig string) error {
	ctx, cancel := context.WithTimeout(ctx, w.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%w: %w", errPermanent, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(SignatureHeader, sig)
	req.Header.Set("X-CMC-Schema", r.RecordSchema())
	req.Header.Set("X-CMC-ID", r.RecordID())
	resp, err := w.cfg.Client.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close() // the answer was read; nothing to report
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return nil
	case resp.StatusCode == http.StatusRequestTimeout || resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return fmt.Errorf("%w: status %d", errPermanent, resp.StatusCode)
}
