package format

import (
	"io"
	"strings"

	"github.com/layerlint/layerlint/internal/escape"
	"github.com/layerlint/layerlint/rules"
	"github.com/layerlint/layerlint/rules/gate"
)

// SARIF 2.1.0 (OASIS), the subset layerlint writes. Field names follow the
// standard; omitempty keeps optional properties out rather than null,
// which the schema rejects.
type sarifLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool    sarifTool     `json:"tool"`
	Results []sarifResult `json:"results"`
	// Properties carry the verdict of each image, for bots that read it.
	Properties map[string]any `json:"properties,omitempty"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name           string      `json:"name"`
	Version        string      `json:"version"`
	InformationURI string      `json:"informationUri"`
	Rules          []sarifRule `json:"rules"`
}

type sarifText struct {
	Text     string `json:"text"`
	Markdown string `json:"markdown,omitempty"`
}

type sarifRule struct {
	ID                   string        `json:"id"`
	Name                 string        `json:"name"`
	ShortDescription     sarifText     `json:"shortDescription"`
	FullDescription      sarifText     `json:"fullDescription"`
	Help                 sarifText     `json:"help"`
	HelpURI              string        `json:"helpUri"`
	DefaultConfiguration sarifRuleConf `json:"defaultConfiguration"`
}

type sarifRuleConf struct {
	Enabled bool   `json:"enabled"`
	Level   string `json:"level"`
}

type sarifResult struct {
	RuleID              string            `json:"ruleId"`
	RuleIndex           int               `json:"ruleIndex"`
	Level               string            `json:"level"`
	Message             sarifText         `json:"message"`
	Locations           []sarifLocation   `json:"locations"`
	PartialFingerprints map[string]string `json:"partialFingerprints"`
	Suppressions        []sarifSupp       `json:"suppressions,omitempty"`
	BaselineState       string            `json:"baselineState,omitempty"`
	Properties          map[string]any    `json:"properties"`
}

type sarifLocation struct {
	PhysicalLocation *sarifPhysical  `json:"physicalLocation,omitempty"`
	LogicalLocations []sarifLogical  `json:"logicalLocations,omitempty"`
	Message          *sarifPlainText `json:"message,omitempty"`
}

type sarifPlainText struct {
	Text string `json:"text"`
}

type sarifPhysical struct {
	ArtifactLocation sarifArtifact `json:"artifactLocation"`
	Region           *sarifRegion  `json:"region,omitempty"`
}

type sarifArtifact struct {
	URI string `json:"uri"`
}

type sarifRegion struct {
	StartLine int `json:"startLine"`
}

type sarifLogical struct {
	Name               string `json:"name,omitempty"`
	FullyQualifiedName string `json:"fullyQualifiedName"`
	Kind               string `json:"kind"`
}

type sarifSupp struct {
	Kind          string `json:"kind"`
	Status        string `json:"status"`
	Justification string `json:"justification"`
}

func sarifLevel(s rules.Severity) string {
	switch s {
	case rules.Error:
		return "error"
	case rules.Warning:
		return "warning"
	case rules.Info:
		return "note"
	}
	return "none"
}

// writeSARIF writes one run for all results: the tool's rules once, then
// each image's results, each locating itself in its image.
func writeSARIF(w io.Writer, results []*gate.Result, opts Options) error {
	version := opts.Version
	if version == "" {
		version = "dev"
	}
	run := sarifRun{
		Tool:    sarifTool{Driver: sarifDriver{Name: "layerlint", Version: version, InformationURI: InformationURI, Rules: []sarifRule{}}},
		Results: []sarifResult{},
	}
	index := map[string]int{}
	if len(results) > 0 {
		for i, rr := range results[0].Rules {
			index[rr.ID] = i
			run.Tool.Driver.Rules = append(run.Tool.Driver.Rules, sarifRule{
				ID:               rr.ID,
				Name:             rr.Name,
				ShortDescription: sarifText{Text: rr.Summary},
				FullDescription:  sarifText{Text: rr.Summary + " " + plainDoc(rr.Doc)},
				Help:             sarifText{Text: plainDoc(rr.Doc), Markdown: rr.Doc},
				HelpURI:          RuleDocURI(rr.ID),
				DefaultConfiguration: sarifRuleConf{
					Enabled: rr.Status == gate.Enabled,
					Level:   sarifLevel(rr.Severity),
				},
			})
		}
	}
	var verdicts []map[string]any
	for _, r := range results {
		img := imageName(r)
		for _, f := range r.Findings {
			res := sarifFinding(f, img, index)
			if r.Summary.Baseline != "" && !f.Baselined {
				res.BaselineState = "new"
			}
			run.Results = append(run.Results, res)
		}
		verdicts = append(verdicts, map[string]any{"image": img, "verdict": r.Summary})
	}
	run.Properties = map[string]any{"verdicts": verdicts}
	log := sarifLog{
		Schema:  "https://json.schemastore.org/sarif-2.1.0.json",
		Version: "2.1.0",
		Runs:    []sarifRun{run},
	}
	return escape.WriteJSON(w, log)
}

func sarifFinding(f gate.Finding, img string, index map[string]int) sarifResult {
	msg := f.Message
	if f.Fix != "" {
		msg += ". Fix: " + f.Fix
	}
	res := sarifResult{
		RuleID:              f.Rule,
		RuleIndex:           index[f.Rule],
		Level:               sarifLevel(f.Severity),
		Message:             sarifText{Text: msg},
		PartialFingerprints: map[string]string{"layerlint/v1": f.Fingerprint},
		Properties: map[string]any{
			"image": img, "layer": f.Layer, "path": displayPath(f.Path), "bytes": f.Bytes,
			"createdBy": f.CreatedBy, "failing": f.Failing,
		},
	}
	// The image path is where the finding is; the Dockerfile line is
	// where to fix it, and what code-scanning services can show.
	logical := sarifLogical{FullyQualifiedName: img + ":" + imagePath(f), Kind: "resource"}
	if f.Path != "" {
		logical.Name = f.Path[strings.LastIndexByte(f.Path, '/')+1:]
	}
	loc := sarifLocation{LogicalLocations: []sarifLogical{logical}}
	if f.Location != nil {
		loc.PhysicalLocation = &sarifPhysical{
			ArtifactLocation: sarifArtifact{URI: f.Location.Dockerfile},
			Region:           &sarifRegion{StartLine: f.Location.Line},
		}
	}
	res.Locations = []sarifLocation{loc}
	if s := f.Suppressed; s != nil {
		just := s.Reason + " (" + s.Source
		if s.Expires != "" {
			just += ", until " + s.Expires
		}
		res.Suppressions = []sarifSupp{{Kind: "external", Status: "accepted", Justification: just + ")"}}
	}
	if f.Baselined {
		res.BaselineState = "unchanged"
	}
	return res
}

// imagePath names the finding's place in the image: its path, its layer,
// or the image as a whole.
func imagePath(f gate.Finding) string {
	switch {
	case f.Path != "":
		return "/" + f.Path
	case f.Layer >= 0:
		return layerLabel(f.Layer)
	}
	return "image"
}

// plainDoc drops Markdown code marks for the plain-text help.
func plainDoc(s string) string { return strings.ReplaceAll(s, "`", "") }
