// Package schemadoc reads the column descriptions of docs/schema.md: every
// heading starts a section for the tables it names in backticks, and each
// row of a Markdown table headed "| column | type |" documents the columns
// named in backticks in its first cell.
package schemadoc

import (
	"regexp"
	"strings"
)

// Column is one documented column.
type Column struct {
	// Type is the SQL type as written before any comma or parenthesis
	// ("VARCHAR (JSON text)" is VARCHAR).
	Type string
	// Computed marks a column a view computes at query time.
	Computed bool
	// Description is the row's last cell, "" when empty.
	Description string
	// Line is the line of the documentation that documents it (1-based).
	Line int
}

// Section is a part of the documentation about one or more tables.
type Section struct {
	Heading string
	Tables  []string          // the tables its heading names
	Intro   string            // the first paragraph after the heading
	Columns map[string]Column // by column name
}

var backticked = regexp.MustCompile("`([^`]+)`")

// Parse returns the sections of doc by table name.
func Parse(doc string) map[string]*Section {
	sections := map[string]*Section{}
	var sec *Section
	inTable, columnTable, inIntro := false, false, false
	for i, line := range strings.Split(doc, "\n") {
		if strings.HasPrefix(line, "#") {
			sec = &Section{Heading: strings.TrimLeft(line, "# "), Columns: map[string]Column{}}
			for _, m := range backticked.FindAllStringSubmatch(line, -1) {
				sec.Tables = append(sec.Tables, m[1])
				sections[m[1]] = sec
			}
			inIntro = true
			continue
		}
		if sec != nil && inIntro {
			switch t := strings.TrimSpace(line); {
			case t == "" && sec.Intro != "":
				inIntro = false
			case t == "":
			case strings.HasPrefix(t, "|"), strings.HasPrefix(t, "```"):
				inIntro = false
			default:
				sec.Intro = strings.TrimSpace(sec.Intro + " " + t)
			}
		}
		if !strings.HasPrefix(line, "|") {
			inTable = false
			continue
		}
		cells := strings.Split(strings.Trim(line, "| "), "|")
		for j := range cells {
			cells[j] = strings.TrimSpace(cells[j])
		}
		if !inTable {
			inTable = true
			columnTable = len(cells) >= 2 && cells[0] == "column" && cells[1] == "type"
			continue
		}
		if !columnTable || sec == nil || len(cells) < 2 || strings.HasPrefix(cells[0], "---") {
			continue
		}
		typ, _, _ := strings.Cut(cells[1], ",")
		typ, _, _ = strings.Cut(typ, "(")
		c := Column{Type: strings.TrimSpace(typ), Computed: strings.Contains(cells[1], "computed"), Line: i + 1}
		if len(cells) >= 3 {
			c.Description = strings.Join(cells[2:], "|")
		}
		for _, m := range backticked.FindAllStringSubmatch(cells[0], -1) {
			sec.Columns[m[1]] = c
		}
	}
	return sections
}

// Describe returns the description of table.column: its own, else (for
// the columns documented as "as everywhere" or left empty) the one of the
// same column in the table named before the last underscore
// (alert_base → alert, cloudtrail_base → cloudtrail); "as everywhere"
// is cloudtrail's.
func Describe(sections map[string]*Section, table, column string) string {
	d := ""
	if s, ok := sections[table]; ok {
		d = s.Columns[column].Description
	}
	if d != "" && d != "as everywhere" {
		return d
	}
	if i := strings.LastIndex(table, "_"); i > 0 {
		if s, ok := sections[table[:i]]; ok && s.Columns[column].Description != "" {
			return s.Columns[column].Description
		}
	}
	if d == "as everywhere" {
		if s, ok := sections["cloudtrail"]; ok {
			return s.Columns[column].Description
		}
	}
	return d
}
