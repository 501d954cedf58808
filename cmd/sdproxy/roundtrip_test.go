package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sdproxy/sdproxy/internal/testpki"
)

// TestExportApplyOnAFreshServerRoundTrips: a policy using every member
// (index rules, subject fields, response rules of both modes, masks,
// destinations, rate limits, the upstream CA, routes of one order) is
// applied to server A; A's export applied to an empty server B exports
// the same file.
func TestExportApplyOnAFreshServerRoundTrips(t *testing.T) {
	ca := testpki.NewCA(t, "round trip CA")
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "ca.pem"), []byte(ca.CertPEM), 0o600); err != nil {
		t.Fatal(err)
	}
	policy := writeFile(t, dir, "p.yaml", `version: 1
projects:
  - name: Shop
    environment: production
    upstream: https://shop.internal:8443/api
    destinations: [https://psp.example, http://audit.example:8080]
    rate_limit: {requests_per_second: 2.5, burst: 7}
    max_active_keys: 3
    bind_fields: true
    upstream_ca_file: ca.pem
    classifications:
      - {slug: pii, name: Personal, description: "names: and e-mails", mask: {show_first: 1, show_last: 2, char: "#"}}
      - {slug: card, mask: {show_last: 0, char: "•"}}
    routes:
      - methods: [post, PUT]
        path: /customers/**
        order: 5
        request:
          mode: encrypt
          fields: [email, name, "addresses.*.street"]
          classification: pii
          require: [email]
          index:
            - {field: email, normalize: lower_trim}
            - {field: name, name: name_idx, bytes: 8}
          subject_field: customer_id
        response: {mode: decrypt, fields: [email, name]}
      - methods: [GET]
        path: /customers/*
        order: 5
        response: {fields: [email]}
      - path: /export
        order: -3
        response: {mode: encrypt, fields: [email]}
      - methods: [POST]
        path: /tokens
        request: {mode: decrypt, fields: [card], classification: card}
  - name: Empty
  - name: "yes"
    upstream: ""
    classifications:
      - {slug: "010", name: "null", description: "line one\nline two\t# not a comment  ", mask: {char: "~"}}
      - {slug: "no", name: "0x1F", description: "*alias &anchor !tag %x @y z"}
    routes:
      - path: "/ü/a b/*"
        order: 1
        request: {mode: encrypt, fields: ["x\\.y", "true", "~"], classification: "010", require: ["true"]}
      - path: /~
        order: 1
        request: {mode: encrypt, fields: ["null"], classification: "no"}
`)
	envA, _ := startRealAdmin(t)
	if out, errOut, code := runCLI(envA, "apply", "-f", policy); code != 0 {
		t.Fatalf("apply on A = %d\n%s\n%s", code, out, errOut)
	}
	exportA, errOut, code := runCLI(envA, "export")
	if code != 0 {
		t.Fatalf("export A = %d %s", code, errOut)
	}
	for _, want := range []string{"subject_field: customer_id", "lower_trim", "name_idx", "mode: encrypt", "BEGIN CERTIFICATE", "show_first: 1", "http://audit.example:8080", "requests_per_second: 2.5", "0x1F", "/ü/a b/*", "line two"} {
		if !strings.Contains(exportA, want) {
			t.Errorf("export of A lacks %q:\n%s", want, exportA)
		}
	}
	file := writeFile(t, dir, "a.yaml", exportA)
	envB, _ := startRealAdmin(t)
	if out, errOut, code := runCLI(envB, "apply", "-f", file); code != 0 {
		t.Fatalf("apply of A's export on B = %d\n%s\n%s", code, out, errOut)
	}
	exportB, _, _ := runCLI(envB, "export")
	if exportB != exportA {
		t.Errorf("export of B after applying A's export =\n%s\nwant A's\n%s", exportB, exportA)
	}
	for _, format := range []string{"yaml", "json"} {
		out, _, _ := runCLI(envA, "export", "-o", format)
		f := writeFile(t, dir, "again."+format, out)
		if out, errOut, code := runCLI(envA, "apply", "-f", f, "--prune"); code != 0 || !strings.HasSuffix(out, "Nothing to change.\n") {
			t.Errorf("apply --prune of A's %s export on A = %d\n%s\n%s\nwant nothing to change", format, code, out, errOut)
		}
	}
}
