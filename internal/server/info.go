package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"time"
)

// Info tells other trawl processes that a server holds a database: DuckDB
// lets one process open a file, so `trawl query` and `trawl search` send
// their work to the server instead. It is written next to the database
// as DB.server.json, readable by its owner only (it holds the token).
type Info struct {
	URL   string `json:"url"`
	PID   int    `json:"pid"`
	DB    string `json:"db"`
	Token string `json:"token,omitempty"`
}

// InfoPath is where the server holding db writes its Info.
func InfoPath(db string) string { return db + ".server.json" }

// WriteInfo writes info for db (mode 0600) and returns the function that
// removes it again.
func WriteInfo(db string, info Info) (func(), error) {
	b, err := json.MarshalIndent(info, "", "  ")
	if err != nil {
		return nil, err
	}
	path := InfoPath(db)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return nil, fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return nil, fmt.Errorf("writing %s: %w", path, err)
	}
	return func() {
		// Only our own: a later server may have replaced it.
		if cur, err := ReadInfo(db); err == nil && cur.PID == info.PID {
			os.Remove(path)
		}
	}, nil
}

// ReadInfo reads the Info of the server holding db.
func ReadInfo(db string) (Info, error) {
	var info Info
	b, err := os.ReadFile(InfoPath(db))
	if err != nil {
		return info, err
	}
	if err := json.Unmarshal(b, &info); err != nil {
		return info, fmt.Errorf("reading %s: %w", InfoPath(db), err)
	}
	if info.URL == "" {
		return info, fmt.Errorf("reading %s: no url", InfoPath(db))
	}
	return info, nil
}

// Client calls a running trawl server's API.
type Client struct {
	URL   string
	Token string
	HTTP  *http.Client
}

// SQLColumn is a column of a SQL result.
type SQLColumn struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

// SQLResult is the answer of POST /api/sql.
type SQLResult struct {
	Columns   []SQLColumn `json:"columns"`
	Rows      [][]any     `json:"rows"`
	Truncated bool        `json:"truncated"`
}

// APIError is an error answer of the API.
type APIError struct {
	Status   int
	Message  string `json:"error"`
	Position int    `json:"position"`
}

func (e *APIError) Error() string {
	return fmt.Sprintf("the trawl server answered %d: %s", e.Status, e.Message)
}

// SQL runs one read-only statement on the server.
func (c *Client) SQL(ctx context.Context, sql string, limit int) (*SQLResult, error) {
	body, _ := json.Marshal(map[string]any{"sql": sql, "limit": limit})
	var res SQLResult
	if err := c.do(ctx, http.MethodPost, "/api/sql", bytes.NewReader(body), &res); err != nil {
		return nil, err
	}
	return &res, nil
}

// Get calls a GET endpoint with parameters and decodes its JSON answer
// into out.
func (c *Client) Get(ctx context.Context, path string, params url.Values, out any) error {
	if len(params) > 0 {
		path += "?" + params.Encode()
	}
	return c.do(ctx, http.MethodGet, path, nil, out)
}

func (c *Client) do(ctx context.Context, method, path string, body io.Reader, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, c.URL+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("X-Trawl-Request", "1")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	hc := c.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Minute}
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("calling the trawl server at %s: %w", c.URL, err)
	}
	defer resp.Body.Close()
	dec := json.NewDecoder(resp.Body)
	dec.UseNumber()
	if resp.StatusCode != http.StatusOK {
		e := &APIError{Status: resp.StatusCode}
		if err := dec.Decode(e); err != nil || e.Message == "" {
			e.Message = resp.Status
		}
		return e
	}
	if err := dec.Decode(out); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("reading the trawl server's answer: %w", err)
	}
	return nil
}
