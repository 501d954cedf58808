// Package wire holds the JSON shapes of sdproxy's admin API: the views it
// answers, the inputs it takes, pages and the error body. The server (package
// admin) and the CLI's client both use them, so a renamed field shows up in
// both at once and never silently through a storage type.
package wire

// Page is the shape of every list: items and the cursor of the next page,
// null on the last one.
type Page[T any] struct {
	Items      []T     `json:"items"`
	NextCursor *string `json:"next_cursor"`
}

// ErrorBody is the JSON shape of every error answer.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail is the inside of an error answer.
type ErrorDetail struct {
	Code      string `json:"code"`
	Message   string `json:"message"`
	RequestID string `json:"request_id"`
}

// Status is the answer of /healthz and /readyz.
type Status struct {
	Status string `json:"status"`
}
