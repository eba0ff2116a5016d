// Package schematest validates records against the JSON Schema files of
// package event (event/schema), for the tests of the packages that produce
// them. It uses github.com/santhosh-tekuri/jsonschema/v6 (draft 2020-12,
// formats asserted).
package schematest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/cmc-stream/cmc-stream/event"
)

var (
	mu       sync.Mutex
	compiled = map[string]*jsonschema.Schema{}
)

// Compile returns the compiled JSON Schema of the named record schema.
func Compile(name string) (*jsonschema.Schema, error) {
	mu.Lock()
	defer mu.Unlock()
	if s, ok := compiled[name]; ok {
		return s, nil
	}
	raw, err := event.JSONSchema(name)
	if err != nil {
		return nil, err
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("schematest: %s: %w", name, err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	url := "mem:///" + name + ".json"
	if err := c.AddResource(url, doc); err != nil {
		return nil, fmt.Errorf("schematest: %s: %w", name, err)
	}
	s, err := c.Compile(url)
	if err != nil {
		return nil, fmt.Errorf("schematest: %s: %w", name, err)
	}
	compiled[name] = s
	return s, nil
}

// ValidateJSON validates one JSON document against the schema its "schema"
// field names.
func ValidateJSON(data []byte) error {
	var head struct {
		Schema string `json:"schema"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return fmt.Errorf("schematest: %w", err)
	}
	s, err := Compile(head.Schema)
	if err != nil {
		return err
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("schematest: %w", err)
	}
	if err := s.Validate(doc); err != nil {
		return fmt.Errorf("schematest: %s: %w", head.Schema, err)
	}
	return nil
}

// Validate encodes v with encoding/json and validates it with ValidateJSON.
func Validate(v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("schematest: %w", err)
	}
	return ValidateJSON(data)
}
