package main

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	"github.com/sdproxy/sdproxy/admin/wire"
	"github.com/sdproxy/sdproxy/keystore"
)

// The admin API's rules for what a policy file declares, checked before
// anything is sent, and the canonical spellings the server stores. They
// restate keystore's (project_validate.go, classification_validate.go,
// route_validate.go), whose validators are not exported. TestE2EApply
// applies files in odd spellings through the real server and wants the
// second apply unchanged, so a drift in spelling shows; a rule that drifts
// shows as a refusal by the server, reported at the file's line.

// Limits of the admin API (keystore's).
const (
	maxProjectNameLen = 200
	maxDestinations   = 100
	maxRatePerSecond  = 1e6
	maxBurst          = 1 << 20
	maxActiveKeysCap  = 1000
	maxRouteMethods   = 32
	maxRouteMethodLen = 32
	maxClassNameLen   = 200
)

// decodeTop decodes the whole file into pol.
func (d *fileDecoder) decodeTop(root *yaml.Node, pol *policy) {
	m := d.mapping(root, "", policyTopKeys)
	if m == nil {
		return
	}
	if v := m["version"]; v != nil {
		if n, ok := d.integer(v, "version", -1<<31, 1<<31); ok && n != policyVersion {
			d.fail(v, "version", "must be %d, the only version there is", policyVersion)
		}
	}
	pn := m["projects"]
	if pn == nil {
		d.missing(root, "", "projects", "is required: a list of projects (projects: [] declares none)")
		return
	}
	elems, _ := d.list(pn, "projects")
	first := map[string]int{}
	for i, e := range elems {
		p := d.decodeProject(e, elemPath("projects", i))
		if p == nil || p.Name == "" {
			continue
		}
		if l, dup := first[p.Name]; dup {
			d.fail(e, p.Field+".name", "project %q is declared twice (first on line %d)", p.Name, l)
			continue
		}
		first[p.Name] = e.Line
		pol.Projects = append(pol.Projects, p)
	}
}

// decodeProject decodes one project; nil when it is not a mapping.
func (d *fileDecoder) decodeProject(n *yaml.Node, field string) *policyProject {
	m := d.mapping(n, field, policyProjectKeys)
	if m == nil {
		return nil
	}
	p := &policyProject{Field: field, Line: n.Line}
	in := &p.Settings
	if v := m["name"]; v == nil {
		d.missing(n, field, "name", "is required")
	} else if s, ok := d.str(v, field+".name"); ok {
		name := strings.TrimSpace(s)
		if name == "" || utf8.RuneCountInString(name) > maxProjectNameLen || !utf8.ValidString(name) {
			d.fail(v, field+".name", "must be 1 to %d characters", maxProjectNameLen)
		} else {
			p.Name, in.Name = name, &name
		}
	}
	d.decodeSettings(m, field, in)
	p.KeyFile = d.decodeUpstreamTLS(m, field, in)
	if v := m["classifications"]; v != nil {
		p.Classifications = d.decodeClasses(v, field+".classifications")
	}
	if v := m["routes"]; v != nil {
		p.Routes = d.decodeRoutes(v, field+".routes")
	}
	return p
}

// decodeSettings decodes a project's settings but its name into in.
func (d *fileDecoder) decodeSettings(m map[string]*yaml.Node, field string, in *wire.ProjectInput) {
	if v := m["environment"]; v != nil {
		if s, ok := d.str(v, field+".environment"); ok {
			if !slices.Contains(keystore.Environments, s) {
				d.fail(v, field+".environment", "must be one of %s, not %q", strings.Join(keystore.Environments, ", "), s)
			} else {
				in.Environment = &s
			}
		}
	}
	if v := m["upstream"]; v != nil {
		if s, ok := d.str(v, field+".upstream"); ok {
			if u, msg := canonicalUpstream(s); msg != "" {
				d.fail(v, field+".upstream", "%s", msg)
			} else {
				in.Upstream = &u
			}
		}
	}
	if v := m["destinations"]; v != nil {
		if list, ok := d.strList(v, field+".destinations"); ok {
			if o, msg := canonicalDestinations(list); msg != "" {
				d.fail(v, field+".destinations", "%s", msg)
			} else {
				in.Destinations = &o
			}
		}
	}
	if v := m["rate_limit"]; v != nil {
		in.RateLimit = d.decodeRateLimit(v, field+".rate_limit")
	}
	if v := m["max_active_keys"]; v != nil {
		if k, ok := d.integer(v, field+".max_active_keys", 1, maxActiveKeysCap); ok {
			in.MaxActiveKeys = &k
		}
	}
	if v := m["bind_fields"]; v != nil {
		if b, ok := d.boolean(v, field+".bind_fields"); ok {
			in.BindFields = &b
		}
	}
}

// canonicalUpstream is "" (no upstream) or an absolute http(s) URL without
// query, fragment or credentials, host lower-cased and a trailing slash
// dropped; msg says what is wrong.
func canonicalUpstream(raw string) (u string, msg string) {
	if raw == "" {
		return "", ""
	}
	p, err := url.Parse(raw)
	if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
		return "", "must be an absolute http or https URL (\"\" for none)"
	}
	if p.User != nil || p.RawQuery != "" || p.Fragment != "" {
		return "", "must not contain credentials, a query or a fragment"
	}
	return strings.TrimSuffix(p.Scheme+"://"+strings.ToLower(p.Host)+p.EscapedPath(), "/"), ""
}

