package duckdb

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/trawl-project/trawl/internal/textindex"
)

// The free-text index (internal/textindex): every flush of cloudtrail_base
// rows is one block, numbered from the sequence trawl_text_block and stored
// in the rows' text_block column; trawl_text_bloom holds the block's Bloom
// filter of words, one row per used part. Both are written in the
// transaction that writes the rows, so the index is exact after a crash
// and a resume. Rows stored before schema version 10 have text_block -1:
// no filter, every search reads them (search.TextIndexSQL keeps block -1).
func schemaV10() []string {
	return []string{
		`CREATE SEQUENCE IF NOT EXISTS trawl_text_block`,
		`CREATE TABLE IF NOT EXISTS trawl_text_bloom (
  blk BIGINT NOT NULL,
  part SMALLINT NOT NULL,
  bits BLOB NOT NULL
)`,
		`ALTER TABLE cloudtrail_base ADD COLUMN IF NOT EXISTS text_block BIGINT DEFAULT -1`,
		cloudtrailDDL()[1],
	}
}

// textBlockColumn is the extra column of cloudtrail_base that numbers its
// rows' free-text block.
const textBlockColumn = "text_block BIGINT DEFAULT -1"

var bloomPool = sync.Pool{New: func() any { return new(textindex.Bloom) }}

// bloomOf builds the filter of texts in a goroutine: the caller inserts
// the rows meanwhile. The result is to be put back in bloomPool.
func bloomOf(texts []string) <-chan *textindex.Bloom {
	out := make(chan *textindex.Bloom, 1)
	go func() {
		b := bloomPool.Get().(*textindex.Bloom)
		b.Reset()
		for _, s := range texts {
			b.AddText(s)
		}
		out <- b
	}()
	return out
}

// nextTextBlock numbers a new block.
func (t *Tx) nextTextBlock(ctx context.Context) (int64, error) {
	var blk int64
	if err := t.conn.QueryRowContext(ctx, `SELECT nextval('trawl_text_block')`).Scan(&blk); err != nil {
		return 0, fmt.Errorf("numbering a free-text index block: %w", err)
	}
	return blk, nil
}

// writeBloom stores the used parts of block blk's filter.
func (t *Tx) writeBloom(ctx context.Context, blk int64, b *textindex.Bloom) error {
	var q strings.Builder
	q.WriteString("INSERT INTO trawl_text_bloom VALUES ")
	var args []any
	for i := 0; i < textindex.Parts; i++ {
		if !b.Used(i) {
			continue
		}
		if len(args) > 0 {
			q.WriteString(", ")
		}
		q.WriteString("(?, ?, ?)")
		args = append(args, blk, int16(i), b.Part(i))
	}
	if len(args) == 0 {
		return nil
	}
	if _, err := t.conn.ExecContext(ctx, q.String(), args...); err != nil {
		return fmt.Errorf("writing the free-text index of block %d: %w", blk, err)
	}
	return nil
}
