package testenv

import "testing"

func TestStrictFollowsVariable(t *testing.T) {
	for _, tc := range []struct {
		value string
		want  bool
	}{{"", false}, {"1", true}, {"true", true}} {
		t.Setenv(StrictVar, tc.value)
		if got := Strict(); got != tc.want {
			t.Errorf("%s=%q: Strict() = %v, want %v", StrictVar, tc.value, got, tc.want)
		}
	}
}
