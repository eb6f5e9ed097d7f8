package escape

import (
	"bytes"
	"encoding"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"unicode"
	"unicode/utf8"
)

// WriteJSON encodes v as indented JSON to w, as encoding/json does, with
// two differences that make the output safe for any reader:
//
//   - A string that is not valid UTF-8 has each invalid byte written as the
//     four characters \xNN, as Text shows it, where encoding/json would put
//     U+FFFD and lose which byte it was. Valid strings are kept exactly.
//   - Control characters (C0, DEL, C1), format characters (bidi controls
//     and the rest of Unicode's Cf), line and paragraph separators, and
//     the [ of "##[" are written as \uXXXX escapes. JSON readers decode them to the same
//     string, but the bytes of the output hold none of them, so the file
//     is safe to show on a terminal or in a CI log.
//
// Values whose type marshals itself (json.Marshaler, encoding.TextMarshaler)
// are kept as they are: layerlint's own enums, never image data.
func WriteJSON(w io.Writer, v any) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(valid(v)); err != nil {
		return err
	}
	_, err := w.Write(jsonControls(buf.Bytes()))
	return err
}

func valid(v any) any {
	if r, changed := validUTF8(reflect.ValueOf(v)); changed {
		return r.Interface()
	}
	return v
}

var (
	jsonMarshaler = reflect.TypeFor[json.Marshaler]()
	textMarshaler = reflect.TypeFor[encoding.TextMarshaler]()
)

// validUTF8 returns v with every string that encoding/json will write made
// valid UTF-8 by invalidBytes, and whether it changed anything. It copies
// only what it changes, so the caller's data is never modified and a value
// without such strings costs no allocation.
func validUTF8(v reflect.Value) (reflect.Value, bool) {
	if !v.IsValid() {
		return v, false
	}
	t := v.Type()
	if t.Kind() != reflect.Pointer && t.Kind() != reflect.Interface &&
		(t.Implements(jsonMarshaler) || t.Implements(textMarshaler) ||
			reflect.PointerTo(t).Implements(jsonMarshaler) || reflect.PointerTo(t).Implements(textMarshaler)) {
		return v, false
	}
	switch t.Kind() { //nolint:exhaustive // only strings and what holds values can hold a string
	case reflect.String:
		s := v.String()
		if utf8.ValidString(s) {
			return v, false
		}
		n := reflect.New(t).Elem()
		n.SetString(invalidBytes(s))
		return n, true
	case reflect.Pointer, reflect.Interface:
		return validUTF8Ref(v, t)
	case reflect.Struct:
		return validUTF8Struct(v, t)
	case reflect.Slice, reflect.Array:
		return validUTF8Seq(v, t)
	case reflect.Map:
		return validUTF8Map(v, t)
	default:
		return v, false // numbers, booleans: nothing to escape
	}
}

// validUTF8Ref is validUTF8 of a pointer or an interface.
func validUTF8Ref(v reflect.Value, t reflect.Type) (reflect.Value, bool) {
	if v.IsNil() {
		return v, false
	}
	e, changed := validUTF8(v.Elem())
	if !changed {
		return v, false
	}
	if t.Kind() == reflect.Pointer {
		n := reflect.New(t.Elem())
		n.Elem().Set(e)
		return n, true
	}
	n := reflect.New(t).Elem()
	n.Set(e)
	return n, true
}

// validUTF8Struct is validUTF8 of a struct: its exported fields.
func validUTF8Struct(v reflect.Value, t reflect.Type) (reflect.Value, bool) {
	var n reflect.Value
	for i := range t.NumField() {
		if !t.Field(i).IsExported() {
			// encoding/json skips them, except the fields of an
			// embedded struct of unexported type, which this
			// cannot set: embed exported types in reports.
			continue
		}
		g, changed := validUTF8(v.Field(i))
		if !changed {
			continue
		}
		if !n.IsValid() {
			n = reflect.New(t).Elem()
			n.Set(v)
		}
		n.Field(i).Set(g)
	}
	return orig(v, n)
}

