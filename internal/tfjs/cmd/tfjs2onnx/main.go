// Command tfjs2onnx converts a TensorFlow.js graph model (model.json and
// its weight shards) to an ONNX file with internal/tfjs, once, at set-up:
// scripts/setup.sh runs it on the expression model and checks the output's
// sha256, so that cmc-stream loads an ONNX file and carries no converter.
//
// Usage:
//
//	go run ./internal/tfjs/cmd/tfjs2onnx -in third_party/models/emotion.json -out third_party/models/emotion.onnx
//
// It writes the file atomically (a temporary file renamed over -out) and
// prints its sha256 and size.
package main

import (
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/cmc-stream/cmc-stream/internal/tfjs"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(os.Stderr, "tfjs2onnx: %v\n", err)
		}
		os.Exit(2)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("tfjs2onnx", flag.ContinueOnError)
	fs.SetOutput(stderr)
	in := fs.String("in", "", "the TF.js graph model's model.json `file` (weight shards beside it)")
	out := fs.String("out", "", "the ONNX `file` to write")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *in == "" || *out == "" || fs.NArg() > 0 {
		return errors.New("-in and -out are required, and nothing else")
	}
	m, err := tfjs.ConvertFile(*in)
	if err != nil {
		return err
	}
	b, err := tfjs.Marshal(m)
	if err != nil {
		return err
	}
	if err := writeAtomic(*out, b); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%x  %s (%d bytes)\n", sha256.Sum256(b), *out, len(b))
	return nil
}

// writeAtomic writes b to a temporary file beside path and renames it over
// path, so that a reader never sees half a model.
func writeAtomic(path string, b []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".tfjs2onnx-*")
	if err != nil {
		return err
	}
	defer func() { _ = os.Remove(f.Name()) }() // gone after the rename; removes a failed write
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
