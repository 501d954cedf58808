package config

import "testing"

func TestAdminURL(t *testing.T) {
	cases := []struct{ advertise, bound, want string }{
		{"", "127.0.0.1:8081", "http://127.0.0.1:8081"},
		{"", "0.0.0.0:8081", "http://127.0.0.1:8081"},
		{"", "[::]:8081", "http://127.0.0.1:8081"},
		{"", ":8081", "http://127.0.0.1:8081"},
		{"", "10.0.0.5:9000", "http://10.0.0.5:9000"},
		{"", "[::1]:8081", "http://[::1]:8081"},
		{"https://a.example:8443/", "127.0.0.1:8081", "https://a.example:8443"},
	}
	for _, c := range cases {
		cfg := Default()
		cfg.AdminAdvertise = c.advertise
		if got := cfg.AdminURL(c.bound); got != c.want {
			t.Errorf("AdminURL(%q) with admin_advertise %q = %q, want %q", c.bound, c.advertise, got, c.want)
		}
	}
}

func TestAdminAdvertiseValidate(t *testing.T) {
	for s, ok := range map[string]bool{
		"http://10.0.0.5:8081": true, "https://a.example:8443/": true,
		"10.0.0.5:8081": false, "http://a.example": false, "http://a:1/admin": false, "ftp://a:1": false,
	} {
		c := Default()
		c.AdminAdvertise = s
		if err := c.Validate(); (err == nil) != ok {
			t.Errorf("Validate(admin_advertise %q) = %v, want ok %v", s, err, ok)
		}
	}
}
