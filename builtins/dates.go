package builtins

import (
	"math"
	"strconv"
	"strings"
	"sync"
	"time"
	_ "time/tzdata" // time zones must work on machines without a zoneinfo database
)

// The range of times the date functions accept and produce: the years 0001
// to 9999, which RFC 3339 (and encoding/json) can write.
const (
	minUnix = -62135596800 // 0001-01-01T00:00:00Z
	maxUnix = 253402300799 // 9999-12-31T23:59:59Z
)

const timeArgText = "a time, an RFC 3339 string or unix seconds"

// namedLayouts lets authors write a Go layout constant by name.
var namedLayouts = map[string]string{
	"RFC3339":     time.RFC3339,
	"RFC3339Nano": time.RFC3339Nano,
	"RFC1123":     time.RFC1123,
	"RFC1123Z":    time.RFC1123Z,
	"RFC822":      time.RFC822,
	"RFC822Z":     time.RFC822Z,
	"RFC850":      time.RFC850,
	"ANSIC":       time.ANSIC,
	"UnixDate":    time.UnixDate,
	"RubyDate":    time.RubyDate,
	"Kitchen":     time.Kitchen,
	"DateTime":    time.DateTime,
	"DateOnly":    time.DateOnly,
	"TimeOnly":    time.TimeOnly,
	"HTTP":        httpLayout,
}

// httpLayout is the IMF-fixdate of HTTP (Date, Last-Modified, Retry-After);
// times are turned to UTC before it is applied.
const httpLayout = "Mon, 02 Jan 2006 15:04:05 GMT"

func layoutOf(s string) string {
	if l, ok := namedLayouts[s]; ok {
		return l
	}
	return s
}

