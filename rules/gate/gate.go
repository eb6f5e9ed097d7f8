// Package gate turns rule findings into a CI verdict. It applies a
// configuration (package rules/config) to what the rules found: severities
// changed or rules disabled, paths ignored, findings suppressed with a
// reason or accepted by a baseline, image-wide thresholds and dive's CI
// rules checked, each finding placed on its Dockerfile line, and the whole
// judged against a failure level.
//
// Accepted findings (suppressed or baselined) are marked, never dropped, so
// every output can still show them; only ignore patterns drop findings,
// and the result counts what they dropped.
package gate

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/layerlint/layerlint/analyze"
	"github.com/layerlint/layerlint/rules"
	"github.com/layerlint/layerlint/rules/config"
)

// Options are what a gate applies. The zero value runs every rule at its
// own severity and fails on errors.
type Options struct {
	// Config is a parsed .layerlint.yaml; nil for none.
	Config *config.Config
	// DiveCI enables dive's three rules; nil for none.
	DiveCI *config.DiveCI
	// FailOn overrides the configuration's failOn (the --fail-on flag).
	FailOn FailOn
	// Baseline accepts the findings it records.
	Baseline *Baseline
	// Dockerfile, when set, places findings on its lines.
	Dockerfile *Dockerfile
	// Now decides which suppressions have expired; zero means time.Now.
	Now time.Time
	// Rules replaces the rules of package rules (nil: rules.All()), for
	// tests whose output must not change when a rule is added. The gate's
	// own rules are always there.
	Rules []rules.Rule
}

// Gate applies Options to analyses. Make it with New.
type Gate struct {
	opts     Options
	catalog  []rules.Rule
	byKey    map[string]int
	severity []rules.Severity // effective, per catalog index
	status   []RuleStatus
	ruleOpts rules.Options
	failOn   FailOn
	diveOnly bool
	supps    []suppression
	ignore   []config.Glob
	// inherited is config.Config.Inherited.
	inherited string
}

// New checks opts against the rule catalog (rule keys and suppressions
// must name existing rules, options belong to their rule) and returns the
// gate. Errors name the configuration file and line.
func New(opts Options) (*Gate, error) {
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	cfg := opts.Config
	if cfg == nil {
		cfg = &config.Config{}
	}
	catalog := Catalog()
	if opts.Rules != nil {
		catalog = append(slices.Clip(opts.Rules), gateRules()...)
	}
	g := &Gate{opts: opts, catalog: catalog, byKey: map[string]int{}, ignore: cfg.Ignore, inherited: cfg.Inherited}
	for i, r := range g.catalog {
		g.byKey[r.ID] = i
		g.byKey[r.Name] = i
		g.severity = append(g.severity, r.Severity)
		g.status = append(g.status, Enabled)
	}
	g.markUnconfigured(cfg.Thresholds, opts.DiveCI)

	for _, key := range slices.Sorted(maps.Keys(cfg.Rules)) {
		set := cfg.Rules[key]
		i, ok := g.byKey[key]
		if !ok {
			return nil, fmt.Errorf("%s: line %d: rules: unknown rule %q (see docs/rules/README.md): %w", cfg.File, set.Line, key, config.ErrInvalid)
		}
		switch set.Severity {
		case "":
		case "off":
			g.status[i] = Disabled
		default:
			g.severity[i] = parseSeverity(set.Severity)
		}
		for _, o := range set.Options.Settings() {
			opt, err := g.option(cfg, set, i, o.Name)
			if err != nil {
				return nil, err
			}
			v := rules.OptionValue{Int: o.Int, Bool: o.Bool, Ratio: o.Ratio}
			if err := opt.Apply(&g.ruleOpts, v); err != nil {
				return nil, fmt.Errorf("%s: line %d: %s: %s %v: %w: %w", cfg.File, set.Line, key, o.Name, o.Value, err, config.ErrInvalid)
			}
		}
	}
	for _, s := range cfg.Suppressions {
		i, ok := g.byKey[s.Rule]
		if !ok {
			return nil, fmt.Errorf("%s: line %d: suppression: unknown rule %q (see docs/rules/README.md): %w", cfg.File, s.Line, s.Rule, config.ErrInvalid)
		}
		expired := s.Expires != nil && !opts.Now.Before(s.Expires.AddDate(0, 0, 1))
		g.supps = append(g.supps, suppression{Suppression: s, ruleID: g.catalog[i].ID, expired: expired})
	}

	g.failOn = opts.FailOn
	if g.failOn == FailOnUnset && cfg.FailOn != "" {
		g.failOn, _ = ParseFailOn(cfg.FailOn) // config.Parse checked it
	}
	if g.failOn == FailOnUnset {
		g.failOn = FailOnError
	}
	// A dive user who points layerlint at their .dive-ci and nothing else
	// expects dive's verdict: layerlint's own rules then report without
	// failing. A .layerlint.yaml or an explicit --fail-on says otherwise.
	g.diveOnly = opts.DiveCI != nil && cfg.File == "" && opts.FailOn == FailOnUnset
	return g, nil
}

