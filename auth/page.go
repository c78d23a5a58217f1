package auth

import (
	"encoding/base64"
	"fmt"
	"strings"
)

// MaxPageSize bounds `first` in listings.
const MaxPageSize = 100

// page is one page of a Relay-style forward listing: items, their opaque cursors, and whether
// more follow or precede.
type page[T any] struct {
	items       []T
	cursors     []string
	hasNext     bool
	hasPrevious bool
}

// paginate checks first and the opaque cursor after (whose kind is its prefix), fetches one item
// more than asked to learn whether another page follows, and makes each item's cursor from key.
// fetch gets the key decoded from after ("" for the first page).
func paginate[T any](first int, after, prefix string, fetch func(afterKey string, limit int) ([]T, error), key func(T) string) (page[T], error) {
	if first < 0 || first > MaxPageSize {
		return page[T]{}, &InputError{Field: "first", Message: fmt.Sprintf("first must be between 0 and %d", MaxPageSize)}
	}
	afterKey := ""
	if after != "" {
		k, ok := decodeCursor(after, prefix)
		if !ok {
			return page[T]{}, &InputError{Field: "after", Message: "cursor is invalid"}
		}
		afterKey = k
	}
	items, err := fetch(afterKey, first+1)
	if err != nil {
		return page[T]{}, err
	}
	p := page[T]{hasPrevious: afterKey != ""}
	if len(items) > first {
		items, p.hasNext = items[:first], true
	}
	p.items = items
	for _, it := range items {
		p.cursors = append(p.cursors, encodeCursor(prefix, key(it)))
	}
	return p, nil
}

func encodeCursor(prefix, key string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(prefix + key))
}

func decodeCursor(c, prefix string) (string, bool) {
	if len(c) > 128 {
		return "", false
	}
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return "", false
	}
	key, ok := strings.CutPrefix(string(b), prefix)
	return key, ok && key != ""
}
