package browsertest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"time"
)

// ErrNoBrowser is returned by Path and Start when no Chromium is installed.
var ErrNoBrowser = errors.New("browsertest: chromium not found; install it with `make setup` or `bash scripts/install-browser.sh` (Debian package chromium)")

// names are the executables Path looks for, in order: Debian's package first.
var names = []string{"chromium", "chromium-browser", "google-chrome"}

// Path returns the Chromium executable: the first of chromium,
// chromium-browser and google-chrome on PATH. It returns ErrNoBrowser when
// there is none.
func Path() (string, error) {
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p, nil
		}
	}
	return "", ErrNoBrowser
}

// flags are the headless flags the project's machines need: without the
// networking ones Chromium's background connections are refused by the
// closed network, many at a time.
var flags = []string{
	"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
	"--disable-background-networking", "--disable-component-update", "--disable-sync",
	"--disable-extensions", "--hide-scrollbars", "--mute-audio", "--remote-debugging-pipe",
}

// closeTimeout is how long Close waits for Chromium to exit after asking it
// to, before it kills the process.
const closeTimeout = 5 * time.Second

// Browser is a running headless Chromium.
type Browser struct {
	cmd    *exec.Cmd
	send   *os.File // our end of Chromium's command pipe (its fd 3)
	recv   *os.File // our end of Chromium's event pipe (its fd 4)
	stderr *limitedBuffer
	done   chan struct{} // closed when the reader goroutine ends
	wmu    sync.Mutex    // serialises writes to send

	mu         sync.Mutex
	nextID     int64
	pending    map[int64]chan reply
	exceptions map[string][]string // uncaught exceptions by session id
	readErr    error               // why the reader ended, set before done is closed
}

// reply is the outcome of one command: its result or its error.
type reply struct {
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// message is any message from Chromium: a reply to a command (ID set) or an
// event (Method and Params set), in a session when SessionID is set.
type message struct {
	ID        int64           `json:"id"`
	SessionID string          `json:"sessionId"`
	Method    string          `json:"method"`
	Params    json.RawMessage `json:"params"`
	reply
}

// exceptionThrown is the part of the Runtime.exceptionThrown event that
// Exceptions reports.
type exceptionThrown struct {
	Details struct {
		Text      string `json:"text"`
		URL       string `json:"url"`
		Line      int    `json:"lineNumber"`
		Exception struct {
			Description string `json:"description"`
		} `json:"exception"`
	} `json:"exceptionDetails"`
}

// Start launches Chromium with a fresh profile in profileDir, which must be
// an empty directory that outlives the Browser (a test's t.TempDir()). ctx
// bounds only the start; call Close to end the browser.
func Start(ctx context.Context, profileDir string) (*Browser, error) {
	path, err := Path()
	if err != nil {
		return nil, err
	}
	// Chromium reads commands from fd 3 and writes replies and events to fd 4.
	cmdR, cmdW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("browsertest: %w", err)
	}
	evR, evW, err := os.Pipe()
	if err != nil {
		closeAll(cmdR, cmdW)
		return nil, fmt.Errorf("browsertest: %w", err)
	}
	args := append(append([]string(nil), flags...), "--user-data-dir="+profileDir, "about:blank")
	cmd := exec.Command(path, args...)
	cmd.ExtraFiles = []*os.File{cmdR, evW}
	stderr := &limitedBuffer{max: 16 << 10}
	cmd.Stdout = stderr
	cmd.Stderr = stderr
	err = cmd.Start()
	closeAll(cmdR, evW) // the child holds its own copies now
	if err != nil {
		closeAll(cmdW, evR)
		return nil, fmt.Errorf("browsertest: starting %s: %w", path, err)
	}
	b := &Browser{
		cmd: cmd, send: cmdW, recv: evR, stderr: stderr,
		done: make(chan struct{}), pending: make(map[int64]chan reply),
		exceptions: make(map[string][]string),
	}
	go b.read()
	if err := b.call(ctx, "", "Browser.getVersion", nil, nil); err != nil {
		_ = b.Close()
		return nil, fmt.Errorf("browsertest: %s did not answer: %w; its output:\n%s", path, err, stderr)
	}
	return b, nil
}

func closeAll(files ...*os.File) {
	for _, f := range files {
		_ = f.Close()
	}
}

