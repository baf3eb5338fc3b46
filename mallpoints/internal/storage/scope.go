package storage

import (
	"strconv"
	"strings"
)

// Malls confines a read to some malls: what an account confined to them
// may see. Nil (or empty) reads every mall, and then the statement is the
// same as without it.
type Malls []string

// and returns the condition " AND col IN ($next, …)" that keeps the rows
// of m's malls, and its arguments; nothing when m is every mall. Callers
// number the placeholders after their own.
func (m Malls) and(col string, next int) (string, []any) {
	if len(m) == 0 {
		return "", nil
	}
	marks := make([]string, len(m))
	args := make([]any, len(m))
	for i, mall := range m {
		marks[i] = "$" + strconv.Itoa(next+i)
		args[i] = mall
	}
	return " AND " + col + " IN (" + strings.Join(marks, ", ") + ")", args
}
