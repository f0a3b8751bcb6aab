// Package predict estimates the probability that a drive fails within the
// next 30 days, from the history of health readings the agent keeps for it,
// and says which readings pushed that probability up.
//
// The agent records one Sample per drive per day. Model.Predict turns a
// drive's history into Features (today's SMART error counters, how much they
// grew over the last 7 and 30 days, the largest of them and how many kinds
// are present, power-on hours, temperature, how often the heads park) and
// adds up one step function per feature, the feature's Shape, to get the
// log-odds of failure:
//
//	log-odds = Bias + Σ Shape_f(feature_f)
//
// Every term of the sum is one feature's share, so the reasons for a
// prediction are simply the terms that are large and positive. Each shape is
// centred so that a typical healthy drive's value contributes about zero.
//
// The shapes are learnt from Backblaze's public drive statistics by the
// command in cmd/train and stored in model.json, which is compiled into the
// binary; Embedded returns that model. How the model was trained and how well
// it does are in README.md.
//
// A Model is immutable and safe for concurrent use.
package predict
