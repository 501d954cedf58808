package main

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"
)

// newIndexCmd is `sdproxy index`: the blind index of a value, from the
// direct API (POST /api-v1/v1/index), for an app or an operator to query
// a database by an encrypted field.
func newIndexCmd(getenv func(string) string) *cobra.Command {
	var (
		apiKey, dataAddr, field, normalize, output string
		size                                       int
		asJSON                                     bool
	)
	cmd := &cobra.Command{
		Use:   "index --field PATH [--normalize N] [VALUE|-]",
		Short: "Compute the blind index of a value with the direct API",
		Long: `Prints the blind index that a request indexing field PATH writes beside a
value (X-Qanapi-Index or a route's request.index), so that you can look a
record up by it: same project (the API key's), same field path, same
--normalize (exact, lower, lower_trim or digits) and --bytes (default 16).

VALUE is taken as a plain string; with --json it is a JSON string, number,
boolean or null. "-" or no argument reads it from standard input (one
trailing newline dropped). The key needs the encrypt permission.

The API key comes from --api-key or SDPROXY_API_KEY, the proxy address from
--data-addr or SDPROXY_DATA_ADDR (default http://127.0.0.1:8080).`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if field == "" {
				return fmt.Errorf("--field is required: the field path the index is for, e.g. email or user.email")
			}
			data, err := readData(cmd.InOrStdin(), args, !asJSON)
			if err != nil {
				return err
			}
			key := firstNonEmpty(apiKey, getenv(envAPIKey))
			if key == "" {
				return fmt.Errorf("no API key: pass --api-key or set %s", envAPIKey)
			}
			addr := firstNonEmpty(dataAddr, getenv(envDataAddr), "http://127.0.0.1:8080")
			body := map[string]any{"field": field, "data": data}
			if normalize != "" {
				body["normalize"] = normalize
			}
			if cmd.Flags().Changed("bytes") {
				body["bytes"] = size
			}
			out, err := postDirect(addr, "index", key, body, nil)
			if err != nil {
				return err
			}
			if output == "json" {
				return printJSON(cmd.OutOrStdout(), out)
			}
			var answer struct{ Data *string }
			if err := json.Unmarshal(out, &answer); err != nil {
				return err
			}
			if answer.Data == nil {
				_, err = fmt.Fprintln(cmd.OutOrStdout(), "null")
				return err
			}
			_, err = fmt.Fprintln(cmd.OutOrStdout(), *answer.Data)
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&field, "field", "", "field path the index is for, as in the route or X-Qanapi-Index (required)")
	f.StringVar(&normalize, "normalize", "", "exact (default), lower, lower_trim or digits")
	f.IntVar(&size, "bytes", 16, "bytes of HMAC kept, 4 to 32, as in the route")
	f.BoolVar(&asJSON, "json", false, "take VALUE as JSON (a string in quotes, a number, true, false or null)")
	f.StringVar(&apiKey, "api-key", "", "API key (env SDPROXY_API_KEY)")
	f.StringVar(&dataAddr, "data-addr", "", "data listener base URL (env SDPROXY_DATA_ADDR, default http://127.0.0.1:8080)")
	f.StringVarP(&output, "output", "o", "data", "data (print only the index) or json (the whole answer)")
	return cmd
}