func dateDefs() []def {
	return []def{
		{
			Spec: Spec{
				Name:      "formatDate",
				Category:  "dates",
				Types:     []any{new(func(any, string) string)},
				Signature: "formatDate(t time|string|number, layout string) string",
				Doc: "Formats a time with a Go layout (reference time `2006-01-02T15:04:05Z07:00`) or a layout name " +
					"(RFC3339, RFC1123, DateOnly, DateTime, HTTP, ...). t may be a time, an RFC 3339 string or unix seconds; " +
					"it keeps its own offset (unix seconds are UTC).",
				Examples: []Example{
					{Expr: `formatDate("2024-03-05T14:07:09Z", "2006-01-02")`, Result: `"2024-03-05"`},
					{Expr: `formatDate(1700000000, "Jan 2, 2006 at 15:04 MST")`, Result: `"Nov 14, 2023 at 22:13 UTC"`},
					{Expr: `formatDate("2024-03-05T14:07:09+01:00", "HTTP")`, Result: `"Tue, 05 Mar 2024 13:07:09 GMT"`},
					{Expr: `formatDate("yesterday", "2006")`, Error: `formatDate: argument 1: cannot read "yesterday" as an RFC 3339 time`},
				},
			},
			min: 2, max: 2,
			impl: func(c *call) (any, error) {
				t, err := c.time(0)
				if err != nil {
					return nil, err
				}
				layout, err := c.str(1)
				if err != nil {
					return nil, err
				}
				return formatTime(t, layout), nil
			},
		},
		{
			Spec: Spec{
				Name:      "formatDateTz",
				Category:  "dates",
				Types:     []any{new(func(any, string, string) string)},
				Signature: "formatDateTz(t time|string|number, layout string, tz string) string",
				Doc: "Like formatDate, but first moves t to the time zone tz: an IANA name such as `Europe/Paris`, " +
					"`UTC`, or a fixed offset such as `+05:30`.",
				Examples: []Example{
					{Expr: `formatDateTz("2024-07-01T12:00:00Z", "2006-01-02 15:04 MST", "Europe/Paris")`, Result: `"2024-07-01 14:00 CEST"`},
					{Expr: `formatDateTz("2024-01-01T12:00:00Z", "15:04 -07:00", "America/New_York")`, Result: `"07:00 -05:00"`},
					{Expr: `formatDateTz("2024-01-01T12:00:00Z", "15:04", "Mars/Olympus")`, Error: `formatDateTz: unknown time zone "Mars/Olympus"`},
				},
			},
			min: 3, max: 3,
			impl: func(c *call) (any, error) {
				t, err := c.time(0)
				if err != nil {
					return nil, err
				}
				layout, err := c.str(1)
				if err != nil {
					return nil, err
				}
				loc, err := c.location(2)
				if err != nil {
					return nil, err
				}
				return formatTime(t.In(loc), layout), nil
			},
		},
		{
			Spec: Spec{
				Name:     "parseDate",
				Category: "dates",
				Types: []any{
					new(func(string) time.Time),
					new(func(string, string) time.Time),
					new(func(string, string, string) time.Time),
				},
				Signature: "parseDate(s string, layout? string, tz? string) time",
				Doc: "Reads a time. Without a layout s must be RFC 3339 (a bare `2006-01-02` or `2006-01-02T15:04:05` " +
					"is read as UTC); with a Go layout or layout name, text without an offset is read in tz (default UTC).",
				Examples: []Example{
					{Expr: `parseDate("2024-03-05T14:07:09+01:00")`, Result: `"2024-03-05T14:07:09+01:00"`},
					{Expr: `parseDate("05/03/2024", "02/01/2006")`, Result: `"2024-03-05T00:00:00Z"`},
					{Expr: `parseDate("2024-07-01 09:30", "2006-01-02 15:04", "Europe/Paris")`, Result: `"2024-07-01T09:30:00+02:00"`},
					{Expr: `parseDate("Tue, 05 Mar 2024 13:07:09 GMT", "HTTP")`, Result: `"2024-03-05T13:07:09Z"`},
					{Expr: `parseDate("2024-13-01", "2006-01-02")`, Error: `parseDate: cannot read "2024-13-01" with layout "2006-01-02": month out of range`},
				},
			},
			min: 1, max: 3,
			impl: parseDate,
		},
		{
			Spec: Spec{
				Name:      "addDuration",
				Category:  "dates",
				Types:     []any{new(func(any, any) time.Time)},
				Signature: "addDuration(t time|string|number, d string|number|duration) time",
				Doc: "t plus a duration: a Go duration string (`1h30m`, `-24h`, `500ms`; there is no day unit), " +
					"a number of seconds, or an expr duration.",
				Examples: []Example{
					{Expr: `addDuration("2024-03-05T23:30:00Z", "1h30m")`, Result: `"2024-03-06T01:00:00Z"`},
					{Expr: `addDuration("2024-03-05T00:00:00Z", "-168h")`, Result: `"2024-02-27T00:00:00Z"`},
					{Expr: `addDuration("2024-03-05T00:00:00Z", 90)`, Result: `"2024-03-05T00:01:30Z"`},
					{Expr: `addDuration("2024-03-05T00:00:00Z", "1d")`, Error: `addDuration: argument 2: time: unknown unit "d" in duration "1d"`},
				},
			},
			min: 2, max: 2,
			impl: addDuration,
		},
		{
			Spec: Spec{
				Name:      "dateDiff",
				Category:  "dates",
				Types:     []any{new(func(any, any) float64)},
				Signature: "dateDiff(a time|string|number, b time|string|number) number",
				Doc:       "The seconds from b to a (a - b), with fractions; negative when a is earlier.",
				Examples: []Example{
					{Expr: `dateDiff("2024-03-05T01:00:00Z", "2024-03-05T00:00:00Z")`, Result: `3600`},
					{Expr: `dateDiff("2024-03-05T00:00:00Z", "2024-03-05T00:00:01.5Z")`, Result: `-1.5`},
				},
			},
			min: 2, max: 2,
			impl: func(c *call) (any, error) {
				a, err := c.time(0)
				if err != nil {
					return nil, err
				}
				b, err := c.time(1)
				if err != nil {
					return nil, err
				}
				return float64(a.Unix()-b.Unix()) + float64(a.Nanosecond()-b.Nanosecond())/1e9, nil
			},
		},
		{
			Spec: Spec{
				Name:      "toUnix",
				Category:  "dates",
				Types:     []any{new(func(any) int)},
				Signature: "toUnix(t time|string|number) int",
				Doc:       "Unix time in whole seconds (rounded down).",
				Examples: []Example{
					{Expr: `toUnix("2023-11-14T22:13:20Z")`, Result: `1700000000`},
				},
			},
			min: 1, max: 1,
			impl: func(c *call) (any, error) {
				t, err := c.time(0)
				if err != nil {
					return nil, err
				}
				return int(t.Unix()), nil
			},
		},
		{
			Spec: Spec{
				Name:      "toUnixMilli",
				Category:  "dates",
				Types:     []any{new(func(any) int)},
				Signature: "toUnixMilli(t time|string|number) int",
				Doc:       "Unix time in whole milliseconds, as many JavaScript-minded APIs want.",
				Examples: []Example{
					{Expr: `toUnixMilli("2023-11-14T22:13:20.123Z")`, Result: `1700000000123`},
				},
			},
			min: 1, max: 1,
			impl: func(c *call) (any, error) {
				t, err := c.time(0)
				if err != nil {
					return nil, err
				}
				return int(t.UnixMilli()), nil
			},
		},
		{
			Spec: Spec{
				Name:      "fromUnix",
				Category:  "dates",
				Types:     []any{new(func(any) time.Time)},
				Signature: "fromUnix(n number|string) time",
				Doc:       "The UTC time n seconds (fractions allowed) after 1970-01-01T00:00:00Z; n may be a numeric string.",
				Examples: []Example{
					{Expr: `fromUnix(1700000000)`, Result: `"2023-11-14T22:13:20Z"`},
					{Expr: `fromUnix("1700000000.5")`, Result: `"2023-11-14T22:13:20.5Z"`},
					{Expr: `fromUnix(1e15)`, Error: "fromUnix: 1000000000000000 seconds is outside the years 1 to 9999"},
				},
			},
			min: 1, max: 1,
			impl: func(c *call) (any, error) { return fromUnix(c, 1) },
		},
		{
			Spec: Spec{
				Name:      "fromUnixMilli",
				Category:  "dates",
				Types:     []any{new(func(any) time.Time)},
				Signature: "fromUnixMilli(n number|string) time",
				Doc:       "The UTC time n milliseconds after 1970-01-01T00:00:00Z; n may be a numeric string.",
				Examples: []Example{
					{Expr: `fromUnixMilli(1700000000123)`, Result: `"2023-11-14T22:13:20.123Z"`},
				},
			},
			min: 1, max: 1,
			impl: func(c *call) (any, error) { return fromUnix(c, 1000) },
		},
		{
			Spec: Spec{
				Name:      "nowUTC",
				Category:  "dates",
				Types:     []any{new(func() time.Time)},
				Signature: "nowUTC() time",
				Doc:       "The current time in UTC (expr's now() is in the machine's local zone).",
				Examples: []Example{
					{Expr: `nowUTC().Location().String()`, Result: `"UTC"`},
					{Expr: `dateDiff(nowUTC(), "2024-01-01T00:00:00Z") > 0`, Result: `true`},
				},
			},
			min: 0, max: 0,
			impl: func(c *call) (any, error) { return time.Now().UTC(), nil },
		},
		{
			Spec: Spec{
				Name:      "inTimeZone",
				Category:  "dates",
				Types:     []any{new(func(any, string) time.Time)},
				Signature: "inTimeZone(t time|string|number, tz string) time",
				Doc:       "The same instant shown in time zone tz (an IANA name such as `America/New_York`, `UTC`, or an offset such as `-03:00`).",
				Examples: []Example{
					{Expr: `inTimeZone("2024-07-01T12:00:00Z", "Asia/Tokyo")`, Result: `"2024-07-01T21:00:00+09:00"`},
					{Expr: `inTimeZone(0, "+05:30")`, Result: `"1970-01-01T05:30:00+05:30"`},
				},
			},
			min: 2, max: 2,
			impl: func(c *call) (any, error) {
				t, err := c.time(0)
				if err != nil {
					return nil, err
				}
				loc, err := c.location(1)
				if err != nil {
					return nil, err
				}
				return t.In(loc), nil
			},
		},
		{
			Spec: Spec{
				Name:      "isoDate",
				Category:  "dates",
				Types:     []any{new(func(any) string)},
				Signature: "isoDate(t time|string|number) string",
				Doc:       "t as RFC 3339 text in UTC with whole seconds (fractions are dropped), e.g. for a `since` query parameter.",
				Examples: []Example{
					{Expr: `isoDate("2024-07-01T14:00:00.75+02:00")`, Result: `"2024-07-01T12:00:00Z"`},
					{Expr: `isoDate(1700000000)`, Result: `"2023-11-14T22:13:20Z"`},
				},
			},
			min: 1, max: 1,
			impl: func(c *call) (any, error) {
				t, err := c.time(0)
				if err != nil {
					return nil, err
				}
				return t.UTC().Format(time.RFC3339), nil
			},
		},
	}
}

