package render

import (
	"bytes"
	"testing"
)

func TestTable(t *testing.T) {
	var b bytes.Buffer
	err := Table(&b, []string{"serial number", "status"}, [][]string{{"1234567", "available"}, {"9", "activated"}})
	if err != nil {
		t.Fatal(err)
	}
	want := "SERIAL NUMBER  STATUS\n1234567        available\n9              activated\n"
	if b.String() != want {
		t.Errorf("got\n%q\nwant\n%q", b.String(), want)
	}
}

func TestCSVNeutralisesFormulas(t *testing.T) {
	var b bytes.Buffer
	err := CSV(&b, []string{"a", "b"}, [][]string{{"=1+1", "+x"}, {"-2+3", "@SUM(A1)"}, {"ok", ""}, {"-7", "+0.5"}, {"-", "-1-1"}})
	if err != nil {
		t.Fatal(err)
	}
	want := "a,b\n'=1+1,'+x\n'-2+3,'@SUM(A1)\nok,\n-7,+0.5\n'-,'-1-1\n"
	if b.String() != want {
		t.Errorf("got %q want %q", b.String(), want)
	}
}

func TestJSONEmptyList(t *testing.T) {
	var b bytes.Buffer
	if err := JSON(&b, []string{}); err != nil {
		t.Fatal(err)
	}
	if b.String() != "[]\n" {
		t.Errorf("got %q", b.String())
	}
}
