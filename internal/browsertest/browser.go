package browsertest

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"time"
)

// ErrPageClosed is returned by the methods of a Page whose tab was closed.
var ErrPageClosed = errors.New("browsertest: page closed")

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
	cmd  *exec.Cmd
	send *os.File      // our end of Chromium's command pipe (its fd 3)
	recv *os.File      // our end of Chromium's event pipe (its fd 4)
	log  string        // the file Chromium's stdout and stderr go to
	done chan struct{} // closed when the reader goroutine ends
	wmu  sync.Mutex    // serialises writes to send

	mu         sync.Mutex
	nextID     int64
	pending    map[int64]pendingCall
	detached   map[string]bool     // sessions whose tab closed
	exceptions map[string][]string // uncaught exceptions by session id
	readErr    error               // why the reader ended, set before done is closed
}

// pendingCall is a command waiting for its reply.
type pendingCall struct {
	ch        chan reply // buffered, one reply
	sessionID string
}

// reply is the outcome of one command: its result or its error.
type reply struct {
	closed bool            // the session ended before the reply came
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
// an empty directory that outlives the Browser (a test's t.TempDir()).
// Chromium keeps all its state there, its crash-report database included,
// and writes its output to the file chromium.log in it. ctx bounds only the
// start; call Close to end the browser.
func Start(ctx context.Context, profileDir string) (*Browser, error) {
	path, err := Path()
	if err != nil {
		return nil, err
	}
	// Chromium's output goes to a file, not a pipe: its crash handler
	// outlives it, and would hold a pipe open, and cmd.Wait with it.
	logPath := filepath.Join(profileDir, "chromium.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("browsertest: %w", err)
	}
	defer closeAll(logFile) // the child holds its own copy
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
	// XDG_CONFIG_HOME moves the crash-report database into the profile.
	cmd.Env = append(os.Environ(), "XDG_CONFIG_HOME="+profileDir, "XDG_CACHE_HOME="+filepath.Join(profileDir, "cache"))
	cmd.ExtraFiles = []*os.File{cmdR, evW}
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	err = cmd.Start()
	closeAll(cmdR, evW) // the child holds its own copies now
	if err != nil {
		closeAll(cmdW, evR)
		return nil, fmt.Errorf("browsertest: starting %s: %w", path, err)
	}
	b := &Browser{
		cmd: cmd, send: cmdW, recv: evR, log: logPath,
		done: make(chan struct{}), pending: make(map[int64]pendingCall),
		detached: make(map[string]bool), exceptions: make(map[string][]string),
	}
	go b.read()
	if err := b.call(ctx, "", "Browser.getVersion", nil, nil); err != nil {
		_ = b.Close()
		return nil, fmt.Errorf("browsertest: %s did not answer: %w; its output:\n%s", path, err, b.Output())
	}
	return b, nil
}

func closeAll(files ...*os.File) {
	for _, f := range files {
		_ = f.Close()
	}
}

// read dispatches Chromium's replies to their callers until the pipe
// closes. Of the events it keeps the uncaught exceptions of each session,
// notes the sessions that ended, and drops the rest.
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
		switch {
		case m.ID != 0:
			b.mu.Lock()
			c, ok := b.pending[m.ID]
			delete(b.pending, m.ID)
			b.mu.Unlock()
			if ok {
				c.ch <- m.reply // buffered: never blocks
			}
		case m.Method == "Runtime.exceptionThrown":
			b.recordException(m.SessionID, m.Params)
		case m.Method == "Target.detachedFromTarget":
			var d struct {
				SessionID string `json:"sessionId"`
			}
			if json.Unmarshal(m.Params, &d) == nil {
				b.detach(d.SessionID)
			}
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

// detach marks a session as ended and fails its pending commands with
// ErrPageClosed: Chromium does not answer them once the tab is gone.
func (b *Browser) detach(sessionID string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.detached[sessionID] = true
	for id, c := range b.pending {
		if c.sessionID == sessionID {
			c.ch <- reply{closed: true}
			delete(b.pending, id)
		}
	}
}

// call sends one DevTools command, in the flattened session sessionID or to
// the browser when it is "", and decodes its result into out unless out is
// nil.
func (b *Browser) call(ctx context.Context, sessionID, method string, params, out any) error {
	ch := make(chan reply, 1)
	b.mu.Lock()
	if b.detached[sessionID] {
		b.mu.Unlock()
		return fmt.Errorf("%s: %w", method, ErrPageClosed)
	}
	b.nextID++
	id := b.nextID
	b.pending[id] = pendingCall{ch: ch, sessionID: sessionID}
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
		if r.closed {
			return fmt.Errorf("%s: %w", method, ErrPageClosed)
		}
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

// outputTail is how much of Chromium's output Output returns, in bytes.
const outputTail = 16 << 10

// Output returns the last 16 KiB Chromium wrote to stdout and stderr, for
// failure messages.
func (b *Browser) Output() string {
	f, err := os.Open(b.log)
	if err != nil {
		return err.Error()
	}
	defer closeAll(f)
	if fi, err := f.Stat(); err == nil && fi.Size() > outputTail {
		if _, err := f.Seek(-outputTail, io.SeekEnd); err != nil {
			return err.Error()
		}
	}
	out, err := io.ReadAll(f)
	if err != nil {
		return err.Error()
	}
	return string(out)
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

// Close closes the tab; the Browser stays up for other pages. Later calls
// of the Page's methods return ErrPageClosed.
func (p *Page) Close(ctx context.Context) error {
	if err := p.b.call(ctx, "", "Target.closeTarget", map[string]any{"targetId": p.targetID}, nil); err != nil {
		return fmt.Errorf("browsertest: %w", err)
	}
	p.b.detach(p.sessionID)
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