func formatTime(t time.Time, layout string) string {
	l := layoutOf(layout)
	if l == httpLayout {
		t = t.UTC()
	}
	return t.Format(l)
}

// time reads argument i as a time: a time.Time, RFC 3339 text or unix
// seconds.
func (c *call) time(i int) (time.Time, error) {
	switch v := c.args[i].(type) {
	case time.Time:
		return v, nil
	case *time.Time:
		if v != nil {
			return *v, nil
		}
	case string:
		t, ok := parseTimeText(v)
		if !ok {
			return time.Time{}, c.errorf("argument %d: cannot read %s as an RFC 3339 time", i+1, quote(v))
		}
		return t, nil
	}
	if _, ok := number(c.args[i]); ok {
		t, ok := unixTime(c.args[i], 1)
		if !ok {
			return time.Time{}, c.errorf("argument %d: %s seconds is outside the years 1 to 9999", i+1, formatNumber(c.args[i]))
		}
		return t, nil
	}
	return time.Time{}, c.argError(i, timeArgText)
}

// parseTimeText reads RFC 3339 (with or without fractions) and, as UTC, the
// forms without an offset that APIs often send.
func parseTimeText(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", time.DateOnly} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	// RFC 3339 allows a space or a lower-case t between date and time.
	if len(s) > 10 && (s[10] == ' ' || s[10] == 't') {
		return parseTimeText(s[:10] + "T" + s[11:])
	}
	return time.Time{}, false
}

