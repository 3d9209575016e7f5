#include "backprop/eval/study.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <cstdio>
#include <map>
#include <numeric>
#include <random>
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

bool any_opt_sel(const StudyTable& t) {
  for (const StudyLine& l : t.lines)
    if (l.opt_sel) return true;
  return false;
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
      if (r.opt_sel)
        for (Metric m : kAllMetrics) {
          const double v = r.opt_sel->get(m), b = p.best.get(m);
          if (!std::isfinite(v)) throw std::invalid_argument(where + "OPT-SEL " + metric_name(m) + " is not finite");
          p.best.set(m, higher_is_better(m) ? std::max(v, b) : std::min(v, b));
        }
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
      if (r.opt_sel) {
        const double o = r.opt_sel->get(m), c = p.best.get(m);
        if (!std::isfinite(o)) throw std::invalid_argument(where + "OPT-SEL " + metric_name(m) + " is not finite");
        p.best.set(m, higher_is_better(m) ? std::max(o, c) : std::min(o, c));
      }
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
    if (r.opt_sel) {
      BinaryMetrics o;
      for (Metric m : kAllMetrics) o.set(m, (r.opt_sel->get(m) - p.baseline.get(m)) / (p.best.get(m) - p.baseline.get(m)));
      table.opt_sel_means.push_back(mean_of(o));
    } else {
      table.opt_sel_means.push_back(std::numeric_limits<double>::quiet_NaN());
    }
  }

  // Average per model x calibration, lines in order of first appearance, then sorted by mean.
  std::map<std::string, size_t> line_index;
  std::vector<double> opt_sums;
  std::vector<int> opt_counts;
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
    opt_sums.resize(table.lines.size(), 0.0);
    opt_counts.resize(table.lines.size(), 0);
    if (rows[i].opt_sel) {
      opt_sums[it->second] += table.opt_sel_means[i];
      opt_counts[it->second] += 1;
    }
  }
  for (size_t k = 0; k < table.lines.size(); ++k) {
    StudyLine& line = table.lines[k];
    for (Metric m : kAllMetrics) line.normalized.set(m, line.normalized.get(m) / line.problems);
    line.mean = mean_of(line.normalized);
    if (opt_counts[k] == line.problems) line.opt_sel = opt_sums[k] / line.problems;
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
  const bool opt = any_opt_sel(table);
  std::ostringstream out;
  out << left("MODEL", model_w) << "  " << left("CAL", cal_w);
  for (Metric m : kAllMetrics) out << ' ' << right(metric_name(m), kNumW);
  out << ' ' << right("MEAN", kNumW);
  if (opt) out << ' ' << right("OPT-SEL", kNumW);
  out << '\n';
  out << std::string(model_w + 2 + cal_w + (kNumMetrics + 1 + (opt ? 1 : 0)) * (kNumW + 1), '-') << '\n';
  for (const StudyLine& l : table.lines) {
    out << left(l.model, model_w) << "  " << left(l.calibration, cal_w);
    for (Metric m : kAllMetrics) out << ' ' << right(fixed3(l.normalized.get(m)), kNumW);
    out << ' ' << right(fixed3(l.mean), kNumW);
    if (opt) out << ' ' << right(l.opt_sel ? fixed3(*l.opt_sel) : "-", kNumW);
    out << '\n';
  }
  return out.str();
}

