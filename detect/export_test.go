package detect

// SetRowPage sets how many rows one page of a rule's SQL returns (tests
// use tiny pages to cross page boundaries) and returns the restore func.
func SetRowPage(n int) func() {
	old := rowPage
	rowPage = n
	return func() { rowPage = old }
}

// SetPrefilterRows sets the prefilter table's row bound and returns the
// restore func.
func SetPrefilterRows(n int64) func() {
	old := prefilterRows
	prefilterRows = n
	return func() { prefilterRows = old }
}

// PrefilterTable is the prefilter's temporary table.
const PrefilterTable = prefilterTable
