package config

import (
	"reflect"
	"strings"
)

// Var is one environment variable a process reads.
type Var struct {
	Name     string
	Default  string
	Required bool
	// Field is the path of the struct field it is read into, as
	// go-envconfig names it in errors ("Braze: RequestTimeout").
	Field string
}

// Vars lists the environment variables read into a configuration struct such
// as Starter or Worker, in field order, so that documentation and deployment
// files can be checked against what the code reads.
func Vars(cfg any) []Var {
	return appendVars(nil, reflect.TypeOf(cfg), "")
}

func appendVars(vars []Var, t reflect.Type, path string) []Var {
	for f := range t.Fields() {
		tag, ok := f.Tag.Lookup("env")
		if !ok {
			if f.Type.Kind() == reflect.Struct {
				vars = appendVars(vars, f.Type, path+f.Name+": ")
			}
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		v := Var{Name: strings.TrimSpace(name), Field: path + f.Name}
		if _, def, ok := strings.Cut(opts, "default="); ok {
			v.Default = def
		}
		for o := range strings.SplitSeq(opts, ",") {
			if strings.TrimSpace(o) == "required" {
				v.Required = true
			}
		}
		vars = append(vars, v)
	}
	return vars
}
