// Package browsertest drives a real headless Chromium from Go tests, for the
// dashboard's end-to-end tests in package web.
//
// It speaks the Chrome DevTools Protocol over the pipe that Chromium opens
// with --remote-debugging-pipe (file descriptors 3 and 4, one JSON message
// per NUL-terminated record), so it needs only the standard library: no
// websocket client and no download of a browser by a test tool. The browser
// is Debian's chromium package; "make setup" (scripts/install-browser.sh)
// installs it. Chromium starts with the flags this closed network needs
// (no background networking, component updates, sync or QUIC) and a fresh
// profile directory, so a test neither reads nor leaves browser state.
//
// A Browser and its Pages are safe for concurrent use.
package browsertest
