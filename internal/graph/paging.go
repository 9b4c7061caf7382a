package graph

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// ListOptions are the OData query options of a listing. Filter is sent as is; build it with
// Eq and And so values are quoted.
type ListOptions struct {
	Filter  string
	Select  []string
	OrderBy string
	// Top is the page size asked of the service (it may send less); 0 leaves it to Graph.
	Top int
}

func (o ListOptions) values() url.Values {
	q := url.Values{}
	if o.Filter != "" {
		q.Set("$filter", o.Filter)
	}
	if len(o.Select) > 0 {
		q.Set("$select", strings.Join(o.Select, ","))
	}
	if o.OrderBy != "" {
		q.Set("$orderby", o.OrderBy)
	}
	if o.Top > 0 {
		q.Set("$top", strconv.Itoa(o.Top))
	}
	return q
}

// Eq is the OData clause `field eq 'value'`, with the quotes of value doubled.
func Eq(field, value string) string {
	return field + " eq '" + strings.ReplaceAll(value, "'", "''") + "'"
}

// And joins clauses with "and", skipping empty ones.
func And(clauses ...string) string {
	var out []string
	for _, c := range clauses {
		if c != "" {
			out = append(out, c)
		}
	}
	return strings.Join(out, " and ")
}

type page[T any] struct {
	Value    []T    `json:"value"`
	NextLink string `json:"@odata.nextLink"`
}

// each calls fn for every item of a listing, following @odata.nextLink to the last page.
// A page is retried on its own, so a throttled listing resumes where it was.
func each[T any](ctx context.Context, c *Client, cl call, fn func(T) error) error {
	for {
		var p page[T]
		if _, err := c.do(ctx, cl, &p); err != nil {
			return err
		}
		for _, v := range p.Value {
			if err := fn(v); err != nil {
				return err
			}
		}
		if p.NextLink == "" {
			return nil
		}
		if p.NextLink == cl.path {
			// A service that links a page to itself would be listed forever.
			return fmt.Errorf("graph %s: the next link repeats the page just read; the listing stopped there", cl.method)
		}
		// The next link carries the whole query (filter, skip token): send it as it is.
		cl.path, cl.query = p.NextLink, nil
	}
}

func all[T any](ctx context.Context, c *Client, cl call) ([]T, error) {
	out := []T{}
	err := each(ctx, c, cl, func(v T) error {
		out = append(out, v)
		return nil
	})
	return out, err
}
