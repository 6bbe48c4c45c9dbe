// Package comments is synthetic source for the tidy test: each comment line
// marked want: breaks the rule it names, and no other line breaks any.
package comments

import "example.com/comments/sub"

// Box holds a [Box.Value] and links to [Box.Open] (promoted from [Inner]),
// [*Box], [sub.Part], [sub.Part.Method], [sub] and [fmt.Println].
type Box struct {
	Inner
	Value int
	part  sub.Part
}

// Inner is embedded in [Box].
type Inner struct{ Open bool }

// Links to nothing: [Gone] want:doclink
// [Box.Gone] want:doclink
// [sub.Gone] want:doclink
// [sub.Part.Gone] want:doclink
//
// No links at all: a[N], [lower], [x.y], [unknownpkg.Name], [N]byte, and
// code:
//
//	var x [Gone]int
var links int

// Files that exist: comments.go, sub/sub.go, ./sub/sub.go, sub.go (found in
// sub/), go.mod and DESIGN.md (kept outside on purpose); a URL is left
// alone: https://example.com/gone.go.
//
// gone.go want:fileref
// sub/gone.md want:fileref
var files int

// TODO(issue 11): a note that names its issue.
// Prose may say TODO or FIXME in passing.
//
// TODO: fix this want:todo
// FIXME(later): no issue want:todo
// TODO want:todo
var todos int