// read dispatches Chromium's replies to their callers until the pipe
// closes. Of the events it keeps the uncaught exceptions of each session and
// drops the rest.
func (b *Browser) read() {
	r := bufio.NewReader(b.recv)
	var err error
	for {
		var rec []byte
		rec, err = r.ReadBytes(0)
		if err != nil {
			break
		}
		var m message
		if err = json.Unmarshal(rec[:len(rec)-1], &m); err != nil {
			err = fmt.Errorf("decoding a DevTools message: %w", err)
			break
		}
		if m.ID == 0 {
			if m.Method == "Runtime.exceptionThrown" {
				b.recordException(m.SessionID, m.Params)
			}
			continue
		}
		b.mu.Lock()
		ch := b.pending[m.ID]
		delete(b.pending, m.ID)
		b.mu.Unlock()
		if ch != nil {
			ch <- m.reply // buffered: never blocks
		}
	}
	b.mu.Lock()
	b.readErr = err
	b.mu.Unlock()
	close(b.done)
}

func (b *Browser) recordException(sessionID string, params json.RawMessage) {
	var e exceptionThrown
	msg := "undecodable Runtime.exceptionThrown event: " + string(params)
	if json.Unmarshal(params, &e) == nil {
		d := e.Details
		msg = fmt.Sprintf("%s:%d: %s %s", d.URL, d.Line+1, d.Text, d.Exception.Description)
	}
	b.mu.Lock()
	b.exceptions[sessionID] = append(b.exceptions[sessionID], msg)
	b.mu.Unlock()
}

// call sends one DevTools command, in the flattened session sessionID or to
// the browser when it is "", and decodes its result into out unless out is
// nil.
func (b *Browser) call(ctx context.Context, sessionID, method string, params, out any) error {
	ch := make(chan reply, 1)
	b.mu.Lock()
	b.nextID++
	id := b.nextID
	b.pending[id] = ch
	b.mu.Unlock()
	forget := func() {
		b.mu.Lock()
		delete(b.pending, id)
		b.mu.Unlock()
	}

	req := struct {
		ID        int64  `json:"id"`
		SessionID string `json:"sessionId,omitempty"`
		Method    string `json:"method"`
		Params    any    `json:"params,omitempty"`
	}{id, sessionID, method, params}
	msg, err := json.Marshal(req)
	if err != nil {
		forget()
		return fmt.Errorf("%s: %w", method, err)
	}
	b.wmu.Lock()
	_, err = b.send.Write(append(msg, 0))
	b.wmu.Unlock()
	if err != nil {
		forget()
		return fmt.Errorf("%s: %w", method, err)
	}

	select {
	case r := <-ch:
		if r.Error != nil {
			return fmt.Errorf("%s: DevTools error %d: %s", method, r.Error.Code, r.Error.Message)
		}
		if out == nil {
			return nil
		}
		if err := json.Unmarshal(r.Result, out); err != nil {
			return fmt.Errorf("%s: decoding the result: %w", method, err)
		}
		return nil
	case <-b.done:
		b.mu.Lock()
		err := b.readErr
		b.mu.Unlock()
		return fmt.Errorf("%s: browser gone: %w", method, err)
	case <-ctx.Done():
		forget()
		return fmt.Errorf("%s: %w", method, ctx.Err())
	}
}

// Close asks Chromium to exit, kills it if it has not within 5 s, and
// releases the pipes. It returns nil once the process is gone; calling it
// again is an error.
func (b *Browser) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
	defer cancel()
	_ = b.call(ctx, "", "Browser.close", nil, nil) // the reply may race the exit
	exited := make(chan error, 1)
	go func() { exited <- b.cmd.Wait() }()
	var err error
	select {
	case err = <-exited:
	case <-ctx.Done():
		_ = b.cmd.Process.Kill()
		err = <-exited
	}
	closeAll(b.send, b.recv)
	<-b.done
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return nil // killed or exited non-zero on the way out: it is gone
	}
	return err
}

// Output returns the last 16 KiB Chromium wrote to stdout and stderr, for
// failure messages.
func (b *Browser) Output() string {
	return b.stderr.String()
}

// Page is one browser tab, attached in a flattened DevTools session.
type Page struct {
	b         *Browser
	targetID  string
	sessionID string
}

