package render

import (
	"bytes"
	"testing"
)

// A record is aligned name-value lines in a table, one CSV row, or the view in JSON.
func TestRecord(t *testing.T) {
	v := struct {
		Serial string `json:"serial_number"`
		Reason string `json:"disabled_reason"`
	}{"GALT1", "=lost"}
	header, cells := []string{"serial number", "disabled reason"}, []string{"GALT1", "=lost"}
	for format, want := range map[string]string{
		"table": "serial number    GALT1\ndisabled reason  =lost\n",
		"csv":   "serial number,disabled reason\nGALT1,'=lost\n",
		"json":  "{\n  \"serial_number\": \"GALT1\",\n  \"disabled_reason\": \"=lost\"\n}\n",
	} {
		var b bytes.Buffer
		if err := Record(&b, format, v, header, cells); err != nil || b.String() != want {
			t.Errorf("%s: %q, %v; want %q", format, b.String(), err, want)
		}
	}
}

// An empty value leaves no trailing blanks after its name.
func TestKeyValues(t *testing.T) {
	var b bytes.Buffer
	if err := KeyValues(&b, [][2]string{{"a", ""}, {"long name", "x"}}); err != nil || b.String() != "a\nlong name  x\n" {
		t.Errorf("%q, %v", b.String(), err)
	}
}