// unixTime converts a number of units (1 for seconds, 1000 for
// milliseconds) since the epoch to a UTC time, if it lies in years 1-9999.
func unixTime(v any, perSecond int64) (time.Time, bool) {
	if n, ok := v.(int); ok {
		sec, rem := int64(n)/perSecond, int64(n)%perSecond
		if rem < 0 {
			sec, rem = sec-1, rem+perSecond
		}
		if sec < minUnix || sec > maxUnix {
			return time.Time{}, false
		}
		return time.Unix(sec, rem*(1e9/perSecond)).UTC(), true
	}
	f, ok := number(v)
	if !ok || math.IsNaN(f) {
		return time.Time{}, false
	}
	f /= float64(perSecond)
	if f < minUnix || f >= maxUnix+1 {
		return time.Time{}, false
	}
	sec := math.Floor(f)
	nsec := math.Round((f - sec) * 1e9)
	// Float seconds carry about 15 significant digits: round to microseconds
	// so that 1700000000.5 reads as .5 and not .499999762.
	nsec = math.Round(nsec/1e3) * 1e3
	return time.Unix(int64(sec), int64(nsec)).UTC(), true
}

func fromUnix(c *call, perSecond int64) (any, error) {
	v := c.args[0]
	if s, ok := v.(string); ok {
		s = strings.TrimSpace(s)
		if n, err := strconv.Atoi(s); err == nil {
			v = n
		} else if f, err := strconv.ParseFloat(s, 64); err == nil {
			v = f
		} else {
			return nil, c.errorf("argument 1 must be a number, got the string %s", quote(s))
		}
	} else if _, ok := number(v); !ok {
		return nil, c.argError(0, "a number")
	}
	t, ok := unixTime(v, perSecond)
	if !ok {
		unit := "seconds"
		if perSecond != 1 {
			unit = "milliseconds"
		}
		return nil, c.errorf("%s %s is outside the years 1 to 9999", formatNumber(v), unit)
	}
	return t, nil
}

