package pii

import "testing"

// TestClassifyString pins each rule with values that must and must not
// give a kind; the field's name is "v" (no context) unless given.
func TestClassifyString(t *testing.T) {
	cases := []struct {
		name, value, want string // want "": no hint
	}{
		{"", "ada@example.com", KindEmail},
		{"", "kjohnson+nasa@mail.example.org", KindEmail},
		{"", "ada@localhost", ""},
		{"", "pkg@1.2.3", ""},
		{"", "@types/node", ""},
		{"", "Contact ada@example.com today", KindEmail},
		{"", "mailto:ada@example.com", KindEmail},
		{"", "https://abc123@o1.ingest.sentry.io/42", ""},

		{"", "+14155552671", KindPhone},
		{"", "+44 20 7946 0958", KindPhone},
		{"", "+1 (415) 555-2671", KindPhone},
		{"", "(415) 555-2671", KindPhone},
		{"", "415.555.2671", KindPhone},
		{"", "1-800-555-0199", KindPhone},
		{"", "020 7946 0958", KindPhone},
		{"", "01 23 45 67 89", KindPhone},
		{"", "0044 20 7946 0958", KindPhone},
		{"", "4155552671", ""},        // a bare number: an id as often as a phone
		{"", "+1234567", ""},          // 7 digits
		{"", "+0123456789", ""},       // E.164 never starts with 0
		{"", "2024-01-15", ""},        // a date
		{"", "01.02.2024", ""},        // a date
		{"", "12/25/2024", ""},        // a date
		{"", "0.123456789", ""},       // a decimal
		{"", "1 234 567,89", ""},      // an amount
		{"", "123-456-7890", ""},      // NANP area codes start 2–9
		{"", "978-0-13-595705-9", ""}, // an ISBN
		{"", "call me on 0612345678", KindPhone},
		{"", "order 0612345678 shipped", ""},

		{"", "4111111111111111", KindCardNumber},
		{"", "4111 1111 1111 1111", KindCardNumber},
		{"", "4111-1111-1111-1111", KindCardNumber},
		{"", "3782 822463 10005", KindCardNumber},
		{"", "4111 1111-1111 1111", ""}, // mixed separators
		{"", "4111111111111112", ""},    // Luhn fails
		{"", "1234567812345670", ""},    // Luhn-valid, no issuer starts with 1
		{"", "4006381333931", ""},       // an EAN-13 (13-digit Visa is not matched)
		{"", "paid with 5555 5555 5555 4444 yesterday", KindCardNumber},

		{"", "DE89370400440532013000", KindIBAN},
		{"", "DE89 3704 0044 0532 0130 00", KindIBAN},
		{"", "DE89370400440532013001", ""}, // checksum fails
		{"", "DE8937040044053201300", ""},  // wrong length for DE
		{"", "XX89370400440532013000", ""}, // no such country
		{"", "pay to GB82 WEST 1234 5698 7654 32 please", KindIBAN},

		{"", "219-09-9999", KindUSSSN},
		{"", "000-12-3456", ""},
		{"", "666-12-3456", ""},
		{"", "912-12-3456", ""},
		{"", "123-00-4567", ""},
		{"", "123-45-0000", ""},
		{"", "123456789", ""},
		{"", "my SSN is 536-22-1234.", KindUSSSN},

		{"", "203.0.113.42", KindIPAddress},
		{"", "203.0.113.42:443", KindIPAddress},
		{"", "2001:db8::8a2e:370:7334", KindIPAddress},
		{"", "[2001:db8::1]:443", KindIPAddress},
		{"", "1.2.3", ""},
		{"", "127.0.0.1", ""},
		{"", "0.0.0.0", ""},
		{"", "255.255.255.0", ""},
		{"", "::1", ""},
		{"", "01.02.03.04", ""},
		{"version", "1.0.0.1", ""},
		{"app_version", "5.2.0.1", ""},
		{"", "login from 198.51.100.7 failed", KindIPAddress},

		{"", "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U", KindJWT},
		{"", "eyJ0eXAiOiJKV1QifQ.eyJzdWIiOiIxIn0.abc", KindSecretLike}, // no alg: not a JWT, still random-looking
		{"", "a.b.c", ""},

		{"", "sk_live_4eC39HqLyjWDarjtT1zdp7dc", KindSecretLike},
		{"", "ghp_" + "R7nT4wY8zB3nC6dF1Xk9mP2qR7vT4wY8zB3n", KindSecretLike},
		{"", "AKIAIOSFODNN7EXAMPLE", KindSecretLike},
		{"", "qk_7f3k2m9q1x4c_" + "Xk9mP2qR7vT4wY8zB3nC6dF1Xk9mP2qR7vT4wY", KindSecretLike},
		{"", "qk_7f3k2m9q1x4c", ""}, // a key id is public
		{"", "postgres://app:pw@db.example.com/app", KindSecretLike},
		{"", "https://user@example.com/", ""},
		{"", "-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----", KindSecretLike},
		{"", "Xk9mP2qR7vT4wY8zB3nC6dF1", KindSecretLike},
		{"request_id", "Xk9mP2qR7vT4wY8zB3nC6dF1", ""},
		{"next_page_token", "Xk9mP2qR7vT4wY8zB3nC6dF1", ""},
		{"", "3b1f8c0e5a7d9b2c4e6f8a0b1c3d5e7f", ""},               // hex: a digest
		{"", "a3f1c2e4-5b6d-4e7f-8a9b-0c1d2e3f4a5b", ""},           // UUID
		{"", "cus_NffrFeUfNV2Hib9x2k", ""},                         // a prefixed id
		{"", "CustomerAccountBalanceUpdated2024Event", ""},         // CamelCase words
		{"", "sha512-Xk9mP2qR7vT4wY8zB3nC6dF1Xk9mP2qR7vT4wY8", ""}, // an integrity digest
		{"", "eyJhZnRlciI6ICIxMjM0In0", ""},                        // base64 of JSON: a cursor

		{"", "qanapi:bm9uZQ:v1:AAAA:$", ""},
		{"", "", ""},
		{"", "   ", ""},
	}
	for _, tc := range cases {
		f, _ := classifyString(tc.value, tc.name)
		got := ""
		if len(f) > 0 {
			got = f[0].kind
		}
		if got != tc.want {
			t.Errorf("classifyString(%q, %q) = %v, want kind %q", tc.value, tc.name, f, tc.want)
		}
	}
}