// validUTF8Seq is validUTF8 of a slice or an array.
func validUTF8Seq(v reflect.Value, t reflect.Type) (reflect.Value, bool) {
	if t.Kind() == reflect.Slice && (v.IsNil() || t.Elem().Kind() == reflect.Uint8) {
		return v, false // nil, or []byte written as base64
	}
	var n reflect.Value
	for i := range v.Len() {
		g, changed := validUTF8(v.Index(i))
		if !changed {
			continue
		}
		if !n.IsValid() {
			if t.Kind() == reflect.Slice {
				n = reflect.MakeSlice(t, v.Len(), v.Len())
				reflect.Copy(n, v)
			} else {
				n = reflect.New(t).Elem()
				n.Set(v)
			}
		}
		n.Index(i).Set(g)
	}
	return orig(v, n)
}

// validUTF8Map is validUTF8 of a map: its keys and values.
func validUTF8Map(v reflect.Value, t reflect.Type) (reflect.Value, bool) {
	if v.IsNil() {
		return v, false
	}
	dirty := false
	n := reflect.MakeMapWithSize(t, v.Len())
	for it := v.MapRange(); it.Next(); {
		k, kc := validUTF8(it.Key())
		e, ec := validUTF8(it.Value())
		dirty = dirty || kc || ec
		n.SetMapIndex(k, e)
	}
	if !dirty {
		return v, false
	}
	return n, true
}

// orig returns the copy n when one was made, else v unchanged.
func orig(v, n reflect.Value) (reflect.Value, bool) {
	if n.IsValid() {
		return n, true
	}
	return v, false
}

// invalidBytes writes each byte of s that is not part of valid UTF-8 as
// \xNN.
func invalidBytes(s string) string {
	b := make([]byte, 0, len(s)+8)
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			b = fmt.Appendf(b, `\x%02x`, s[i])
			i++
			continue
		}
		b = append(b, s[i:i+n]...)
		i += n
	}
	return string(b)
}

// jsonControls rewrites, in encoded JSON, every rune that must not reach a
// terminal as a \uXXXX escape. Only strings hold non-ASCII or control
// characters in encoding/json's output, and an escape there means the
// same string, so the document's value is unchanged.
//
// The same holds for "##[", which starts a runner command anywhere in a
// line: it becomes ##\u005b, the same string to a JSON reader.
func jsonControls(b []byte) []byte {
	b = bytes.ReplaceAll(b, []byte(legacyCommand), []byte(`##\u005b`))
	clean := true
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if unsafeRune(r) {
			clean = false
			break
		}
		i += n
	}
	if clean {
		return b
	}
	out := make([]byte, 0, len(b)+64)
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		i += n
		if !unsafeRune(r) {
			out = utf8.AppendRune(out, r)
			continue
		}
		if r > 0xffff {
			r1, r2 := utf16Pair(r)
			out = appendU(appendU(out, r1), r2)
			continue
		}
		out = appendU(out, r)
	}
	return out
}

func unsafeRune(r rune) bool {
	switch {
	case r == '\n' || r == ' ' || r == '\t':
		return false // JSON's own whitespace between tokens
	case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
		return true
	}
	return r >= utf8.RuneSelf && (unicode.Is(unicode.Cf, r) || unicode.Is(unicode.Zl, r) || unicode.Is(unicode.Zp, r))
}

func appendU(b []byte, r rune) []byte {
	b = append(b, `\u`...)
	h := strconv.FormatInt(int64(r), 16)
	for range 4 - len(h) {
		b = append(b, '0')
	}
	return append(b, h...)
}

func utf16Pair(r rune) (rune, rune) {
	r -= 0x10000
	return 0xd800 + (r>>10)&0x3ff, 0xdc00 + r&0x3ff
}
