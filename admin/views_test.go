package admin

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/sdproxy/sdproxy/events"
)

// TestEventViewKeepsEveryMember fills every member of an event and checks
// that the admin API's view of it has the same JSON: a member added to
// events.Event and not to the wire type fails here.
func TestEventViewKeepsEveryMember(t *testing.T) {
	var e events.Event
	v := reflect.ValueOf(&e).Elem()
	for i := 0; i < v.NumField(); i++ {
		f := v.Field(i)
		switch f.Interface().(type) {
		case string:
			f.SetString("x" + v.Type().Field(i).Name)
		case *string:
			s := "p" + v.Type().Field(i).Name
			f.Set(reflect.ValueOf(&s))
		case *bool:
			b := true
			f.Set(reflect.ValueOf(&b))
		case int:
			f.SetInt(int64(i + 1))
		case float64:
			f.SetFloat(float64(i) + 0.5)
		case []string:
			f.Set(reflect.ValueOf([]string{"a", "b"}))
		case map[string]string:
			f.Set(reflect.ValueOf(map[string]string{"k": "v"}))
		case time.Time:
			f.Set(reflect.ValueOf(time.Unix(1e9, 0).UTC()))
		default:
			t.Fatalf("member %s of events.Event has a type this test does not fill: %s", v.Type().Field(i).Name, f.Type())
		}
	}
	want, _ := json.Marshal(e)
	got, _ := json.Marshal(eventView(e))
	var w, g map[string]any
	json.Unmarshal(want, &w)
	json.Unmarshal(got, &g)
	if !reflect.DeepEqual(w, g) {
		t.Errorf("eventView changes the event:\n got %s\nwant %s", got, want)
	}
}
