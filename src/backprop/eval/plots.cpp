#include "backprop/eval/plots.hpp"

#include <cairo-svg.h>
#include <cairo.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <stdexcept>

#include "backprop/eval/file_util.hpp"
#include "backprop/util/atomic_file.hpp"
#include "backprop/eval/metrics.hpp"

namespace bp::eval {

namespace {

// matplotlib's "tab10" colours, so the pictures look familiar next to Python ones.
constexpr double kPalette[][3] = {{0.122, 0.467, 0.706}, {1.000, 0.498, 0.055}, {0.173, 0.627, 0.173},
                                  {0.839, 0.153, 0.157}, {0.580, 0.404, 0.741}, {0.549, 0.337, 0.294},
                                  {0.890, 0.467, 0.761}, {0.498, 0.498, 0.498}, {0.737, 0.741, 0.133},
                                  {0.090, 0.745, 0.812}};
constexpr int kPaletteSize = 10;

void set_colour(cairo_t* cr, size_t series) {
  const double* c = kPalette[series % kPaletteSize];
  cairo_set_source_rgb(cr, c[0], c[1], c[2]);
}

std::string format_number(const char* fmt, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, fmt, v);
  return buf;
}

// A rectangle of the picture showing the data range [x_min, x_max] x [y_min, y_max].
struct Panel {
  double left, top, width, height;
  double x_min, x_max, y_min, y_max;
  double px(double x) const { return left + (x - x_min) / (x_max - x_min) * width; }
  double py(double y) const { return top + height - (y - y_min) / (y_max - y_min) * height; }
};

enum class Align { Left, Center, Right };

// Draws text with its reference point at (x, y): horizontally aligned as asked, vertically centred.
void draw_text(cairo_t* cr, const std::string& s, double x, double y, Align align, double size, bool bold = false) {
  cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL,
                         bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size(cr, size);
  cairo_text_extents_t e;
  cairo_text_extents(cr, s.c_str(), &e);
  double dx = -e.x_bearing;
  if (align == Align::Center) dx -= e.width / 2;
  if (align == Align::Right) dx -= e.width;
  cairo_move_to(cr, x + dx, y - e.y_bearing - e.height / 2);
  cairo_show_text(cr, s.c_str());
}

// Text rotated by -90 degrees (reading upwards), centred at (x, y): for y-axis labels.
void draw_vertical_text(cairo_t* cr, const std::string& s, double x, double y, double size) {
  cairo_save(cr);
  cairo_translate(cr, x, y);
  cairo_rotate(cr, -M_PI / 2);
  draw_text(cr, s, 0, 0, Align::Center, size);
  cairo_restore(cr);
}

// Light grid, frame and tick labels of a panel. x labels are drawn only when asked (a panel
// stacked above another shares the lower one's labels).
void draw_axes(cairo_t* cr, const Panel& p, const std::vector<double>& x_ticks, const char* x_fmt,
               const std::vector<double>& y_ticks, const char* y_fmt, bool x_labels) {
  cairo_set_line_width(cr, 1.0);
  cairo_set_source_rgb(cr, 0.9, 0.9, 0.9);
  for (double t : x_ticks) {
    cairo_move_to(cr, p.px(t), p.top);
    cairo_line_to(cr, p.px(t), p.top + p.height);
  }
  for (double t : y_ticks) {
    cairo_move_to(cr, p.left, p.py(t));
    cairo_line_to(cr, p.left + p.width, p.py(t));
  }
  cairo_stroke(cr);

  cairo_set_source_rgb(cr, 0, 0, 0);
  cairo_rectangle(cr, p.left, p.top, p.width, p.height);
  cairo_stroke(cr);
  constexpr double kTick = 5;
  for (double t : x_ticks) {
    cairo_move_to(cr, p.px(t), p.top + p.height);
    cairo_line_to(cr, p.px(t), p.top + p.height + kTick);
  }
  for (double t : y_ticks) {
    cairo_move_to(cr, p.left - kTick, p.py(t));
    cairo_line_to(cr, p.left, p.py(t));
  }
  cairo_stroke(cr);
  if (x_labels)
    for (double t : x_ticks) draw_text(cr, format_number(x_fmt, t), p.px(t), p.top + p.height + 16, Align::Center, 11);
  for (double t : y_ticks) draw_text(cr, format_number(y_fmt, t), p.left - 8, p.py(t), Align::Right, 11);
}

void draw_diagonal(cairo_t* cr, const Panel& p) {
  const double dashes[] = {6.0, 4.0};
  cairo_save(cr);
  cairo_set_source_rgb(cr, 0.45, 0.45, 0.45);
  cairo_set_line_width(cr, 1.2);
  cairo_set_dash(cr, dashes, 2, 0);
  cairo_move_to(cr, p.px(0), p.py(0));
  cairo_line_to(cr, p.px(1), p.py(1));
  cairo_stroke(cr);
  cairo_restore(cr);
}

struct LegendEntry {
  std::string text;
  int colour;  // palette index, or -1 for the dashed grey reference line
};

// A legend box in a corner of the panel (top-left when top_left, else bottom-right).
void draw_legend(cairo_t* cr, const Panel& p, const std::vector<LegendEntry>& entries, bool top_left) {
  if (entries.empty()) return;
  constexpr double kSize = 11, kLine = 18, kSwatch = 22, kPad = 8;
  cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size(cr, kSize);
  double text_w = 0;
  for (const LegendEntry& e : entries) {
    cairo_text_extents_t ext;
    cairo_text_extents(cr, e.text.c_str(), &ext);
    text_w = std::max(text_w, ext.x_advance);
  }
  const double w = kPad * 3 + kSwatch + text_w, h = kPad * 2 + kLine * static_cast<double>(entries.size());
  const double x = top_left ? p.left + 10 : p.left + p.width - 10 - w;
  const double y = top_left ? p.top + 10 : p.top + p.height - 10 - h;
  cairo_rectangle(cr, x, y, w, h);
  cairo_set_source_rgba(cr, 1, 1, 1, 0.9);
  cairo_fill_preserve(cr);
  cairo_set_source_rgb(cr, 0.75, 0.75, 0.75);
  cairo_set_line_width(cr, 1);
  cairo_stroke(cr);
  for (size_t i = 0; i < entries.size(); ++i) {
    const double cy = y + kPad + kLine * (static_cast<double>(i) + 0.5);
    cairo_save(cr);
    if (entries[i].colour < 0) {
      const double dashes[] = {6.0, 4.0};
      cairo_set_source_rgb(cr, 0.45, 0.45, 0.45);
      cairo_set_dash(cr, dashes, 2, 0);
    } else {
      set_colour(cr, static_cast<size_t>(entries[i].colour));
    }
    cairo_set_line_width(cr, 2);
    cairo_move_to(cr, x + kPad, cy);
    cairo_line_to(cr, x + kPad + kSwatch, cy);
    cairo_stroke(cr);
    cairo_restore(cr);
    cairo_set_source_rgb(cr, 0, 0, 0);
    draw_text(cr, entries[i].text, x + kPad * 2 + kSwatch, cy, Align::Left, kSize);
  }
}

// Ticks at 1, 2 or 5 times a power of ten covering [0, max_value] with about `target` intervals.
std::vector<double> nice_ticks(double max_value, int target) {
  if (max_value <= 0) return {0, 1};
  const double raw = max_value / target;
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  double step = magnitude;
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (m * magnitude >= raw) {
      step = m * magnitude;
      break;
    }
  std::vector<double> ticks;
  const int count = static_cast<int>(std::ceil(max_value / step - 1e-9));
  for (int i = 0; i <= count; ++i) ticks.push_back(step * i);
  return ticks;
}

std::vector<double> unit_ticks() { return {0, 0.2, 0.4, 0.6, 0.8, 1.0}; }

// Probability axes run a little past [0, 1] so points and lines on the edges stay visible.
constexpr double kUnitLow = -0.03, kUnitHigh = 1.03;

// Creates the surface for path's format, lets `draw` paint on it, and writes the file
// atomically. The data must be validated before: nothing here throws std::invalid_argument
// except for the extension.
void render_to_file(const std::string& path, int width, int height, const std::function<void(cairo_t*)>& draw) {
  const std::string ext = detail::file_extension(path);
  if (ext != ".png" && ext != ".svg")
    throw std::invalid_argument("cannot tell the picture format of '" + path + "' (use .png or .svg)");
  // Cairo renders into memory (its stream interface); the file is then written by the
  // program's one atomic writer.
  std::string bytes;
  const cairo_write_func_t append = [](void* closure, const unsigned char* data, unsigned int length) {
    static_cast<std::string*>(closure)->append(reinterpret_cast<const char*>(data), length);
    return CAIRO_STATUS_SUCCESS;
  };
  cairo_surface_t* surface = ext == ".png" ? cairo_image_surface_create(CAIRO_FORMAT_ARGB32, width, height)
                                           : cairo_svg_surface_create_for_stream(append, &bytes, width, height);
  cairo_status_t status = cairo_surface_status(surface);
  if (status != CAIRO_STATUS_SUCCESS) {
    cairo_surface_destroy(surface);
    throw std::runtime_error("cannot write '" + path + "': " + cairo_status_to_string(status));
  }
  cairo_t* cr = cairo_create(surface);
  cairo_set_source_rgb(cr, 1, 1, 1);
  cairo_paint(cr);
  draw(cr);
  status = cairo_status(cr);
  cairo_destroy(cr);
  if (status == CAIRO_STATUS_SUCCESS) {
    if (ext == ".png") status = cairo_surface_write_to_png_stream(surface, append, &bytes);
    cairo_surface_finish(surface);  // flushes the SVG
    if (status == CAIRO_STATUS_SUCCESS) status = cairo_surface_status(surface);
  }
  cairo_surface_destroy(surface);
  if (status != CAIRO_STATUS_SUCCESS)
    throw std::runtime_error("cannot write '" + path + "': " + cairo_status_to_string(status));
  util::write_file_atomic(path, bytes);
}

void check_series(const char* what, const std::vector<PlotSeries>& series) {
  if (series.empty()) throw std::invalid_argument(std::string(what) + ": no series to plot");
}

}  // namespace

