package dashboard

import (
	"embed"
	"io/fs"
)

//go:embed static
var static embed.FS

// FS returns the dashboard's files, rooted so that "index.html" is the page
// and "app.js" and "app.css" its script and style sheet. Give it to the HTTP
// sink as sink.HTTPConfig.Static, or serve it at "/" with http.FileServerFS;
// the page expects the SSE feed at "events" and the Prometheus text at
// "metrics" next to it. The returned file system is
// read-only and safe for concurrent use.
func FS() fs.FS {
	sub, err := fs.Sub(static, "static")
	if err != nil {
		// fs.Sub fails only for an invalid path, and "static" is valid.
		panic("dashboard: " + err.Error())
	}
	return sub
}
