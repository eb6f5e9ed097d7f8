package htmlreport

import (
	"strings"
	"testing"
)

// TestScriptParsesNoHTML guards the page's second wall: its script builds
// every node with createElement and writes strings with textContent, so no
// API that parses a string as HTML or code may appear in it.
func TestScriptParsesNoHTML(t *testing.T) {
	t.Parallel()
	for _, api := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function", "setTimeout('", "setAttribute('on", "srcdoc", "createContextualFragment", "DOMParser"} {
		if strings.Contains(pageJS, api) {
			t.Errorf("report.js uses %s", api)
		}
	}
	for _, s := range []string{pageJS, pageCSS} {
		if strings.Contains(s, "</") {
			t.Error("an embedded asset holds </, which could end its element early")
		}
	}
	for _, remote := range []string{"http:", "https:", "//fonts", "@import", "url("} {
		if strings.Contains(pageCSS, remote) || strings.Contains(pageJS, remote) || strings.Contains(pageTemplate, remote) {
			t.Errorf("the page refers to %s: it must load nothing", remote)
		}
	}
}
