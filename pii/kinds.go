package pii

// Kinds of hint found from a value.
const (
	KindEmail      = "email"
	KindPhone      = "phone"
	KindCardNumber = "card_number"
	KindIBAN       = "iban"
	KindUSSSN      = "us_ssn"
	KindIPAddress  = "ip_address"
	KindJWT        = "jwt"
	KindSecretLike = "secret_like"
)

// KindFieldNamePrefix starts the kind of a hint found from the field's
// name alone: field_name:password, field_name:dob, ….
const KindFieldNamePrefix = "field_name:"

// Hint is a value that looks like personal data or a secret and that the
// covered function did not claim. It never holds the value.
type Hint struct {
	// Path is the value's path in the X-Qanapi-Fields syntax (dots, `a\.b`
	// for a key holding a dot), with every array index written *; "" is
	// the whole document.
	Path string
	// Kind is one of the Kind constants, or KindFieldNamePrefix and a name.
	Kind string
	// Reason says, in a fixed phrase, why the value was hinted.
	Reason string
}
