package escape

import (
	"bytes"
	"encoding/json"
)

// ScriptJSON encodes v as JSON for the body of an HTML
// <script type="application/json"> block: <, > and & become \u003c, \u003e
// and \u0026, and U+2028 and U+2029 become \u2028 and \u2029, so the bytes
// hold neither "</script" nor "<!--" and no string of v can end the block,
// open a comment or start markup; a JSON reader still decodes the same
// values. Strings of v that come from an image go through Text first, so
// what the page shows is what the text output shows.
func ScriptJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(true)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