std::string study_table_csv(const StudyTable& table) {
  std::ostringstream out;
  out << "model,calibration";
  for (Metric m : kAllMetrics) out << ',' << metric_name(m);
  const bool opt = any_opt_sel(table);
  out << ",MEAN,problems" << (opt ? ",OPT-SEL" : "") << "\n";
  for (const StudyLine& l : table.lines) {
    out << csv_field(l.model) << ',' << csv_field(l.calibration);
    for (Metric m : kAllMetrics) out << ',' << full_precision(l.normalized.get(m));
    out << ',' << full_precision(l.mean) << ',' << l.problems;
    if (opt) out << ',' << (l.opt_sel ? full_precision(*l.opt_sel) : "");
    out << '\n';
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
    if (r.opt_sel) {
      j["rows"].back()["opt_sel_raw"] = metrics_json(*r.opt_sel);
      j["rows"].back()["opt_sel"] = table.opt_sel_means.at(i);
    }
  }
  j["table"] = nlohmann::json::array();
  for (const StudyLine& l : table.lines)
    j["table"].push_back({{"model", l.model},
                          {"calibration", l.calibration},
                          {"normalized", metrics_json(l.normalized)},
                          {"mean", l.mean},
                          {"problems", l.problems}});
  for (size_t i = 0; i < table.lines.size(); ++i)
    if (table.lines[i].opt_sel) j["table"][i]["opt_sel"] = *table.lines[i].opt_sel;
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

// ---- Against the paper.

const std::vector<PaperRow>& paper_table2() {
  // shared/reference/evaluation.md, "Table 2's top rows, as published": ACC FSC LFT ROC APR
  // BEP RMS MXE, MEAN, OPT-SEL. "—" (no calibration) is NONE here, PLT is PLATT.
  struct Raw {
    const char* model;
    const char* cal;
    double v[10];
  };
  static const Raw raw[] = {
      {"BST-DT", "PLATT", {.843, .779, .939, .963, .938, .929, .880, .896, .896, .917}},
      {"RF", "PLATT", {.872, .805, .934, .957, .931, .930, .851, .858, .892, .898}},
      {"BAG-DT", "NONE", {.846, .781, .938, .962, .937, .918, .845, .872, .887, .899}},
      {"BST-DT", "ISO", {.826, .860, .929, .952, .921, .925, .854, .815, .885, .917}},
      {"RF", "NONE", {.872, .790, .934, .957, .931, .930, .829, .830, .884, .890}},
      {"BAG-DT", "PLATT", {.841, .774, .938, .962, .937, .918, .836, .852, .882, .895}},
      {"RF", "ISO", {.861, .861, .923, .946, .910, .925, .836, .776, .880, .895}},
      {"BAG-DT", "ISO", {.826, .843, .933, .954, .921, .915, .832, .791, .877, .894}},
      {"SVM", "PLATT", {.824, .760, .895, .938, .898, .913, .831, .836, .862, .880}},
      {"ANN", "NONE", {.803, .762, .910, .936, .892, .899, .811, .821, .854, .885}},
      {"SVM", "ISO", {.813, .836, .892, .925, .882, .911, .814, .744, .852, .882}},
      {"ANN", "PLATT", {.815, .748, .910, .936, .892, .899, .783, .785, .846, .875}},
      {"ANN", "ISO", {.803, .836, .908, .924, .876, .891, .777, .718, .842, .884}},
      {"BST-DT", "NONE", {.834, .816, .939, .963, .938, .929, .598, .605, .828, .851}},
      {"KNN", "PLATT", {.757, .707, .889, .918, .872, .872, .742, .764, .815, .837}},
      {"KNN", "NONE", {.756, .728, .889, .918, .872, .872, .729, .718, .810, .830}},
      {"KNN", "ISO", {.755, .758, .882, .907, .854, .869, .738, .706, .809, .844}},
      {"BST-STMP", "PLATT", {.724, .651, .876, .908, .853, .845, .716, .754, .791, .808}},
      {"SVM", "NONE", {.817, .804, .895, .938, .899, .913, .514, .467, .781, .810}},
      {"BST-STMP", "ISO", {.709, .744, .873, .899, .835, .840, .695, .646, .780, .810}},
      {"BST-STMP", "NONE", {.741, .684, .876, .908, .853, .845, .394, .382, .710, .726}},
      {"DT", "ISO", {.648, .654, .818, .838, .756, .778, .590, .589, .709, .774}},
  };
  static const std::vector<PaperRow> rows = [] {
    std::vector<PaperRow> out;
    for (const Raw& r : raw) {
      PaperRow p;
      p.model = r.model;
      p.calibration = r.cal;
      for (int k = 0; k < kNumMetrics; ++k) p.normalized.set(kAllMetrics[k], r.v[k]);
      p.mean = r.v[8];
      p.opt_sel = r.v[9];
      out.push_back(p);
    }
    return out;
  }();
  return rows;
}

const PaperRow* paper_row(const std::string& model, const std::string& calibration) {
  for (const PaperRow& p : paper_table2())
    if (p.model == model && p.calibration == calibration) return &p;
  return nullptr;
}

namespace {
// Ranks 1..n, ties sharing their mean rank.
std::vector<double> mean_ranks(const std::vector<double>& v) {
  std::vector<size_t> order(v.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return v[a] < v[b]; });
  std::vector<double> r(v.size());
  for (size_t i = 0; i < order.size();) {
    size_t j = i;
    while (j + 1 < order.size() && v[order[j + 1]] == v[order[i]]) ++j;
    const double rank = (static_cast<double>(i) + static_cast<double>(j)) / 2.0 + 1.0;
    for (size_t k = i; k <= j; ++k) r[order[k]] = rank;
    i = j + 1;
  }
  return r;
}
}  // namespace