// option returns the option name of rule i, or an error naming the rules
// that declare it.
func (g *Gate) option(cfg *config.Config, set config.RuleSetting, i int, name string) (rules.RuleOption, error) {
	r := g.catalog[i]
	if o, ok := r.Option(name); ok {
		return o, nil
	}
	var owners []string
	for _, c := range Catalog() {
		if _, ok := c.Option(name); ok {
			owners = append(owners, c.ID)
		}
	}
	return rules.RuleOption{}, fmt.Errorf("%s: line %d: option %s belongs to rule %s, not %s: %w", cfg.File, set.Line, name, strings.Join(owners, " and "), r.ID, config.ErrInvalid)
}

// FailOn is the failure level in force.
func (g *Gate) FailOn() FailOn { return g.failOn }

// DiveOnly reports whether only the dive rules decide the verdict (a
// .dive-ci without a .layerlint.yaml and without --fail-on).
func (g *Gate) DiveOnly() bool { return g.diveOnly }

// RuleOptions are the options the rules run with.
func (g *Gate) RuleOptions() rules.Options { return g.ruleOpts }

// Evaluate runs the enabled rules on a and judges the findings. It uses
// only what the analysis holds: see EvaluateFacts for content scanning and
// compression estimates.
func (g *Gate) Evaluate(a *analyze.Analysis) *Result {
	return g.EvaluateFacts(rules.NewFacts(a, g.ruleOpts))
}

// EvaluateFacts runs the enabled rules on facts gathered by rules.Gather
// (with the options of RuleOptions) and judges the findings.
func (g *Gate) EvaluateFacts(facts *rules.Facts) *Result {
	a := facts.Analysis
	res := &Result{Report: a.Report}
	for i, r := range g.catalog {
		res.Rules = append(res.Rules, RuleResult{
			ID: r.ID, Name: r.Name, Severity: g.severity[i], DefaultSeverity: r.Severity,
			Summary: r.Summary, Doc: r.Doc, Status: g.status[i],
		})
	}
	var run []rules.Rule
	for i, r := range g.catalog {
		if r.Check != nil && g.status[i] == Enabled {
			run = append(run, r)
		}
	}
	raw := rules.RunRules(facts, run)
	raw = append(raw, g.thresholds(a.Report, res)...)
	raw = append(raw, g.dive(a, res)...)
	raw = append(raw, g.expired(res)...)

	var lines []int
	if g.opts.Dockerfile != nil && a.Report != nil {
		lines = g.opts.Dockerfile.MapLayers(layerCreatedBy(a), a.Report.Image.Base.Layers)
	}
	for _, f := range raw {
		i, ok := g.byKey[f.Rule]
		if !ok || g.status[i] == Disabled {
			continue
		}
		if f.Path != "" && slices.ContainsFunc(g.ignore, func(gl config.Glob) bool { return gl.Match(f.Path) }) {
			res.Summary.Ignored++
			continue
		}
		inherited := isBaseLayer(a.Report, f.Layer) && !isGateRule(f.Rule)
		f.Severity = g.effectiveSeverity(i, f.Severity, inherited)
		if f.Severity == 0 {
			continue // inherited: off
		}
		if f.CreatedBy == "" && a.Report != nil && f.Layer >= 0 && f.Layer < len(a.Report.Layers) {
			f.CreatedBy = a.Report.Layers[f.Layer].CreatedBy
		}
		gf := Finding{Finding: f, Name: g.catalog[i].Name, Fingerprint: Fingerprint(f), Inherited: inherited}
		if f.Layer >= 0 && f.Layer < len(lines) && lines[f.Layer] > 0 {
			gf.Location = &Location{Dockerfile: g.opts.Dockerfile.Name, Line: lines[f.Layer]}
		}
		gf.Suppressed = g.suppressedBy(&f)
		gf.Baselined = gf.Suppressed == nil && !isGateRule(f.Rule) && g.opts.Baseline.Has(f)
		gf.Failing = !gf.Accepted() && g.failOn.reaches(f.Severity) && (!g.diveOnly || IsDive(f.Rule))
		res.Findings = append(res.Findings, gf)
	}
	slices.SortStableFunc(res.Findings, func(a, b Finding) int {
		return cmp.Or(cmp.Compare(a.Layer, b.Layer), strings.Compare(a.Path, b.Path), strings.Compare(a.Rule, b.Rule),
			strings.Compare(a.Message, b.Message))
	})
	g.count(res)
	res.Groups = g.group(res.Findings)
	return res
}

// isBaseLayer reports whether layer l belongs to the base image.
func isBaseLayer(r *analyze.Report, l int) bool {
	return r != nil && l >= 0 && l < len(r.Layers) && r.Layers[l].Base
}

// layerCreatedBy returns the created_by of each layer of the report, ""
// where the history is short.
func layerCreatedBy(a *analyze.Analysis) []string {
	byLayer, _ := analyze.HistoryByLayer(a.History(), len(a.Report.Layers))
	out := make([]string, len(byLayer))
	for i, e := range byLayer {
		out[i] = e.CreatedBy
	}
	return out
}
