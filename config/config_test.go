package config

import (
	"strings"
	"testing"
	"time"
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

func TestEventsFlushInterval(t *testing.T) {
	c := Default()
	if err := c.ApplyEnv(func(k string) string { return map[string]string{EnvEventsFlush: "250ms"}[k] }); err != nil || c.Events.FlushInterval != 250*time.Millisecond {
		t.Errorf("ApplyEnv(%s=250ms) = %v, %v", EnvEventsFlush, c.Events.FlushInterval, err)
	}
	if err := c.ApplyEnv(func(k string) string { return map[string]string{EnvEventsFlush: "soon"}[k] }); err == nil || !strings.Contains(err.Error(), EnvEventsFlush) {
		t.Errorf("ApplyEnv(%s=soon) = %v, want an error naming it", EnvEventsFlush, err)
	}
	for _, d := range []time.Duration{0, time.Microsecond, time.Minute} {
		c := Default()
		c.Events.FlushInterval = d
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "events.flush_interval") {
			t.Errorf("Validate(flush_interval %s) = %v, want an error naming events.flush_interval", d, err)
		}
	}
}

func TestDataKeyRotateAfter(t *testing.T) {
	for _, tc := range []struct {
		n  uint64
		ok bool
	}{{0, false}, {1<<16 - 1, false}, {1 << 16, true}, {1 << 30, true}, {1 << 32, true}, {1<<32 + 1, false}} {
		c := Default()
		c.DataKeyRotateAfter = tc.n
		if err := c.Validate(); (err == nil) != tc.ok || err != nil && !strings.Contains(err.Error(), "datakey_rotate_after") {
			t.Errorf("Validate(datakey_rotate_after %d) = %v, want ok %v", tc.n, err, tc.ok)
		}
	}
}