double spearman(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.size() != b.size()) throw std::invalid_argument("spearman: samples of different lengths");
  if (a.size() < 2) throw std::invalid_argument("spearman: fewer than 2 values");
  for (size_t i = 0; i < a.size(); ++i)
    if (!std::isfinite(a[i]) || !std::isfinite(b[i])) throw std::invalid_argument("spearman: a value is not finite");
  const std::vector<double> ra = mean_ranks(a), rb = mean_ranks(b);
  const double n = static_cast<double>(a.size()), mean = (n + 1) / 2;
  double sab = 0, saa = 0, sbb = 0;
  for (size_t i = 0; i < ra.size(); ++i) {
    sab += (ra[i] - mean) * (rb[i] - mean);
    saa += (ra[i] - mean) * (ra[i] - mean);
    sbb += (rb[i] - mean) * (rb[i] - mean);
  }
  if (saa == 0 || sbb == 0) throw std::invalid_argument("spearman: all values of a sample are equal");
  return sab / std::sqrt(saa * sbb);
}

PaperComparison compare_with_paper(const StudyTable& table) {
  PaperComparison c;
  std::vector<double> ours, theirs;
  for (const StudyLine& l : table.lines)
    if (const PaperRow* p = paper_row(l.model, l.calibration)) {
      c.lines.push_back({l.model, l.calibration, l.mean, p->mean});
      ours.push_back(l.mean);
      theirs.push_back(p->mean);
    }
  if (c.lines.size() >= 3) {
    try {
      c.rho = spearman(ours, theirs);
    } catch (const std::invalid_argument&) {  // every shared MEAN equal: no ordering to compare
    }
  }
  return c;
}

BootstrapRanks bootstrap_ranks(const StudyTable& table, int samples, uint64_t seed) {
  if (samples < 1) throw std::invalid_argument("bootstrap_ranks: samples must be at least 1");
  BootstrapRanks b;
  b.samples = samples;
  std::vector<const StudyLine*> chosen;  // each model's best line: lines are sorted by MEAN
  for (const StudyLine& l : table.lines)
    if (std::find(b.models.begin(), b.models.end(), l.model) == b.models.end()) {
      b.models.push_back(l.model);
      b.calibrations.push_back(l.calibration);
      chosen.push_back(&l);
    }
  const size_t P = table.problems.size(), L = b.models.size();
  // score[l][p][m]: normalized score of learner l's chosen line on problem p, metric m.
  std::vector<std::vector<BinaryMetrics>> score(L, std::vector<BinaryMetrics>(P));
  std::vector<std::vector<bool>> have(L, std::vector<bool>(P, false));
  std::map<std::string, size_t> pindex;
  for (size_t p = 0; p < P; ++p) pindex[table.problems[p].problem] = p;
  for (size_t i = 0; i < table.rows.size(); ++i)
    for (size_t l = 0; l < L; ++l)
      if (table.rows[i].model == b.models[l] && table.rows[i].calibration == b.calibrations[l]) {
        const size_t p = pindex.at(table.rows[i].problem);
        score[l][p] = table.normalized[i];
        have[l][p] = true;
      }
  for (size_t l = 0; l < L; ++l)
    for (size_t p = 0; p < P; ++p)
      if (!have[l][p])
        throw std::invalid_argument("bootstrap_ranks: " + b.models[l] + " " + b.calibrations[l] + " has no row on " +
                                    table.problems[p].problem);
  b.counts.assign(L, std::vector<int>(L, 0));
  std::mt19937_64 rng(seed);
  std::vector<size_t> probs(P), mets(kNumMetrics);
  std::vector<double> s(L);
  std::vector<size_t> order(L);
  for (int it = 0; it < samples; ++it) {
    for (size_t& p : probs) p = static_cast<size_t>(rng() % P);
    for (size_t& m : mets) m = static_cast<size_t>(rng() % kNumMetrics);
    for (size_t l = 0; l < L; ++l) {
      double sum = 0;
      for (size_t p : probs)
        for (size_t m : mets) sum += score[l][p].get(kAllMetrics[m]);
      s[l] = sum;
    }
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t c) { return s[a] > s[c]; });
    for (size_t r = 0; r < L; ++r) b.counts[order[r]][r] += 1;
  }
  return b;
}

namespace {
std::string pad_left(const std::string& s, size_t w) { return s + std::string(w > s.size() ? w - s.size() : 0, ' '); }
std::string pad_right(const std::string& s, size_t w) { return std::string(w > s.size() ? w - s.size() : 0, ' ') + s; }
}  // namespace

