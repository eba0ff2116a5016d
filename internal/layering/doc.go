// Package layering holds the test that keeps the project's rooms in their
// layers (docs/architecture.md): it reads the import graph with go list and
// fails on an import that runs the wrong way. It has no code of its own.
package layering
