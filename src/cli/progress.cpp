#include "progress.hpp"

#include <unistd.h>

#include <cmath>
#include <cstdio>

namespace bp::cli {

Progress::Progress(int epochs, bool enabled)
    : epochs_(epochs), enabled_(enabled), tty_(isatty(STDERR_FILENO) == 1),
      epoch_start_(std::chrono::steady_clock::now()), last_draw_() {}

void Progress::batch(int64_t done, int64_t total, double loss) {
  if (!enabled_ || !tty_) return;
  const auto now = std::chrono::steady_clock::now();
  if (done == 0 || (done < total && now - last_draw_ < std::chrono::milliseconds(100))) return;
  last_draw_ = now;
  const double secs = std::chrono::duration<double>(now - epoch_start_).count();
  const int width = 30;
  const int filled = static_cast<int>(width * static_cast<double>(done) / static_cast<double>(std::max<int64_t>(total, 1)));
  std::string bar(static_cast<size_t>(filled), '#');
  bar.resize(width, '.');
  // epochs_ is 0 until the first epoch reports the plan's length (train's default length).
  std::string of;
  if (epochs_ > 0) of = '/' + std::to_string(epochs_);
  std::fprintf(stderr, "\r\033[Kepoch %d%s [%s] %3d%%  loss %.4f  %.0f samples/s", current_, of.c_str(), bar.c_str(),
               static_cast<int>(100.0 * static_cast<double>(done) / static_cast<double>(std::max<int64_t>(total, 1))),
               loss, secs > 0 ? static_cast<double>(done) / secs : 0.0);
  std::fflush(stderr);
}

void Progress::epoch(const train::EpochStats& s) {
  if (enabled_) {
    if (s.epochs > 0) epochs_ = s.epochs;  // the plan's length (train chooses it from the data by default)
    std::string text = "epoch " + std::to_string(s.epoch) + "/" + std::to_string(epochs_);
    char buf[256];
    std::snprintf(buf, sizeof buf, "  loss %.4f", s.train.loss);
    text += buf;
    if (!std::isnan(s.train.accuracy)) {
      std::snprintf(buf, sizeof buf, "  acc %.2f%%", 100 * s.train.accuracy);
      text += buf;
    }
    if (!std::isnan(s.validation.loss)) {
      std::snprintf(buf, sizeof buf, "  val_loss %.4f", s.validation.loss);
      text += buf;
      if (!std::isnan(s.validation.accuracy)) {
        std::snprintf(buf, sizeof buf, "  val_acc %.2f%%", 100 * s.validation.accuracy);
        text += buf;
      }
    }
    std::snprintf(buf, sizeof buf, "  lr %.3g  %.1fs  %.0f samples/s", s.lr, s.seconds, s.samples_per_second);
    text += buf;
    line(text);
  }
  current_ = s.epoch + 1;
  epoch_start_ = std::chrono::steady_clock::now();
}

void Progress::line(const std::string& text) {
  if (!enabled_) return;
  if (tty_) std::fputs("\r\033[K", stderr);
  std::fprintf(stderr, "%s\n", text.c_str());
  std::fflush(stderr);
}

}  // namespace bp::cli