std::vector<ReliabilityBin> reliability_curve(const std::vector<double>& p, const std::vector<int>& y, int num_bins) {
  if (num_bins < 1) throw std::invalid_argument("reliability_curve: need at least one bin, got " + std::to_string(num_bins));
  check_binary_inputs("reliability_curve", p, y, /*probabilities=*/true);
  const double nb = num_bins;
  std::vector<ReliabilityBin> bins(num_bins);
  for (int b = 0; b < num_bins; ++b) {
    bins[b].lower = b / nb;
    bins[b].upper = (b + 1) / nb;
  }
  for (size_t i = 0; i < p.size(); ++i) {
    // floor(p * nb), corrected so that the bin agrees with the edges b / nb exactly.
    int b = std::min(static_cast<int>(p[i] * nb), num_bins - 1);
    while (b > 0 && p[i] < b / nb) --b;
    while (b + 1 < num_bins && p[i] >= (b + 1) / nb) ++b;
    bins[b].mean_predicted += p[i];
    bins[b].fraction_positive += y[i];
    bins[b].count += 1;
  }
  std::vector<ReliabilityBin> out;
  for (ReliabilityBin& bin : bins) {
    if (bin.count == 0) continue;
    bin.mean_predicted /= static_cast<double>(bin.count);
    bin.fraction_positive /= static_cast<double>(bin.count);
    out.push_back(bin);
  }
  return out;
}