func parseDate(c *call) (any, error) {
	s, err := c.str(0)
	if err != nil {
		return nil, err
	}
	if len(c.args) == 1 {
		t, ok := parseTimeText(s)
		if !ok {
			return nil, c.errorf("cannot read %s as an RFC 3339 time (give a layout for other forms)", quote(s))
		}
		return t, nil
	}
	layout, err := c.str(1)
	if err != nil {
		return nil, err
	}
	loc := time.UTC
	if len(c.args) == 3 {
		if loc, err = c.location(2); err != nil {
			return nil, err
		}
	}
	t, err := time.ParseInLocation(layoutOf(layout), s, loc)
	if err != nil {
		msg := err.Error()
		if pe, ok := err.(*time.ParseError); ok && pe.Message != "" {
			msg = strings.TrimPrefix(pe.Message, ": ")
		} else if ok {
			msg = quote(pe.ValueElem) + " does not match " + quote(pe.LayoutElem)
		}
		return nil, c.errorf("cannot read %s with layout %s: %s", quote(s), quote(layout), msg)
	}
	if t.Year() < 1 || t.Year() > 9999 {
		return nil, c.errorf("%s is outside the years 1 to 9999", quote(s))
	}
	return t, nil
}

func addDuration(c *call) (any, error) {
	t, err := c.time(0)
	if err != nil {
		return nil, err
	}
	var d time.Duration
	switch v := c.args[1].(type) {
	case time.Duration:
		d = v
	case string:
		if d, err = time.ParseDuration(strings.TrimSpace(v)); err != nil {
			return nil, c.errorf("argument 2: %v", err)
		}
	default:
		f, ok := number(v)
		if !ok {
			return nil, c.argError(1, "a duration string such as \"1h30m\" or a number of seconds")
		}
		if math.IsNaN(f) || math.Abs(f) > float64(math.MaxInt64)/1e9 {
			return nil, c.errorf("argument 2: %s seconds is out of range", formatNumber(v))
		}
		d = time.Duration(math.Round(f * 1e9))
	}
	out := t.Add(d)
	if y := out.Year(); y < 1 || y > 9999 {
		return nil, c.errorf("the result is outside the years 1 to 9999")
	}
	return out, nil
}

// locations caches loaded time zones (only successes, so the cache is
// bounded by the zone database).
var locations sync.Map

func (c *call) location(i int) (*time.Location, error) {
	name, err := c.str(i)
	if err != nil {
		return nil, err
	}
	if loc, ok := locations.Load(name); ok {
		return loc.(*time.Location), nil
	}
	loc, ok := loadLocation(name)
	if !ok {
		return nil, c.errorf("unknown time zone %s (use an IANA name such as \"Europe/Paris\" or an offset such as \"+02:00\")", quote(name))
	}
	locations.Store(name, loc)
	return loc, nil
}

func loadLocation(name string) (*time.Location, bool) {
	switch name {
	case "", "Local":
		// The machine's zone is not a property of the connector: refuse it.
		return nil, false
	case "UTC", "Z", "GMT":
		return time.UTC, true
	}
	if name[0] == '+' || name[0] == '-' {
		return fixedZone(name)
	}
	if len(name) > 100 {
		return nil, false
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, false
	}
	return loc, true
}

// fixedZone reads "+05:30", "-0300" or "+02".
func fixedZone(name string) (*time.Location, bool) {
	var hh, mm string
	switch len(name) {
	case 3:
		hh = name[1:3]
	case 5:
		hh, mm = name[1:3], name[3:5]
	case 6:
		if name[3] != ':' {
			return nil, false
		}
		hh, mm = name[1:3], name[4:6]
	default:
		return nil, false
	}
	h, err := strconv.ParseUint(hh, 10, 8)
	if err != nil || h > 23 {
		return nil, false
	}
	var m uint64
	if mm != "" {
		if m, err = strconv.ParseUint(mm, 10, 8); err != nil || m > 59 {
			return nil, false
		}
	}
	secs := int(h)*3600 + int(m)*60
	if name[0] == '-' {
		secs = -secs
	}
	return time.FixedZone(name, secs), true
}
