// Package pack holds trawl's built-in detection rules as YAML.
package pack
