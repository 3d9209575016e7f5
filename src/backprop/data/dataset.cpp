#include "backprop/data/dataset.hpp"

#include <cmath>
#include <cstring>

namespace bp::data {

Dataset Dataset::subset(std::span<const int64_t> rows) const {
  const int64_t n = size(), d = num_features();
  Dataset out;
  out.task = task;
  out.feature_names = feature_names;
  out.class_names = class_names;
  const auto m = static_cast<int64_t>(rows.size());
  out.x = Tensor::empty({m, d});
  if (is_classification())
    out.labels.resize(rows.size());
  else
    out.targets = Tensor::empty({m, 1});
  for (int64_t i = 0; i < m; ++i) {
    const int64_t r = rows[i];
    if (r < 0 || r >= n)
      throw DataError("subset: row index " + std::to_string(r) + " out of range for a dataset of " +
                      std::to_string(n) + " rows");
    if (d) std::memcpy(out.x.data() + i * d, x.data() + r * d, sizeof(float) * d);
    if (is_classification())
      out.labels[i] = labels[r];
    else
      out.targets[i] = targets[r];
  }
  return out;
}

void Dataset::validate(std::string_view source) const {
  auto bad = [&](const std::string& msg) { fail(source, 0, msg); };
  if (!x.defined() || x.ndim() != 2) bad("features must be a 2-d tensor (n, d)");
  const int64_t n = x.dim(0), d = x.dim(1);
  if (static_cast<int64_t>(feature_names.size()) != d)
    bad(std::to_string(d) + " feature columns but " + std::to_string(feature_names.size()) + " feature names");
  for (int64_t i = 0; i < n * d; ++i)
    if (!std::isfinite(x[i]))
      bad("row " + std::to_string(i / d) + ": feature '" + feature_names[i % d] + "' is not finite");
  if (is_classification()) {
    if (static_cast<int64_t>(labels.size()) != n)
      bad(std::to_string(n) + " rows but " + std::to_string(labels.size()) + " labels");
    if (class_names.empty()) bad("classification data set without class names");
    if (task == Task::Binary && class_names.size() != 2)
      bad("binary task needs 2 classes, has " + std::to_string(class_names.size()));
    for (int64_t i = 0; i < n; ++i)
      if (labels[i] < 0 || labels[i] >= num_classes())
        bad("row " + std::to_string(i) + ": label " + std::to_string(labels[i]) + " out of range");
  } else {
    if (!targets.defined() || targets.numel() != n) bad("regression data set needs (n, 1) targets");
    for (int64_t i = 0; i < n; ++i)
      if (!std::isfinite(targets[i])) bad("row " + std::to_string(i) + ": target is not finite");
  }
}

}  // namespace bp::data
