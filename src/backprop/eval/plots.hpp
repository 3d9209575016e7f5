// Pictures for evaluation: reliability diagrams (calibration curves) and ROC curves, drawn with
// cairo into PNG or SVG, chosen by the file extension (.png / .svg, case-insensitive).
//
// Every plot takes one or more named series of (predictions, 0/1 labels), so the same picture
// can compare e.g. a model before and after calibration. Files are written atomically
// (temporary file, then rename). Errors: std::invalid_argument for bad data (as the metrics: empty,
// lengths differ, labels not 0/1, NaN, probabilities outside [0, 1] for the reliability diagram,
// a single class for ROC), no series, or an extension other than .png/.svg; std::runtime_error
// naming the path when the file cannot be written (e.g. a directory that does not exist).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace bp::eval {

// One bin of a reliability diagram: the bin [lower, upper) (the last bin includes 1), the mean
// prediction and the fraction of positives of the cases that fall into it, and their number.
struct ReliabilityBin {
  double lower = 0, upper = 0;
  double mean_predicted = 0;
  double fraction_positive = 0;
  int64_t count = 0;
};

// Equal-width bins on [0, 1]; bin b holds b/num_bins <= p < (b+1)/num_bins (edges computed as
// b / num_bins, so p = 0.3 falls into [0.3, 0.4)); p = 1 goes into the last bin. Empty bins are
// left out, as in scikit-learn's calibration_curve(strategy="uniform"), which, in version 1.2,
// puts a p exactly on an inner edge into the lower bin instead. Predictions must be in [0, 1].
std::vector<ReliabilityBin> reliability_curve(const std::vector<double>& probabilities, const std::vector<int>& labels,
                                              int num_bins = 10);

// A named set of predictions for one curve of a plot.
struct PlotSeries {
  std::string name;                 // legend text ("" = no legend entry)
  std::vector<double> predictions;  // probabilities (reliability) or scores (ROC)
  std::vector<int> labels;          // 0/1
};

struct PlotOptions {
  std::string title;  // "" = a default title ("Reliability diagram" / "ROC curve")
  int width = 0;      // pixels (PNG) or points (SVG); 0 = the plot's default (640 x 640 / 600 x 560)
  int height = 0;
  int num_bins = 10;  // reliability diagram only
};

// Reliability diagram: fraction of positives against mean predicted probability per bin, one
// line with markers per series, the diagonal (perfect calibration) dashed, and below it a panel
// of the bin counts (grouped bars per series).
void plot_reliability_diagram(const std::string& path, const std::vector<PlotSeries>& series,
                              const PlotOptions& options = {});
void plot_reliability_diagram(const std::string& path, const std::vector<double>& probabilities,
                              const std::vector<int>& labels, const PlotOptions& options = {});

// ROC curve(s) (true positive rate against false positive rate, one point per tie group, see
// roc_curve in metrics.hpp) with the chance diagonal; the legend gives every series' AUC.
void plot_roc_curve(const std::string& path, const std::vector<PlotSeries>& series, const PlotOptions& options = {});
void plot_roc_curve(const std::string& path, const std::vector<double>& scores, const std::vector<int>& labels,
                    const PlotOptions& options = {});

// A labelled scatter plot on a square panel with the dashed diagonal y = x: one marker per
// point (colour per `group`, e.g. a calibration, named in the legend by group_names) and its
// label beside it. Both axes run from 0.1 below the smallest value to max(1, largest value),
// rounded out to 0.1. Used by `backprop study` for our MEAN against the paper's per learner and
// calibration. Throws std::invalid_argument for no points, a non-finite value or a group
// without a name.
struct ScatterPoint {
  double x = 0, y = 0;
  std::string label;
  int group = 0;
};
void plot_scatter(const std::string& path, const std::vector<ScatterPoint>& points,
                  const std::vector<std::string>& group_names, const std::string& x_label,
                  const std::string& y_label, const PlotOptions& options = {});

}  // namespace bp::eval