void plot_reliability_diagram(const std::string& path, const std::vector<PlotSeries>& series,
                              const PlotOptions& options) {
  check_series("plot_reliability_diagram", series);
  std::vector<std::vector<ReliabilityBin>> curves;
  for (const PlotSeries& s : series) curves.push_back(reliability_curve(s.predictions, s.labels, options.num_bins));
  const int width = options.width > 0 ? options.width : 640, height = options.height > 0 ? options.height : 640;
  const std::string title = options.title.empty() ? "Reliability diagram" : options.title;

  render_to_file(path, width, height, [&](cairo_t* cr) {
    // Layout: title, main panel (about 70 %), gap, counts panel, x label.
    const double left = 72, right = 24, top = 44, bottom = 52, gap = 14;
    const double inner_h = height - top - bottom - gap;
    const Panel main{left, top, width - left - right, inner_h * 0.72, kUnitLow, kUnitHigh, kUnitLow, kUnitHigh};
    int64_t max_count = 0;
    for (const auto& c : curves)
      for (const ReliabilityBin& b : c) max_count = std::max(max_count, b.count);
    const std::vector<double> count_ticks = nice_ticks(static_cast<double>(max_count), 3);
    const Panel counts{left, top + main.height + gap, main.width, inner_h - main.height,
                       kUnitLow, kUnitHigh, 0, count_ticks.back()};

    cairo_set_source_rgb(cr, 0, 0, 0);
    draw_text(cr, title, width / 2.0, top / 2.0, Align::Center, 15, true);
    draw_axes(cr, main, unit_ticks(), "%.1f", unit_ticks(), "%.1f", false);
    draw_axes(cr, counts, unit_ticks(), "%.1f", count_ticks, "%.0f", true);
    draw_diagonal(cr, main);

    // Calibration curves, clipped to the panel.
    cairo_save(cr);
    cairo_rectangle(cr, main.left, main.top, main.width, main.height);
    cairo_clip(cr);
    for (size_t s = 0; s < curves.size(); ++s) {
      set_colour(cr, s);
      cairo_set_line_width(cr, 2);
      for (size_t i = 0; i < curves[s].size(); ++i) {
        const double x = main.px(curves[s][i].mean_predicted), yv = main.py(curves[s][i].fraction_positive);
        if (i == 0) cairo_move_to(cr, x, yv);
        else cairo_line_to(cr, x, yv);
      }
      cairo_stroke(cr);
      for (const ReliabilityBin& b : curves[s]) {
        cairo_arc(cr, main.px(b.mean_predicted), main.py(b.fraction_positive), 3.5, 0, 2 * M_PI);
        cairo_fill(cr);
      }
    }
    cairo_restore(cr);

    // Bin counts: in every bin, one bar per series side by side.
    const double bar_w = 1.0 / options.num_bins / static_cast<double>(curves.size());
    for (size_t s = 0; s < curves.size(); ++s) {
      set_colour(cr, s);
      for (const ReliabilityBin& b : curves[s]) {
        const double x0 = counts.px(b.lower + bar_w * static_cast<double>(s)), x1 = counts.px(b.lower + bar_w * (s + 1.0));
        const double y0 = counts.py(0), y1 = counts.py(static_cast<double>(b.count));
        cairo_rectangle(cr, x0 + 0.5, y1, std::max(0.5, x1 - x0 - 1.0), y0 - y1);
        cairo_fill(cr);
      }
    }

    cairo_set_source_rgb(cr, 0, 0, 0);
    draw_text(cr, "Mean predicted probability", main.left + main.width / 2, height - 16, Align::Center, 13);
    draw_vertical_text(cr, "Fraction of positives", 20, main.top + main.height / 2, 13);
    draw_vertical_text(cr, "Count", 20, counts.top + counts.height / 2, 13);

    std::vector<LegendEntry> legend{{"Perfectly calibrated", -1}};
    for (size_t s = 0; s < series.size(); ++s)
      if (!series[s].name.empty()) legend.push_back({series[s].name, static_cast<int>(s)});
    draw_legend(cr, main, legend, true);
  });
}

