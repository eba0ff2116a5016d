package dashboard_test

import (
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/cmc-stream/cmc-stream/sink/dashboard"
)

func TestFSHoldsThePage(t *testing.T) {
	for _, name := range []string{"index.html", "app.js", "app.css"} {
		b, err := fs.ReadFile(dashboard.FS(), name)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) == 0 {
			t.Errorf("%s is empty", name)
		}
	}
	index, err := fs.ReadFile(dashboard.FS(), "index.html")
	if err != nil {
		t.Fatal(err)
	}
	for _, ref := range []string{`href="app.css"`, `src="app.js"`} {
		if !strings.Contains(string(index), ref) {
			t.Errorf("index.html does not reference %s", ref)
		}
	}
}

// TestOffline checks that the page loads nothing from other origins: no
// absolute URL but the SVG namespace, and no protocol-relative one.
func TestOffline(t *testing.T) {
	url := regexp.MustCompile(`(?i)(https?:)?//[a-z0-9.-]+\.[a-z]{2,}`)
	for _, name := range []string{"index.html", "app.js", "app.css"} {
		b, err := fs.ReadFile(dashboard.FS(), name)
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range url.FindAllString(string(b), -1) {
			if u != "http://www.w3.org" {
				t.Errorf("%s refers to %s", name, u)
			}
		}
	}
}

// TestNoHTMLInjection checks that the script never parses strings as HTML:
// event data reaches the DOM only through textContent and attributes.
func TestNoHTMLInjection(t *testing.T) {
	b, err := fs.ReadFile(dashboard.FS(), "app.js")
	if err != nil {
		t.Fatal(err)
	}
	for _, sink := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"} {
		if strings.Contains(string(b), sink) {
			t.Errorf("app.js uses %s", sink)
		}
	}
}

func ExampleFS() {
	mux := http.NewServeMux()
	mux.Handle("/", http.FileServerFS(dashboard.FS()))

	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	fmt.Println(rec.Code, rec.Header().Get("Content-Type"))
	// Output: 200 text/html; charset=utf-8
}
