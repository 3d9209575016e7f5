#include "backprop/eval/study.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <sstream>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "backprop/eval/file_util.hpp"
#include "backprop/util/atomic_file.hpp"

namespace bp::eval {

namespace {

std::string fixed3(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", v);
  return buf;
}

std::string full_precision(double v) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

nlohmann::json metrics_json(const BinaryMetrics& m) {
  nlohmann::json j = nlohmann::json::object();
  for (Metric k : kAllMetrics) j[metric_name(k)] = m.get(k);
  return j;
}

double mean_of(const BinaryMetrics& m) {
  double sum = 0;
  for (Metric k : kAllMetrics) sum += m.get(k);
  return sum / kNumMetrics;
}

}  // namespace

BinaryMetrics baseline_metrics(double pi) {
  if (!(pi >= 0.0 && pi <= 1.0))
    throw std::invalid_argument("baseline_metrics: positive rate " + std::to_string(pi) + " is not in [0, 1]");
  BinaryMetrics b;
  b.acc = std::max(pi, 1.0 - pi);
  b.fsc = pi < 0.5 ? 0.0 : 2.0 * pi / (1.0 + pi);
  b.lft = 1.0;
  b.roc = 0.5;
  b.apr = pi;
  b.bep = pi;
  b.rms = std::sqrt(pi * (1.0 - pi));
  b.mxe = 0.0;  // entropy in bits; 0 log 0 = 0
  if (pi > 0.0) b.mxe -= pi * std::log2(pi);
  if (pi < 1.0) b.mxe -= (1.0 - pi) * std::log2(1.0 - pi);
  return b;
}

double normalized_score(double value, double baseline, double best) {
  if (std::abs(best - baseline) <= 1e-12 * std::max(1.0, std::abs(baseline)))
    throw std::invalid_argument("normalized_score: best value " + full_precision(best) + " equals the baseline " +
                                full_precision(baseline) + "; the normalized score is undefined");
  return (value - baseline) / (best - baseline);
}

StudyTable make_study_table(const std::vector<StudyRow>& rows) {
  if (rows.empty()) throw std::invalid_argument("make_study_table: no rows");
  StudyTable table;
  table.rows = rows;

  // Problems in order of first appearance; baseline and best per problem.
  std::map<std::string, size_t> problem_index;
  std::map<std::string, size_t> seen;  // "problem\nmodel\ncalibration" -> row, to catch duplicates
  for (size_t i = 0; i < rows.size(); ++i) {
    const StudyRow& r = rows[i];
    const std::string where = "make_study_table: row " + std::to_string(i) + " (" + r.problem + ", " + r.model +
                              ", " + r.calibration + "): ";
    if (r.problem.empty() || r.model.empty()) throw std::invalid_argument(where + "empty problem or model name");
    for (Metric m : kAllMetrics)
      if (!std::isfinite(r.metrics.get(m)))
        throw std::invalid_argument(where + metric_name(m) + " is not finite");
    const std::string key = r.problem + "\n" + r.model + "\n" + r.calibration;
    if (!seen.emplace(key, i).second)
      throw std::invalid_argument(where + "duplicates row " + std::to_string(seen[key]));
    auto it = problem_index.find(r.problem);
    if (it == problem_index.end()) {
      ProblemSummary p;
      p.problem = r.problem;
      p.positive_rate = r.positive_rate;
      p.baseline = baseline_metrics(r.positive_rate);
      p.best = r.metrics;
      problem_index.emplace(r.problem, table.problems.size());
      table.problems.push_back(p);
      continue;
    }
    ProblemSummary& p = table.problems[it->second];
    if (std::abs(p.positive_rate - r.positive_rate) > 1e-12)
      throw std::invalid_argument(where + "positive rate " + full_precision(r.positive_rate) + " differs from " +
                                  full_precision(p.positive_rate) + " in an earlier row of the same problem");
    for (Metric m : kAllMetrics) {
      const double v = r.metrics.get(m), b = p.best.get(m);
      p.best.set(m, higher_is_better(m) ? std::max(v, b) : std::min(v, b));
    }
  }

  // Normalize every row.
  for (const StudyRow& r : rows) {
    const ProblemSummary& p = table.problems[problem_index.at(r.problem)];
    BinaryMetrics n;
    for (Metric m : kAllMetrics) {
      try {
        n.set(m, normalized_score(r.metrics.get(m), p.baseline.get(m), p.best.get(m)));
      } catch (const std::invalid_argument&) {
        throw std::invalid_argument("make_study_table: on problem " + r.problem + " no model moved " + metric_name(m) +
                                    " off its baseline " + full_precision(p.baseline.get(m)) +
                                    ", so its normalized score is undefined; leave that problem out");
      }
    }
    table.normalized.push_back(n);
    table.row_means.push_back(mean_of(n));
  }

  // Average per model x calibration, lines in order of first appearance, then sorted by mean.
  std::map<std::string, size_t> line_index;
  for (size_t i = 0; i < rows.size(); ++i) {
    const std::string key = rows[i].model + "\n" + rows[i].calibration;
    auto it = line_index.find(key);
    if (it == line_index.end()) {
      it = line_index.emplace(key, table.lines.size()).first;
      StudyLine line;
      line.model = rows[i].model;
      line.calibration = rows[i].calibration;
      table.lines.push_back(line);
    }
    StudyLine& line = table.lines[it->second];
    for (Metric m : kAllMetrics) line.normalized.set(m, line.normalized.get(m) + table.normalized[i].get(m));
    line.problems += 1;
  }
  for (StudyLine& line : table.lines) {
    for (Metric m : kAllMetrics) line.normalized.set(m, line.normalized.get(m) / line.problems);
    line.mean = mean_of(line.normalized);
  }
  std::stable_sort(table.lines.begin(), table.lines.end(),
                   [](const StudyLine& a, const StudyLine& b) { return a.mean > b.mean; });
  return table;
}

std::string format_study_table(const StudyTable& table) {
  size_t model_w = 5, cal_w = 3;  // "MODEL", "CAL"
  for (const StudyLine& l : table.lines) {
    model_w = std::max(model_w, l.model.size());
    cal_w = std::max(cal_w, l.calibration.size());
  }
  auto left = [](const std::string& s, size_t w) { return s + std::string(w - s.size(), ' '); };
  auto right = [](const std::string& s, size_t w) { return s.size() >= w ? s : std::string(w - s.size(), ' ') + s; };
  constexpr size_t kNumW = 7;  // "-12.345"
  std::ostringstream out;
  out << left("MODEL", model_w) << "  " << left("CAL", cal_w);
  for (Metric m : kAllMetrics) out << ' ' << right(metric_name(m), kNumW);
  out << ' ' << right("MEAN", kNumW) << '\n';
  out << std::string(model_w + 2 + cal_w + (kNumMetrics + 1) * (kNumW + 1), '-') << '\n';
  for (const StudyLine& l : table.lines) {
    out << left(l.model, model_w) << "  " << left(l.calibration, cal_w);
    for (Metric m : kAllMetrics) out << ' ' << right(fixed3(l.normalized.get(m)), kNumW);
    out << ' ' << right(fixed3(l.mean), kNumW) << '\n';
  }
  return out.str();
}

std::string study_table_csv(const StudyTable& table) {
  std::ostringstream out;
  out << "model,calibration";
  for (Metric m : kAllMetrics) out << ',' << metric_name(m);
  out << ",MEAN,problems\n";
  for (const StudyLine& l : table.lines) {
    out << csv_field(l.model) << ',' << csv_field(l.calibration);
    for (Metric m : kAllMetrics) out << ',' << full_precision(l.normalized.get(m));
    out << ',' << full_precision(l.mean) << ',' << l.problems << '\n';
  }
  return out.str();
}

nlohmann::json study_table_json(const StudyTable& table) {
  nlohmann::json j;
  j["metrics"] = nlohmann::json::array();
  for (Metric m : kAllMetrics) j["metrics"].push_back(metric_name(m));
  j["problems"] = nlohmann::json::array();
  for (const ProblemSummary& p : table.problems)
    j["problems"].push_back({{"problem", p.problem},
                             {"positive_rate", p.positive_rate},
                             {"baseline", metrics_json(p.baseline)},
                             {"best", metrics_json(p.best)}});
  j["rows"] = nlohmann::json::array();
  for (size_t i = 0; i < table.rows.size(); ++i) {
    const StudyRow& r = table.rows[i];
    j["rows"].push_back({{"problem", r.problem},
                         {"model", r.model},
                         {"calibration", r.calibration},
                         {"positive_rate", r.positive_rate},
                         {"raw", metrics_json(r.metrics)},
                         {"normalized", metrics_json(table.normalized.at(i))},
                         {"mean", table.row_means.at(i)}});
  }
  j["table"] = nlohmann::json::array();
  for (const StudyLine& l : table.lines)
    j["table"].push_back({{"model", l.model},
                          {"calibration", l.calibration},
                          {"normalized", metrics_json(l.normalized)},
                          {"mean", l.mean},
                          {"problems", l.problems}});
  return j;
}

void write_study_table(const StudyTable& table, const std::string& path) {
  const std::string ext = detail::file_extension(path);
  std::string content;
  if (ext == ".txt") content = format_study_table(table);
  else if (ext == ".csv") content = study_table_csv(table);
  else if (ext == ".json") content = study_table_json(table).dump(2) + "\n";
  else
    throw std::invalid_argument("write_study_table: cannot tell the format of '" + path +
                                "' (use .txt, .csv or .json)");
  util::write_file_atomic(path, content);
}

}  // namespace bp::eval
