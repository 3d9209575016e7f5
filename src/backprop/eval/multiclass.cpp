#include "backprop/eval/multiclass.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <stdexcept>

#include "backprop/eval/metrics.hpp"

namespace bp::eval {

namespace {

void check_labels(const char* what, const std::vector<int>& labels, int num_classes, const char* name) {
  for (size_t i = 0; i < labels.size(); ++i)
    if (labels[i] < 0 || labels[i] >= num_classes)
      throw std::invalid_argument(std::string(what) + ": " + name + " " + std::to_string(labels[i]) + " at index " +
                                  std::to_string(i) + " is not a class in [0, " + std::to_string(num_classes) + ")");
}

void check_num_classes(const char* what, int num_classes) {
  if (num_classes < 2)
    throw std::invalid_argument(std::string(what) + ": need at least 2 classes, got " + std::to_string(num_classes));
}

// Checks an (N, K) probability matrix against N labels.
void check_matrix(const char* what, const std::vector<int>& labels, const std::vector<double>& probabilities,
                  int num_classes) {
  check_num_classes(what, num_classes);
  if (labels.empty()) throw std::invalid_argument(std::string(what) + ": no cases (empty input)");
  const size_t k = static_cast<size_t>(num_classes);
  if (probabilities.size() != labels.size() * k)
    throw std::invalid_argument(std::string(what) + ": " + std::to_string(labels.size()) + " labels and " +
                                std::to_string(num_classes) + " classes need " + std::to_string(labels.size() * k) +
                                " probabilities (row-major N x K), got " + std::to_string(probabilities.size()));
  check_labels(what, labels, num_classes, "label");
  for (size_t i = 0; i < probabilities.size(); ++i) {
    if (!std::isfinite(probabilities[i]))
      throw std::invalid_argument(std::string(what) + ": probability of case " + std::to_string(i / k) + ", class " +
                                  std::to_string(i % k) + " is " + (std::isnan(probabilities[i]) ? "NaN" : "infinite"));
    if (probabilities[i] < 0)
      throw std::invalid_argument(std::string(what) + ": probability of case " + std::to_string(i / k) + ", class " +
                                  std::to_string(i % k) + " is negative");
  }
}

void check_pair(const char* what, const std::vector<int>& labels, const std::vector<int>& predicted) {
  if (labels.empty()) throw std::invalid_argument(std::string(what) + ": no cases (empty input)");
  if (labels.size() != predicted.size())
    throw std::invalid_argument(std::string(what) + ": " + std::to_string(labels.size()) + " labels but " +
                                std::to_string(predicted.size()) + " predictions");
}

void check_regression(const char* what, const std::vector<double>& y, const std::vector<double>& yhat) {
  if (y.empty()) throw std::invalid_argument(std::string(what) + ": no cases (empty input)");
  if (y.size() != yhat.size())
    throw std::invalid_argument(std::string(what) + ": " + std::to_string(y.size()) + " targets but " +
                                std::to_string(yhat.size()) + " predictions");
  for (size_t i = 0; i < y.size(); ++i)
    if (!std::isfinite(y[i]) || !std::isfinite(yhat[i]))
      throw std::invalid_argument(std::string(what) + ": non-finite " + (std::isfinite(y[i]) ? "prediction" : "target") +
                                  " at index " + std::to_string(i));
}

}  // namespace

std::vector<int> argmax_rows(const std::vector<double>& probabilities, int num_classes) {
  check_num_classes("argmax_rows", num_classes);
  const size_t k = static_cast<size_t>(num_classes);
  if (probabilities.size() % k != 0)
    throw std::invalid_argument("argmax_rows: " + std::to_string(probabilities.size()) +
                                " values are not a whole number of rows of " + std::to_string(num_classes));
  std::vector<int> out(probabilities.size() / k);
  for (size_t i = 0; i < out.size(); ++i) {
    const double* row = probabilities.data() + i * k;
    for (size_t c = 0; c < k; ++c)
      if (std::isnan(row[c])) throw std::invalid_argument("argmax_rows: NaN in row " + std::to_string(i));
    out[i] = static_cast<int>(std::max_element(row, row + k) - row);  // first maximum
  }
  return out;
}

double multiclass_accuracy(const std::vector<int>& labels, const std::vector<int>& predicted) {
  check_pair("multiclass_accuracy", labels, predicted);
  size_t correct = 0;
  for (size_t i = 0; i < labels.size(); ++i) correct += labels[i] == predicted[i];
  return static_cast<double>(correct) / static_cast<double>(labels.size());
}

double multiclass_accuracy(const std::vector<int>& labels, const std::vector<double>& probabilities,
                           int num_classes) {
  check_matrix("multiclass_accuracy", labels, probabilities, num_classes);
  return multiclass_accuracy(labels, argmax_rows(probabilities, num_classes));
}

double log_loss(const std::vector<int>& labels, const std::vector<double>& probabilities, int num_classes,
                double epsilon) {
  check_matrix("log_loss", labels, probabilities, num_classes);
  if (!(epsilon > 0.0 && epsilon < 0.5))
    throw std::invalid_argument("log_loss: epsilon " + std::to_string(epsilon) + " is not in (0, 0.5)");
  const size_t k = static_cast<size_t>(num_classes);
  double total = 0;
  for (size_t i = 0; i < labels.size(); ++i) {
    const double* row = probabilities.data() + i * k;
    double row_sum = 0;
    for (size_t c = 0; c < k; ++c) row_sum += std::clamp(row[c], epsilon, 1.0 - epsilon);
    const double p = std::clamp(row[labels[i]], epsilon, 1.0 - epsilon) / row_sum;
    total -= std::log(p);
  }
  return total / static_cast<double>(labels.size());
}

double macro_f1(const std::vector<int>& labels, const std::vector<int>& predicted, int num_classes) {
  check_pair("macro_f1", labels, predicted);
  const auto cm = confusion_matrix(labels, predicted, num_classes);
  double sum = 0;
  int present = 0;
  for (int c = 0; c < num_classes; ++c) {
    int64_t tp = cm[c][c], fn = 0, fp = 0;
    for (int o = 0; o < num_classes; ++o) {
      if (o == c) continue;
      fn += cm[c][o];
      fp += cm[o][c];
    }
    if (tp + fn + fp == 0) continue;  // class in neither labels nor predictions
    ++present;
    sum += 2.0 * static_cast<double>(tp) / static_cast<double>(2 * tp + fp + fn);
  }
  return sum / present;  // present >= 1 since there is at least one case
}

std::vector<double> one_vs_rest_auc(const std::vector<int>& labels, const std::vector<double>& probabilities,
                                    int num_classes) {
  check_matrix("one_vs_rest_auc", labels, probabilities, num_classes);
  const size_t n = labels.size(), k = static_cast<size_t>(num_classes);
  std::vector<double> out(k);
  std::vector<double> column(n);
  std::vector<int> is_class(n);
  for (size_t c = 0; c < k; ++c) {
    size_t count = 0;
    for (size_t i = 0; i < n; ++i) {
      column[i] = probabilities[i * k + c];
      is_class[i] = labels[i] == static_cast<int>(c);
      count += is_class[i];
    }
    if (count == 0 || count == n)
      throw std::invalid_argument("one_vs_rest_auc: class " + std::to_string(c) +
                                  (count == 0 ? " does not occur" : " is every label") +
                                  ", so its one-vs-rest AUC is undefined");
    out[c] = roc_auc(column, is_class);
  }
  return out;
}

std::vector<std::vector<int64_t>> confusion_matrix(const std::vector<int>& labels, const std::vector<int>& predicted,
                                                   int num_classes) {
  check_num_classes("confusion_matrix", num_classes);
  check_pair("confusion_matrix", labels, predicted);
  check_labels("confusion_matrix", labels, num_classes, "label");
  check_labels("confusion_matrix", predicted, num_classes, "predicted class");
  std::vector<std::vector<int64_t>> cm(num_classes, std::vector<int64_t>(num_classes, 0));
  for (size_t i = 0; i < labels.size(); ++i) cm[labels[i]][predicted[i]] += 1;
  return cm;
}

std::string format_confusion_matrix(const std::vector<std::vector<int64_t>>& matrix,
                                    const std::vector<std::string>& class_names) {
  const size_t k = matrix.size();
  for (const auto& row : matrix)
    if (row.size() != k) throw std::invalid_argument("format_confusion_matrix: matrix is not square");
  if (!class_names.empty() && class_names.size() != k)
    throw std::invalid_argument("format_confusion_matrix: " + std::to_string(class_names.size()) +
                                " class names for " + std::to_string(k) + " classes");
  std::vector<std::string> names(k);
  for (size_t c = 0; c < k; ++c) names[c] = class_names.empty() ? std::to_string(c) : class_names[c];
  size_t width = std::string("true\\pred").size();
  for (size_t c = 0; c < k; ++c) {
    width = std::max(width, names[c].size());
    for (int64_t v : matrix[c]) width = std::max(width, std::to_string(v).size());
  }
  auto pad = [&](const std::string& s) { return std::string(width - s.size(), ' ') + s; };
  std::ostringstream out;
  out << pad("true\\pred");
  for (size_t c = 0; c < k; ++c) out << ' ' << pad(names[c]);
  out << '\n';
  for (size_t t = 0; t < k; ++t) {
    out << pad(names[t]);
    for (size_t p = 0; p < k; ++p) out << ' ' << pad(std::to_string(matrix[t][p]));
    out << '\n';
  }
  return out.str();
}

double rmse(const std::vector<double>& y, const std::vector<double>& yhat) {
  check_regression("rmse", y, yhat);
  double sum = 0;
  for (size_t i = 0; i < y.size(); ++i) sum += (y[i] - yhat[i]) * (y[i] - yhat[i]);
  return std::sqrt(sum / static_cast<double>(y.size()));
}

double mae(const std::vector<double>& y, const std::vector<double>& yhat) {
  check_regression("mae", y, yhat);
  double sum = 0;
  for (size_t i = 0; i < y.size(); ++i) sum += std::abs(y[i] - yhat[i]);
  return sum / static_cast<double>(y.size());
}

double r2_score(const std::vector<double>& y, const std::vector<double>& yhat) {
  check_regression("r2_score", y, yhat);
  double mean = 0;
  for (double v : y) mean += v;
  mean /= static_cast<double>(y.size());
  double ss_res = 0, ss_tot = 0;
  for (size_t i = 0; i < y.size(); ++i) {
    ss_res += (y[i] - yhat[i]) * (y[i] - yhat[i]);
    ss_tot += (y[i] - mean) * (y[i] - mean);
  }
  if (ss_tot == 0) return ss_res == 0 ? 1.0 : 0.0;
  return 1.0 - ss_res / ss_tot;
}

}  // namespace bp::eval
