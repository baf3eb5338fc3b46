package storage

import (
	"context"
	"errors"
	"fmt"
)

// The budget of WeChat Pay's member queries: calls counted per calling
// merchant, query and second in query_budget, which every replica shares,
// one UPSERT a call. A second's row is made by its first call, which also
// deletes the merchant's rows of that query older than a minute.

// budgetKept is how many seconds of counts a merchant's query keeps.
const budgetKept = 60

// TakeQuery counts one call of query by mchid in second (Unix seconds)
// when fewer than limit have been counted in it, and reports whether it
// did: false means the second's budget is spent. Callers with a smaller
// limit than others (a background job at half the budget) stop earlier in
// the same count, leaving the rest to the others.
func (db *DB) TakeQuery(ctx context.Context, mchid, query string, second int64, limit int) (bool, error) {
	if limit < 1 {
		return false, nil
	}
	var used int
	err := db.queryRow(ctx, `INSERT INTO query_budget (mchid, query, second, used) VALUES ($1, $2, $3, 1)
		ON CONFLICT (mchid, query, second) DO UPDATE SET used = query_budget.used + 1 WHERE query_budget.used < $4
		RETURNING used`, mchid, query, second, limit).Scan(&used)
	if errors.Is(noRows(err), ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("storage: query budget: %w", err)
	}
	if used == 1 {
		// A clean-up that fails is made again by the next second's first call.
		db.exec(ctx, `DELETE FROM query_budget WHERE mchid = $1 AND query = $2 AND second < $3`, mchid, query, second-budgetKept)
	}
	return true, nil
}