void plot_reliability_diagram(const std::string& path, const std::vector<double>& probabilities,
                              const std::vector<int>& labels, const PlotOptions& options) {
  plot_reliability_diagram(path, {PlotSeries{"", probabilities, labels}}, options);
}

void plot_roc_curve(const std::string& path, const std::vector<PlotSeries>& series, const PlotOptions& options) {
  check_series("plot_roc_curve", series);
  std::vector<RocCurve> curves;
  std::vector<double> aucs;
  for (const PlotSeries& s : series) {
    curves.push_back(roc_curve(s.predictions, s.labels));
    aucs.push_back(roc_auc(s.predictions, s.labels));
  }
  const int width = options.width > 0 ? options.width : 600, height = options.height > 0 ? options.height : 560;
  const std::string title = options.title.empty() ? "ROC curve" : options.title;

  render_to_file(path, width, height, [&](cairo_t* cr) {
    const double left = 72, right = 24, top = 44, bottom = 52;
    const Panel panel{left, top, width - left - right, height - top - bottom, kUnitLow, kUnitHigh, kUnitLow, kUnitHigh};
    cairo_set_source_rgb(cr, 0, 0, 0);
    draw_text(cr, title, width / 2.0, top / 2.0, Align::Center, 15, true);
    draw_axes(cr, panel, unit_ticks(), "%.1f", unit_ticks(), "%.1f", true);
    draw_diagonal(cr, panel);
    for (size_t s = 0; s < curves.size(); ++s) {
      set_colour(cr, s);
      cairo_set_line_width(cr, 2);
      for (size_t i = 0; i < curves[s].fpr.size(); ++i) {
        const double x = panel.px(curves[s].fpr[i]), yv = panel.py(curves[s].tpr[i]);
        if (i == 0) cairo_move_to(cr, x, yv);
        else cairo_line_to(cr, x, yv);
      }
      cairo_stroke(cr);
    }
    cairo_set_source_rgb(cr, 0, 0, 0);
    draw_text(cr, "False positive rate", panel.left + panel.width / 2, height - 16, Align::Center, 13);
    draw_vertical_text(cr, "True positive rate", 20, panel.top + panel.height / 2, 13);

    std::vector<LegendEntry> legend;
    for (size_t s = 0; s < series.size(); ++s) {
      const std::string auc = "AUC = " + format_number("%.3f", aucs[s]);
      legend.push_back({series[s].name.empty() ? auc : series[s].name + " (" + auc + ")", static_cast<int>(s)});
    }
    legend.push_back({"Chance", -1});
    draw_legend(cr, panel, legend, false);
  });
}

