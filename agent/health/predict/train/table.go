package train

import (
	"fmt"
	"math"
	"strings"
)

// Table formats results as a Markdown table, the one README.md shows.
func Table(results []Result) string {
	var b strings.Builder
	b.WriteString("| test set | predictor | recall (95% CI) | false-positive rate (95% CI) | precision, sample | precision, fleet |\n")
	b.WriteString("|---|---|---|---|---|---|\n")
	for _, r := range results {
		set := fmt.Sprintf("%s: %d drives (%d failed); %d failing, %d healthy drive-days",
			r.Dataset, r.Drives, r.FailedDrives, r.Failing, r.Healthy)
		for _, s := range append([]Score{r.Rule}, r.Model...) {
			fmt.Fprintf(&b, "| %s | %s | %s (%s–%s) | %s (%s–%s) | %s | %s |\n",
				set, s.Predictor,
				percent(s.Sample.Recall(), 1), percent(s.RecallCI[0], 1), percent(s.RecallCI[1], 1),
				percent(s.Sample.FPR(), 2), percent(s.FPRCI[0], 2), percent(s.FPRCI[1], 2),
				percent(s.Sample.Precision(), 1), percent(s.Fleet.Precision(), 1))
			set = ""
		}
	}
	return b.String()
}

// percent formats a share as a percentage with the given number of
// decimals.
func percent(x float64, decimals int) string {
	if math.IsNaN(x) {
		return "n/a"
	}
	return fmt.Sprintf("%.*f%%", decimals, 100*x)
}
