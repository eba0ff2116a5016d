package event

import (
	"embed"
	"fmt"
	"io/fs"
	"slices"
	"strings"
)

// schemaFiles holds the JSON Schema (draft 2020-12) of every record type,
// one file per schema name.
//
//go:embed schema/*.json
var schemaFiles embed.FS

// SchemaNames returns the names of the record schemas that have a JSON
// Schema file, sorted: cmc.alert.v1, cmc.call_summary.v1,
// cmc.sentiment.v2.
func SchemaNames() []string {
	entries, _ := fs.ReadDir(schemaFiles, "schema") // embedded: cannot fail
	var names []string
	for _, e := range entries {
		names = append(names, strings.TrimSuffix(e.Name(), ".json"))
	}
	slices.Sort(names)
	return names
}

// JSONSchema returns the JSON Schema document of the named record schema,
// such as "cmc.sentiment.v2".
func JSONSchema(name string) ([]byte, error) {
	if !slices.Contains(SchemaNames(), name) {
		return nil, fmt.Errorf("event: no schema %q (have %s)", name, strings.Join(SchemaNames(), ", "))
	}
	return schemaFiles.ReadFile("schema/" + name + ".json")
}
