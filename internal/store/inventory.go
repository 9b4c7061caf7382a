package store

import (
	"context"
	"iter"
)

// Users iterates over all users ordered by UPN, with their method counts (as ListUsers), without
// holding them in memory: a directory filled by a large import has as many users as tokens.
// Stop early by breaking out of the loop.
func (d *DB) Users(ctx context.Context) iter.Seq2[User, error] {
	return func(yield func(User, error) bool) {
		rows, err := d.sql.QueryContext(ctx, `SELECT `+userColumns+` FROM users u ORDER BY u.upn_key`)
		if err != nil {
			yield(User{}, mapErr(err))
			return
		}
		defer rows.Close()
		for rows.Next() {
			u, err := scanUser(rows)
			if !yield(u, err) || err != nil {
				return
			}
		}
		if err := rows.Err(); err != nil {
			yield(User{}, mapErr(err))
		}
	}
}
