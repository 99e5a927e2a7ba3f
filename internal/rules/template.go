package rules

import (
	"errors"
	"strings"

	"github.com/trawl-project/trawl/internal/sigma"
)

// template is a title with {{path}} placeholders, rendered per record. A
// placeholder {{path|text}} renders text instead of "-" when the field is
// absent: "({{errorCode|succeeded}})".
type template struct {
	lits   []string       // len(fields)+1 literal parts around the fields
	fields []*sigma.Field // one per placeholder
	absent []string       // per placeholder, what an absent value renders
}

func parseTemplate(service, s string) (*template, error) {
	t := &template{}
	for {
		i := strings.Index(s, "{{")
		if i < 0 {
			t.lits = append(t.lits, s)
			return t, nil
		}
		j := strings.Index(s[i:], "}}")
		if j < 0 {
			return nil, errors.New("a {{ without }}")
		}
		name, absent, ok := strings.Cut(s[i+2:i+j], "|")
		if !ok {
			absent = "-"
		}
		name = strings.TrimSpace(name)
		f, err := sigma.NewField(service, name)
		if err != nil {
			return nil, err
		}
		t.lits = append(t.lits, s[:i])
		t.fields = append(t.fields, f)
		t.absent = append(t.absent, absent)
		s = s[i+j+2:]
	}
}

// render writes the title with each placeholder's value, or its text for
// an absent value ("-" unless the placeholder gives one).
func (t *template) render(get func(f *sigma.Field) (string, bool)) string {
	if len(t.fields) == 0 {
		return t.lits[0]
	}
	var b strings.Builder
	for i, f := range t.fields {
		b.WriteString(t.lits[i])
		if v, ok := get(f); ok && v != "" {
			b.WriteString(v)
		} else {
			b.WriteString(t.absent[i])
		}
	}
	b.WriteString(t.lits[len(t.lits)-1])
	return b.String()
}
