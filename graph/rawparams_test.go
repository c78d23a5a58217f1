package graph

import (
	"reflect"
	"strings"
	"testing"

	"github.com/99designs/gqlgen/graphql"
)

var rawParamsSeeds = []string{
	`{"query":"{ __typename }"}`,
	` { "query" : "{ me { id } }" , "operationName" : null , "variables" : null } `,
	`{"query":"mutation Refresh($refreshToken: String) { refresh(refreshToken: $refreshToken) { accessToken refreshToken } }","variables":{"refreshToken":"rt_AQGiM_PHAXBLl5-Azk25uTxGm2_6KM3tHrXpyT3yP9u73cTobvgxWD7qfkCBD1ZHcCldW6K8k0hlhaLvF3B6_hQ"}}`,
	`{"query":"query Q($n: Int, $f: Float, $b: Boolean) {\n  __typename\n}\n","operationName":"Q","variables":{"n":-12,"f":1.5e-3,"b":true,"x":null,"y":false,"z":0,"w":"\u00e9\t\"\\\/\b\f\r"}}`,
	`{"variables":{},"query":"é ü ✓ 𝄞"}`,
	`{}`, `{"variables":{"a":1,"a":2}}`, `{"query":"\u0000"}`,
	// Left to encoding/json (the same result, or its error):
	`{"Query":"{ __typename }"}`, `{"query":"a","query":"b"}`, `{"query":"\ud834\udd1e"}`,
	`{"query":"{ x }","extensions":{"persistedQuery":{"version":1}}}`, `{"query":"x","variables":{"a":{"b":1}}}`,
	`{"query":"x","variables":{"a":[1]}}`, `{"query":"x"} trailing`, `{"query":"\xff"}`, `{"query":"a` + "\n" + `b"}`,
	`{"query":7}`, `{"query":"x","variables":"x"}`, `[{"query":"x"}]`, `null`, ``, `{"query":"x",}`, `{"variables":{"n":01}}`,
	`{"variables":{"n":1.}}`, `{"variables":{"n":-}}`, `{"variables":{"n":1e}}`, `{"query":"\x"}`, `{"query":"\u12"}`,
	`{"query":"x"`, `{"query"}`, "\ufeff{\"query\":\"x\"}",
}

const fastSeeds = 8 // the first ones: the usual shape

// checkParams: decodeParams answers as decodeJSON does, whichever path it takes.
func checkParams(t *testing.T, body []byte) (fast bool) {
	t.Helper()
	var want, got graphql.RawParams
	errWant := decodeJSON(body, &want)
	errGot := decodeParams(body, &got)
	if (errWant == nil) != (errGot == nil) || !reflect.DeepEqual(want, got) {
		t.Fatalf("%q: decodeParams = %+v, %v; decodeJSON = %+v, %v", body, got, errGot, want, errWant)
	}
	fp, ok := fastParams(body)
	if ok && (errWant != nil || fp.query != want.Query || fp.operationName != want.OperationName ||
		!reflect.DeepEqual(fp.variables, want.Variables) || want.Extensions != nil) {
		t.Fatalf("%q: the fast path took %+v; encoding/json says %+v, %v", body, fp, want, errWant)
	}
	return ok
}

func TestDecodeParamsAsEncodingJSON(t *testing.T) {
	for i, s := range rawParamsSeeds {
		if fast := checkParams(t, []byte(s)); fast != (i < fastSeeds) {
			t.Errorf("%q: fast path %v, want %v", s, fast, i < fastSeeds)
		}
	}
}

func FuzzDecodeParams(f *testing.F) {
	for _, s := range rawParamsSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		checkParams(t, body)
	})
}

func BenchmarkDecodeParams(b *testing.B) {
	bodies := map[string]string{"typename": rawParamsSeeds[0], "refresh": rawParamsSeeds[2], "multiline": rawParamsSeeds[3]}
	for name, body := range bodies {
		for _, path := range []struct {
			name   string
			decode func([]byte, *graphql.RawParams) error
		}{{"encoding-json", func(d []byte, p *graphql.RawParams) error { return decodeJSON(d, p) }}, {"decodeParams", decodeParams}} {
			b.Run(name+"/"+path.name, func(b *testing.B) {
				data := []byte(body)
				b.ReportAllocs()
				for b.Loop() {
					var p graphql.RawParams
					if err := path.decode(data, &p); err != nil || !strings.Contains(p.Query, "__typename") && p.Query == "" {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
