package schema

// QuickValid exposes the quick pass to the differential test (quick_test.go),
// which lives in package schema_test so that it can parse with the loader.
var QuickValid = quickValid