func TestClassifyNumber(t *testing.T) {
	cases := []struct {
		n    string
		want bool
	}{
		{"4111111111111111", true},
		{"378282246310005", true},
		{"4111111111111112", false},
		{"1234567812345670", false},
		{"4000056655665556123", false}, // 19 digits: ids, not cards, as numbers
		{"12.5", false},
		{"-4111111111111111", false},
	}
	for _, tc := range cases {
		if got := len(classifyNumber(tc.n)) > 0; got != tc.want {
			t.Errorf("classifyNumber(%s) = %v, want %v", tc.n, got, tc.want)
		}
	}
}

func TestNameKind(t *testing.T) {
	cases := []struct {
		key  string
		t    valueType
		want string // "": no hint
	}{
		{"password", typeString, "password"},
		{"userPassword", typeString, "password"},
		{"password", typeNumber, ""},
		{"password_hash", typeString, ""},
		{"hasPassword", typeString, "password"},
		{"client_secret", typeString, "secret"},
		{"access_token", typeString, "token"},
		{"next_page_token", typeString, ""},
		{"token_type", typeString, ""},
		{"prompt_tokens", typeNumber, ""},
		{"X-Api-Key", typeString, "api_key"},
		{"dateOfBirth", typeString, "dob"},
		{"DOB", typeString, "dob"},
		{"birth_date", typeString, "dob"},
		{"SSN", typeString, "ssn"},
		{"SSNNumber", typeString, "ssn"},
		{"social_security_number", typeNumber, "ssn"},
		{"passport", typeContainer, "passport"},
		{"tax_id", typeString, "tax_id"},
		{"national_id", typeString, "national_id"},
		{"drivers_license_number", typeString, "driver_license"},
		{"iban", typeString, "iban"},
		{"account_number", typeString, "bank_account"},
		{"cardNumber", typeNumber, "card_number"},
		{"card", typeString, "card_number"},
		{"card", typeContainer, ""},
		{"card_brand", typeString, ""},
		{"card_last4", typeString, ""},
		{"cvv2", typeString, "cvv"},
		{"pin", typeNumber, "pin"},
		{"phone", typeContainer, "phone"},
		{"phone_verified", typeString, ""},
		{"emails", typeContainer, "email"},
		{"e-mail", typeString, "email"},
		{"email_status", typeString, ""},
		{"billingAddress", typeContainer, "address"},
		{"address_line1", typeString, "address"},
		{"ip_address", typeString, ""},
		{"mac_address", typeString, ""},
		{"first_name", typeString, "name"},
		{"lastName", typeString, "name"},
		{"name", typeString, ""},
		{"", typeString, ""},
	}
	for _, tc := range cases {
		got, _, _ := nameKind(tc.key, tc.t)
		if got != tc.want {
			t.Errorf("nameKind(%q, %d) = %q, want %q", tc.key, tc.t, got, tc.want)
		}
	}
}

func TestKeyWords(t *testing.T) {
	cases := map[string]string{
		"dateOfBirth":       "date of birth",
		"SSNNumber":         "ssn number",
		"address_line1":     "address line",
		"X-Api-Key":         "x api key",
		"email address":     "email address",
		"cvv2":              "cvv",
		"HTTPServerAddress": "http server address",
		"123":               "",
	}
	for key, want := range cases {
		got := ""
		for i, w := range keyWords(key) {
			if i > 0 {
				got += " "
			}
			got += w
		}
		if got != want {
			t.Errorf("keyWords(%q) = %q, want %q", key, got, want)
		}
	}
}
