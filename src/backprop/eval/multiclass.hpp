// Multi-class classification metrics and regression metrics, on plain vectors.
//
// Conventions:
//   labels:        std::vector<int> of length N, each a class index in [0, K).
//   probabilities: std::vector<double> of length N*K, row-major (N, K):
//                  probabilities[i*K + c] = P(class c | case i). Rows should sum to 1; log_loss
//                  renormalizes them (as scikit-learn 1.2 does), the others only use the order.
//   predicted:     std::vector<int> of length N, class indices (e.g. argmax_rows(probabilities)).
//
// Errors (std::invalid_argument): empty input, lengths that do not match N or N*K, K < 2, a
// label outside [0, K), a NaN/infinite value, a negative probability.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace bp::eval {

// Index of the largest value of every row of a row-major (N, K) matrix; the first one on ties
// (as numpy.argmax). Length N.
std::vector<int> argmax_rows(const std::vector<double>& probabilities, int num_classes);

// Fraction of cases with predicted[i] == labels[i].
double multiclass_accuracy(const std::vector<int>& labels, const std::vector<int>& predicted);
// Same, predicting the argmax of every row.
double multiclass_accuracy(const std::vector<int>& labels, const std::vector<double>& probabilities,
                           int num_classes);

// Mean negative log-likelihood in nats, as sklearn.metrics.log_loss(labels, probabilities,
// eps=epsilon, labels=range(K)): clip every probability to [epsilon, 1 - epsilon], renormalize
// every row to sum 1, then -(1/N) sum_i log p[i, labels[i]].
double log_loss(const std::vector<int>& labels, const std::vector<double>& probabilities, int num_classes,
                double epsilon = 1e-15);

// Unweighted mean over classes of the per-class F1 = 2TP / (2TP + FP + FN). Like scikit-learn's
// f1_score(average="macro") without a labels argument, the mean runs over the classes that occur
// in labels or in predicted (a class absent from both has no defined F1 and is left out).
double macro_f1(const std::vector<int>& labels, const std::vector<int>& predicted, int num_classes);

// One-vs-rest ROC AUC of every class c: roc_auc(column c, labels == c). Length K. Throws
// std::invalid_argument naming the class when a class is absent from labels or is every label.
std::vector<double> one_vs_rest_auc(const std::vector<int>& labels, const std::vector<double>& probabilities,
                                    int num_classes);

// Confusion matrix counts: result[t][p] = number of cases of true class t predicted as p
// (rows = true class, columns = predicted class). K x K.
std::vector<std::vector<int64_t>> confusion_matrix(const std::vector<int>& labels,
                                                   const std::vector<int>& predicted, int num_classes);

// The confusion matrix as aligned text, with a header row of predicted classes and a header
// column of true classes (class names default to their indices).
std::string format_confusion_matrix(const std::vector<std::vector<int64_t>>& matrix,
                                    const std::vector<std::string>& class_names = {});

// ---- Regression (targets and predictions of equal, non-zero length, all finite) ----

// sqrt(mean((y - yhat)^2))
double rmse(const std::vector<double>& targets, const std::vector<double>& predictions);
// mean(|y - yhat|)
double mae(const std::vector<double>& targets, const std::vector<double>& predictions);
// Coefficient of determination 1 - SS_res / SS_tot. When the targets are constant (SS_tot = 0)
// it returns 1 for a perfect prediction and 0 otherwise, like scikit-learn's r2_score.
double r2_score(const std::vector<double>& targets, const std::vector<double>& predictions);

}  // namespace bp::eval