std::string format_table_with_paper(const StudyTable& table) {
  constexpr size_t kW = 7;
  size_t mw = 8, cw = 5;
  for (const StudyLine& l : table.lines) {
    mw = std::max(mw, l.model.size());
    cw = std::max(cw, l.calibration.size());
  }
  std::ostringstream out;
  out << pad_left("MODEL", mw) << "  " << pad_left("CAL", cw);
  for (Metric m : kAllMetrics) out << ' ' << pad_right(metric_name(m), kW);
  out << ' ' << pad_right("MEAN", kW) << ' ' << pad_right("OPT-SEL", kW) << '\n';
  out << std::string(mw + 2 + cw + (kNumMetrics + 2) * (kW + 1), '-') << '\n';
  for (const StudyLine& l : table.lines) {
    out << pad_left(l.model, mw) << "  " << pad_left(l.calibration, cw);
    for (Metric m : kAllMetrics) out << ' ' << pad_right(fixed3(l.normalized.get(m)), kW);
    out << ' ' << pad_right(fixed3(l.mean), kW) << ' ' << pad_right(l.opt_sel ? fixed3(*l.opt_sel) : "-", kW) << '\n';
    if (const PaperRow* p = paper_row(l.model, l.calibration)) {
      out << pad_left("  paper", mw) << "  " << pad_left("", cw);
      for (Metric m : kAllMetrics) out << ' ' << pad_right(fixed3(p->normalized.get(m)), kW);
      out << ' ' << pad_right(fixed3(p->mean), kW) << ' ' << pad_right(fixed3(p->opt_sel), kW) << '\n';
    } else {
      out << pad_left("  paper", mw) << "  " << "(no published row in the reference)\n";
    }
  }
  return out.str();
}

std::string format_problem_tables(const StudyTable& table) {
  std::ostringstream out;
  for (const ProblemSummary& p : table.problems) {
    std::vector<size_t> idx;
    for (size_t i = 0; i < table.rows.size(); ++i)
      if (table.rows[i].problem == p.problem) idx.push_back(i);
    std::stable_sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return table.row_means[a] > table.row_means[b]; });
    size_t mw = 8, cw = 5;
    for (size_t i : idx) {
      mw = std::max(mw, table.rows[i].model.size());
      cw = std::max(cw, table.rows[i].calibration.size());
    }
    out << p.problem << " (test positive rate " << fixed3(p.positive_rate) << "), normalized scores\n";
    out << pad_left("MODEL", mw) << "  " << pad_left("CAL", cw);
    for (Metric m : kAllMetrics) out << ' ' << pad_right(metric_name(m), 7);
    out << ' ' << pad_right("MEAN", 7) << ' ' << pad_right("OPT-SEL", 7) << '\n';
    for (size_t i : idx) {
      out << pad_left(table.rows[i].model, mw) << "  " << pad_left(table.rows[i].calibration, cw);
      for (Metric m : kAllMetrics) out << ' ' << pad_right(fixed3(table.normalized[i].get(m)), 7);
      out << ' ' << pad_right(fixed3(table.row_means[i]), 7) << ' '
          << pad_right(std::isfinite(table.opt_sel_means[i]) ? fixed3(table.opt_sel_means[i]) : "-", 7) << '\n';
    }
    out << pad_left("raw best", mw) << "  " << pad_left("", cw);
    for (Metric m : kAllMetrics) out << ' ' << pad_right(fixed3(p.best.get(m)), 7);
    out << '\n' << pad_left("baseline", mw) << "  " << pad_left("", cw);
    for (Metric m : kAllMetrics) out << ' ' << pad_right(fixed3(p.baseline.get(m)), 7);
    out << "\n\n";
  }
  return out.str();
}

std::string format_bootstrap(const BootstrapRanks& b) {
  std::ostringstream out;
  size_t mw = 8;
  for (const std::string& m : b.models) mw = std::max(mw, m.size() + 1 + 5);
  out << pad_left("MODEL", mw);
  for (size_t r = 0; r < b.models.size(); ++r) out << ' ' << pad_right(std::to_string(r + 1), 5);
  out << '\n';
  for (size_t l = 0; l < b.models.size(); ++l) {
    out << pad_left(b.models[l] + " " + b.calibrations[l], mw);
    for (int c : b.counts[l]) {
      char buf[16];
      std::snprintf(buf, sizeof buf, "%.3f", static_cast<double>(c) / b.samples);
      out << ' ' << pad_right(c == 0 ? "0" : buf, 5);
    }
    out << '\n';
  }
  return out.str();
}

std::string format_paper_comparison(const PaperComparison& c) {
  std::ostringstream out;
  if (c.lines.empty()) return "no line of this table has a published row in the reference\n";
  out << "MEAN, ours against the paper's, on the " << c.lines.size() << " lines both have:\n";
  for (const PaperComparison::Line& l : c.lines)
    out << "  " << pad_left(l.model + " " + l.calibration, 16) << ' ' << fixed3(l.ours) << "  paper " << fixed3(l.paper)
        << '\n';
  if (c.rho) out << "Spearman rank correlation of the two orderings: " << fixed3(*c.rho) << '\n';
  else out << "Spearman rank correlation: undefined (fewer than 3 shared lines, or equal means)\n";
  return out.str();
}

}  // namespace bp::eval
