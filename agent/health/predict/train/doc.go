// Package train fits the failure predictor's model to labelled drive-days
// and measures how well a model does against Backblaze's rule "any of SMART
// 5, 187, 188, 197, 198 is above zero".
//
// The steps, in the order cmd/train takes them: LoadDatasets reads the
// Backblaze files; Label turns each Dataset's drives into Rows, one per
// drive-day, marked failing if the drive fails within predict.Horizon days;
// InTestFold keeps a fifth of the drives out of training; CrossFit scores
// every training drive with a model that has not seen it, and
// ThresholdForEveryDataset picks the decision thresholds from those scores;
// Fit learns the final model's shapes by boosting stumps. cmd/evaluate then
// runs Evaluate on the test drives and prints its Table.
package train