// Open opens url in a new tab whose viewport is width x height CSS pixels
// and returns once the navigation has committed; the page may still be
// loading (poll with Eval). Uncaught exceptions of the page are recorded
// from the start; see Exceptions.
func (b *Browser) Open(ctx context.Context, url string, width, height int) (*Page, error) {
	var t struct {
		TargetID string `json:"targetId"`
	}
	if err := b.call(ctx, "", "Target.createTarget", map[string]any{"url": "about:blank"}, &t); err != nil {
		return nil, fmt.Errorf("browsertest: %w", err)
	}
	var s struct {
		SessionID string `json:"sessionId"`
	}
	if err := b.call(ctx, "", "Target.attachToTarget", map[string]any{
		"targetId": t.TargetID, "flatten": true,
	}, &s); err != nil {
		return nil, fmt.Errorf("browsertest: %w", err)
	}
	p := &Page{b: b, targetID: t.TargetID, sessionID: s.SessionID}
	var nav struct {
		ErrorText string `json:"errorText"`
	}
	for _, c := range []struct {
		method string
		params map[string]any
		out    any
	}{
		{"Runtime.enable", nil, nil},
		{"Emulation.setDeviceMetricsOverride", map[string]any{
			"width": width, "height": height, "deviceScaleFactor": 1, "mobile": false,
		}, nil},
		{"Page.navigate", map[string]any{"url": url}, &nav},
	} {
		if err := b.call(ctx, p.sessionID, c.method, c.params, c.out); err != nil {
			return nil, fmt.Errorf("browsertest: %w", err)
		}
	}
	if nav.ErrorText != "" {
		return nil, fmt.Errorf("browsertest: opening %s: %s", url, nav.ErrorText)
	}
	return p, nil
}

// Close closes the tab. The Browser stays up for other pages.
func (p *Page) Close(ctx context.Context) error {
	if err := p.b.call(ctx, "", "Target.closeTarget", map[string]any{"targetId": p.targetID}, nil); err != nil {
		return fmt.Errorf("browsertest: %w", err)
	}
	return nil
}

// Exceptions returns the page's uncaught JavaScript exceptions so far, one
// line each with the script's URL and line.
func (p *Page) Exceptions() []string {
	p.b.mu.Lock()
	defer p.b.mu.Unlock()
	return append([]string(nil), p.b.exceptions[p.sessionID]...)
}

// Eval evaluates the JavaScript expression expr in the page, awaiting it if
// it is a promise, and decodes its value, which must be JSON-serialisable,
// into out (out may be nil). A thrown exception is returned as an error.
func (p *Page) Eval(ctx context.Context, expr string, out any) error {
	var r struct {
		Result struct {
			Value json.RawMessage `json:"value"`
		} `json:"result"`
		ExceptionDetails *struct {
			Text      string `json:"text"`
			Exception struct {
				Description string `json:"description"`
			} `json:"exception"`
		} `json:"exceptionDetails"`
	}
	if err := p.b.call(ctx, p.sessionID, "Runtime.evaluate", map[string]any{
		"expression": expr, "returnByValue": true, "awaitPromise": true,
	}, &r); err != nil {
		return fmt.Errorf("browsertest: %w", err)
	}
	if e := r.ExceptionDetails; e != nil {
		return fmt.Errorf("browsertest: %s: %s", e.Text, e.Exception.Description)
	}
	if out == nil || len(r.Result.Value) == 0 {
		return nil
	}
	if err := json.Unmarshal(r.Result.Value, out); err != nil {
		return fmt.Errorf("browsertest: decoding the value of %q: %w", expr, err)
	}
	return nil
}

// Screenshot returns a PNG image of the tab's viewport.
func (p *Page) Screenshot(ctx context.Context) ([]byte, error) {
	var r struct {
		Data string `json:"data"`
	}
	if err := p.b.call(ctx, p.sessionID, "Page.captureScreenshot", map[string]any{"format": "png"}, &r); err != nil {
		return nil, fmt.Errorf("browsertest: %w", err)
	}
	png, err := base64.StdEncoding.DecodeString(r.Data)
	if err != nil {
		return nil, fmt.Errorf("browsertest: screenshot: %w", err)
	}
	return png, nil
}

// limitedBuffer keeps the last max bytes written to it; it is safe for
// concurrent use, as os/exec may write stdout and stderr from two
// goroutines.
type limitedBuffer struct {
	mu  sync.Mutex
	max int
	buf bytes.Buffer
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(p)
	if extra := l.buf.Len() - l.max; extra > 0 {
		l.buf.Next(extra)
	}
	return len(p), nil
}

func (l *limitedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}
