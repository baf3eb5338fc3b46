package storage

import (
	"context"
	"errors"
	"fmt"
)

// The budget of WeChat Pay's member queries: calls counted per calling
// merchant, query and tenth of a second in query_budget, which every
// replica shares, one UPSERT a call. A tenth's row is made by its first
// call, which also deletes the merchant's rows of that query older than a
// minute.

// budgetKept is how many tenths of a second of counts a merchant's query
// keeps: a minute.
const budgetKept = 600

// TakeQuery counts one call of query by mchid in tenth (tenths of a second
// since the Unix epoch) when fewer than limit have been counted in it, and
// reports whether it did: false means the tenth's budget is spent. Callers
// with a smaller limit than others (a background job at half the budget)
// stop earlier in the same count, leaving the rest to the others.
func (db *DB) TakeQuery(ctx context.Context, mchid, query string, tenth int64, limit int) (bool, error) {
	if limit < 1 {
		return false, nil
	}
	var used int
	err := db.queryRow(ctx, `INSERT INTO query_budget (mchid, query, tenth, used) VALUES ($1, $2, $3, 1)
		ON CONFLICT (mchid, query, tenth) DO UPDATE SET used = query_budget.used + 1 WHERE query_budget.used < $4
		RETURNING used`, mchid, query, tenth, limit).Scan(&used)
	if errors.Is(noRows(err), ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("storage: query budget: %w", err)
	}
	if used == 1 {
		// A clean-up that fails is made again by the next tenth's first call.
		db.exec(ctx, `DELETE FROM query_budget WHERE mchid = $1 AND query = $2 AND tenth < $3`, mchid, query, tenth-budgetKept)
	}
	return true, nil
}
