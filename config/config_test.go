package config

import (
	"strings"
	"testing"
)

func TestDefaultIsValid(t *testing.T) {
	c := Default()
	if err := c.Validate(); err != nil {
		t.Errorf("Default().Validate() = %v, want nil", err)
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	c := Default()
	c.Listen, c.MaxBodyBytes, c.Log.Level, c.Events.MaxCount = "", -1, "loud", 0
	err := c.Validate()
	if err == nil {
		t.Fatal("Validate() = nil, want errors")
	}
	for _, want := range []string{"listen", "max_body_bytes", "log.level", "events.max_age and events.max_count"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %q, want it to mention %s", err, want)
		}
	}
}

func TestApplyEnv(t *testing.T) {
	env := map[string]string{EnvListen: ":9", EnvMaxBodyBytes: "2048", EnvEventsSink: "stdout"}
	c := Default()
	if err := c.ApplyEnv(func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	if c.Listen != ":9" || c.MaxBodyBytes != 2048 || c.Events.Sink != "stdout" || c.AdminListen != "127.0.0.1:8081" {
		t.Errorf("ApplyEnv = %+v, want listen :9, 2048 bytes, sink stdout, admin default", c)
	}
	env[EnvMaxBodyBytes] = "ten"
	if err := c.ApplyEnv(func(k string) string { return env[k] }); err == nil {
		t.Errorf("ApplyEnv(%s=ten) = nil, want an error", EnvMaxBodyBytes)
	}
}