void plot_roc_curve(const std::string& path, const std::vector<double>& scores, const std::vector<int>& labels,
                    const PlotOptions& options) {
  plot_roc_curve(path, {PlotSeries{"", scores, labels}}, options);
}

void plot_scatter(const std::string& path, const std::vector<ScatterPoint>& points,
                  const std::vector<std::string>& group_names, const std::string& x_label,
                  const std::string& y_label, const PlotOptions& options) {
  if (points.empty()) throw std::invalid_argument("plot_scatter: no points");
  double lo = 1, hi = 1;
  for (const ScatterPoint& q : points) {
    if (!std::isfinite(q.x) || !std::isfinite(q.y)) throw std::invalid_argument("plot_scatter: a value is not finite");
    if (q.group < 0 || static_cast<size_t>(q.group) >= group_names.size())
      throw std::invalid_argument("plot_scatter: point '" + q.label + "' has a group without a name");
    lo = std::min({lo, q.x, q.y});
    hi = std::max({hi, q.x, q.y});
  }
  lo = std::floor(lo * 10) / 10 - 0.1;  // a margin below the lowest point
  hi = std::ceil(hi * 10) / 10;
  std::vector<double> ticks;
  const double step = (hi - lo) > 1.01 ? 0.2 * std::ceil((hi - lo) / 1.0) : 0.1;
  for (double t = lo; t <= hi + 1e-9; t += step) ticks.push_back(std::round(t * 1000) / 1000);
  const int width = options.width > 0 ? options.width : 700, height = options.height > 0 ? options.height : 700;
  const std::string title = options.title.empty() ? "Scatter" : options.title;
  render_to_file(path, width, height, [&](cairo_t* cr) {
    const double left = 72, right = 24, top = 44, bottom = 52;
    const Panel panel{left, top, width - left - right, height - top - bottom, lo, hi, lo, hi};
    cairo_set_source_rgb(cr, 0, 0, 0);
    draw_text(cr, title, width / 2.0, top / 2.0, Align::Center, 15, true);
    draw_axes(cr, panel, ticks, "%.1f", ticks, "%.1f", true);
    {  // y = x across the whole panel
      const double dashes[] = {6.0, 4.0};
      cairo_save(cr);
      cairo_set_source_rgb(cr, 0.45, 0.45, 0.45);
      cairo_set_line_width(cr, 1.2);
      cairo_set_dash(cr, dashes, 2, 0);
      cairo_move_to(cr, panel.px(lo), panel.py(lo));
      cairo_line_to(cr, panel.px(hi), panel.py(hi));
      cairo_stroke(cr);
      cairo_restore(cr);
    }
    for (const ScatterPoint& q : points) {
      set_colour(cr, static_cast<size_t>(q.group));
      cairo_arc(cr, panel.px(q.x), panel.py(q.y), 4.5, 0, 2 * M_PI);
      cairo_fill(cr);
      cairo_set_source_rgb(cr, 0.15, 0.15, 0.15);
      draw_text(cr, q.label, panel.px(q.x) + 7, panel.py(q.y) - 7, Align::Left, 9);
    }
    cairo_set_source_rgb(cr, 0, 0, 0);
    draw_text(cr, x_label, panel.left + panel.width / 2, height - 16, Align::Center, 13);
    draw_vertical_text(cr, y_label, 20, panel.top + panel.height / 2, 13);
    std::vector<LegendEntry> legend;
    for (size_t g = 0; g < group_names.size(); ++g) legend.push_back({group_names[g], static_cast<int>(g)});
    legend.push_back({"y = x", -1});
    draw_legend(cr, panel, legend, false);
  });
}

}  // namespace bp::eval