// canonicalDestinations turns each entry into an origin with an explicit
// port, without repeats, as the server stores them.
func canonicalDestinations(raw []string) ([]string, string) {
	if len(raw) > maxDestinations {
		return nil, fmt.Sprintf("at most %d entries", maxDestinations)
	}
	out := make([]string, 0, len(raw))
	for _, d := range raw {
		o, ok := keystore.Origin(d)
		if !ok {
			return nil, keystore.DestinationProblem(d)
		}
		if !slices.Contains(out, o) {
			out = append(out, o)
		}
	}
	return out, ""
}

func (d *fileDecoder) decodeRateLimit(n *yaml.Node, field string) *wire.RateLimit {
	m := d.mapping(n, field, policyRateLimitKeys)
	if m == nil {
		return nil
	}
	var rl wire.RateLimit
	ok := true
	if v := m["requests_per_second"]; v == nil {
		d.missing(n, field, "requests_per_second", "is required (with burst)")
		ok = false
	} else if r, good := d.number(v, field+".requests_per_second"); !good {
		ok = false
	} else if !(r > 0 && r <= maxRatePerSecond) {
		d.fail(v, field+".requests_per_second", "must be more than 0 and at most %g", float64(maxRatePerSecond))
		ok = false
	} else {
		rl.RequestsPerSecond = r
	}
	if v := m["burst"]; v == nil {
		d.missing(n, field, "burst", "is required (with requests_per_second)")
		ok = false
	} else if b, good := d.integer(v, field+".burst", 1, maxBurst); good {
		rl.Burst = b
	} else {
		ok = false
	}
	if !ok {
		return nil
	}
	return &rl
}

// decodeClasses decodes a project's classifications; a slug given twice
// is a problem.
func (d *fileDecoder) decodeClasses(n *yaml.Node, field string) []*policyClass {
	elems, _ := d.list(n, field)
	var out []*policyClass
	first := map[string]int{}
	for i, e := range elems {
		c := d.decodeClass(e, elemPath(field, i))
		if c == nil || c.Class.Slug == "" {
			continue
		}
		if l, dup := first[c.Class.Slug]; dup {
			d.fail(e, c.Field+".slug", "classification %q is declared twice (first on line %d)", c.Class.Slug, l)
			continue
		}
		first[c.Class.Slug] = e.Line
		out = append(out, c)
	}
	return out
}

func (d *fileDecoder) decodeClass(n *yaml.Node, field string) *policyClass {
	m := d.mapping(n, field, policyClassificationKeys)
	if m == nil {
		return nil
	}
	c := &policyClass{Field: field, Line: n.Line, Class: wire.Classification{Mask: defaultMask()}}
	if v := m["slug"]; v == nil {
		d.missing(n, field, "slug", "is required")
	} else if s, ok := d.str(v, field+".slug"); ok {
		switch {
		case !keystore.ValidSlug(s):
			d.fail(v, field+".slug", "%q is not a slug (a-z, 0-9, - and _, at most %d characters)", s, keystore.MaxSlugLen)
		case s == keystore.NoClassification:
			d.fail(v, field+".slug", "%q is built in (the classification of untagged tokens): it cannot be declared", s)
		default:
			c.Class.Slug = s
		}
	}
	c.Class.Name = d.classText(m["name"], field+".name", maxClassNameLen)
	if c.Class.Name == "" {
		c.Class.Name = c.Class.Slug
	}
	c.Class.Description = d.classText(m["description"], field+".description", keystore.MaxDescriptionLen)
	if v := m["mask"]; v != nil {
		d.decodeMask(v, field+".mask", &c.Class.Mask)
	}
	return c
}

// classText decodes a classification's name or description, trimmed: at
// most max characters, no control character but line breaks and tabs.
func (d *fileDecoder) classText(n *yaml.Node, field string, max int) string {
	if n == nil {
		return ""
	}
	s, ok := d.str(n, field)
	if !ok {
		return ""
	}
	s = strings.TrimSpace(s)
	switch {
	case !utf8.ValidString(s):
		d.fail(n, field, "must be valid UTF-8")
	case utf8.RuneCountInString(s) > max:
		d.fail(n, field, "must be at most %d characters", max)
	case strings.IndexFunc(s, func(r rune) bool { return unicode.IsControl(r) && r != '\n' && r != '\t' }) >= 0:
		d.fail(n, field, "must not hold control characters")
	}
	return s
}

// decodeMask decodes a mask over mask (the default): a member left out
// keeps the default's value.
func (d *fileDecoder) decodeMask(n *yaml.Node, field string, mask *wire.Mask) {
	m := d.mapping(n, field, policyMaskKeys)
	if m == nil {
		return
	}
	if v := m["show_first"]; v != nil {
		mask.ShowFirst, _ = d.integer(v, field+".show_first", 0, keystore.MaxMaskShow)
	}
	if v := m["show_last"]; v != nil {
		mask.ShowLast, _ = d.integer(v, field+".show_last", 0, keystore.MaxMaskShow)
	}
	if v := m["char"]; v != nil {
		if s, ok := d.str(v, field+".char"); ok {
			r, size := utf8.DecodeRuneInString(s)
			switch {
			case s == "" || size != len(s) || r == utf8.RuneError:
				d.fail(v, field+".char", "must be exactly one character, such as * (got %q)", s)
			case !unicode.IsGraphic(r) || unicode.Is(unicode.M, r):
				d.fail(v, field+".char", "%q is not a printable character", s)
			default:
				mask.Char = s
			}
		}
	}
}

func isControlRune(r rune) bool { return r < 0x20 || r == 0x7f }
