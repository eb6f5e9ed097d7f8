package escape

import (
	"bytes"
	"encoding/json"
	"testing"
)

func TestScriptJSON(t *testing.T) {
	t.Parallel()
	for _, s := range []string{
		"</script><script>alert(1)</script>",
		"</SCRIPT >", "<!--", "-->", "<img src=x onerror=alert(1)>",
		"a\u2028b\u2029c", "&amp;", "plain",
	} {
		b, err := ScriptJSON(map[string]string{"k": s})
		if err != nil {
			t.Fatal(err)
		}
		for _, bad := range []string{"<", ">", "&", "\u2028", "\u2029"} {
			if bytes.Contains(b, []byte(bad)) {
				t.Errorf("%q: %s holds a raw %q", s, b, bad)
			}
		}
		var back map[string]string
		if err := json.Unmarshal(b, &back); err != nil || back["k"] != s {
			t.Errorf("%q: decodes to %q (%v)", s, back["k"], err)
		}
	}
}
