/**
 * Evaluation of image classifiers: {@link org.relabel4j.eval.Evaluator} runs a model over a dataset and keeps each
 * image's top-5 classes ({@link org.relabel4j.eval.Predictions}); {@link org.relabel4j.eval.Metrics} (top-1, top-5,
 * per-class), {@link org.relabel4j.eval.RealLabels} (ReaL, Beyer et al. 2020) and
 * {@link org.relabel4j.eval.ShankarLabels} (multi-label accuracy, Shankar et al. 2020) score them in pure Java;
 * {@link org.relabel4j.eval.EvalReport} writes the JSON report and the printed table.
 */
package org.relabel4j.eval;
