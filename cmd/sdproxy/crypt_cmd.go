package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

// Environment of the direct-API commands.
const (
	envAPIKey   = "SDPROXY_API_KEY"
	envDataAddr = "SDPROXY_DATA_ADDR"
)

// newCryptCmd is `sdproxy encrypt` or `sdproxy decrypt`: a client of the
// direct API on the data listener, authenticated with an API key.
func newCryptCmd(verb string, getenv func(string) string) *cobra.Command {
	var (
		apiKey, dataAddr, class, output string
		subject                         string
		fields                          []string
		text                            bool
	)
	cmd := &cobra.Command{
		Use:   verb + " [DATA|-]",
		Short: map[string]string{"encrypt": "Encrypt a JSON value or named fields with the direct API", "decrypt": "Decrypt tokens with the direct API"}[verb],
		Long: `DATA is a JSON value (an object, array, string in quotes, number…); "-" or no
argument reads it from standard input. With --text, DATA is taken as a plain
string. Without --fields, encrypt turns the whole value into one token and
decrypt opens every token in it; with --fields only those paths change.

The API key comes from --api-key or SDPROXY_API_KEY, the proxy address from
--data-addr or SDPROXY_DATA_ADDR (default http://127.0.0.1:8080).`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			data, err := readData(cmd.InOrStdin(), args, text)
			if err != nil {
				return err
			}
			key := firstNonEmpty(apiKey, getenv(envAPIKey))
			if key == "" {
				return fmt.Errorf("no API key: pass --api-key or set %s", envAPIKey)
			}
			addr := firstNonEmpty(dataAddr, getenv(envDataAddr), "http://127.0.0.1:8080")
			out, err := callDirect(addr, verb, key, class, subject, data, fields)
			if err != nil {
				return err
			}
			if output == "json" {
				return printJSON(cmd.OutOrStdout(), out)
			}
			var answer struct{ Data json.RawMessage }
			if err := json.Unmarshal(out, &answer); err != nil {
				return err
			}
			return printJSON(cmd.OutOrStdout(), answer.Data)
		},
	}
	f := cmd.Flags()
	f.StringVar(&apiKey, "api-key", "", "API key (env SDPROXY_API_KEY)")
	f.StringVar(&dataAddr, "data-addr", "", "data listener base URL (env SDPROXY_DATA_ADDR, default http://127.0.0.1:8080)")
	f.StringSliceVar(&fields, "fields", nil, "field paths to transform, e.g. user.email,items.*.card")
	f.StringVar(&class, "classification", "", "classification slug (encrypt: tag; decrypt: must match)")
	f.BoolVar(&text, "text", false, "take DATA as a plain string")
	if verb == "encrypt" {
		f.StringVar(&subject, "subject", "", "seal for this data subject, so that `sdproxy subject erase` can make the tokens unreadable (docs/erasure.md)")
	}
	f.StringVarP(&output, "output", "o", "data", "data (print only the data) or json (the whole answer)")
	return cmd
}

// readData returns the JSON value to send.
func readData(stdin io.Reader, args []string, text bool) (json.RawMessage, error) {
	var raw []byte
	if len(args) == 0 || args[0] == "-" {
		b, err := io.ReadAll(io.LimitReader(stdin, 64<<20))
		if err != nil {
			return nil, err
		}
		raw = b
	} else {
		raw = []byte(args[0])
	}
	if text {
		return json.Marshal(strings.TrimSuffix(string(raw), "\n"))
	}
	raw = bytes.TrimSpace(raw)
	if !json.Valid(raw) {
		return nil, fmt.Errorf("DATA is not valid JSON (quote a string as '\"text\"', or use --text)")
	}
	return raw, nil
}

// callDirect posts {"data": …, "fields": […]} to /api-v1/v1/{verb}.
func callDirect(addr, verb, key, class, subject string, data json.RawMessage, fields []string) ([]byte, error) {
	body := map[string]any{"data": data}
	if len(fields) > 0 {
		body["fields"] = fields
	}
	if subject != "" {
		body["subject"] = subject
	}
	var hdr map[string]string
	if class != "" {
		hdr = map[string]string{"X-Qanapi-Classification": class}
	}
	return postDirect(addr, verb, key, body, hdr)
}

// postDirect posts body to /api-v1/v1/{verb} with the API key and the
// headers hdr, and returns the answer (an error for any status but 200).
func postDirect(addr, verb, key string, body any, hdr map[string]string) ([]byte, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequest("POST", strings.TrimSuffix(addr, "/")+"/api-v1/v1/"+verb, bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Qanapi-Authorization", key)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		return nil, fmt.Errorf("cannot reach the proxy at %s (see --data-addr): %w", addr, err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != 200 {
		return nil, decodeAPIError(resp.StatusCode, out)
	}
	return out, nil
}
