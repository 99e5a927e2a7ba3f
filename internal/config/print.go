package config

import (
	"bytes"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Redacted is what secrets (metrics.token, external_id) print as.
const Redacted = "REDACTED"

// String returns the normalised configuration as YAML that Parse reads
// back: defaults filled in, paths absolute, durations, sizes and times in
// canonical form, each source's effective aws block, and secrets
// replaced by REDACTED.
func (c *Config) String() string {
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(node(reflect.ValueOf(*c), "")); err != nil {
		return "# cannot print the configuration: " + err.Error() + "\n"
	}
	enc.Close()
	return b.String()
}

func scalar(s string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s}
}

func node(v reflect.Value, opts string) *yaml.Node {
	t := v.Type()
	switch {
	case t == durationType:
		return scalar(FormatDuration(time.Duration(v.Int())))
	case t == momentType:
		return scalar(v.Interface().(Moment).String())
	case hasOpt(opts, "size"):
		return scalar(FormatSize(v.Int()))
	case hasOpt(opts, "secret") && v.String() != "":
		return scalar(Redacted)
	}
	switch t.Kind() {
	case reflect.Pointer:
		return node(v.Elem(), opts)
	case reflect.Struct:
		m := &yaml.Node{Kind: yaml.MappingNode}
		for _, f := range fields(t) {
			fv := v.Field(f.index)
			tag := t.Field(f.index).Tag.Get("yaml")
			if strings.Contains(tag, ",omitempty") && isEmpty(fv) {
				continue
			}
			m.Content = append(m.Content, scalar(f.key), node(fv, f.opts))
		}
		return m
	case reflect.Slice:
		s := &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle}
		for i := range v.Len() {
			s.Content = append(s.Content, node(v.Index(i), opts))
		}
		if t.Elem().Kind() == reflect.Struct {
			s.Style = 0
		}
		return s
	case reflect.Map:
		m := &yaml.Node{Kind: yaml.MappingNode}
		keys := v.MapKeys()
		slices.SortFunc(keys, func(a, b reflect.Value) int { return strings.Compare(a.String(), b.String()) })
		for _, k := range keys {
			m.Content = append(m.Content, scalar(k.String()), node(v.MapIndex(k), opts))
		}
		return m
	case reflect.Bool:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: strconv.FormatBool(v.Bool())}
	case reflect.Int, reflect.Int64:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.FormatInt(v.Int(), 10)}
	}
	return scalar(v.String())
}

func isEmpty(v reflect.Value) bool {
	if v.Kind() == reflect.Pointer {
		return v.IsNil() || isEmpty(v.Elem())
	}
	if v.Type() == momentType {
		return v.Interface().(Moment).IsZero()
	}
	return v.IsZero() || (v.Kind() == reflect.Slice || v.Kind() == reflect.Map) && v.Len() == 0
}
