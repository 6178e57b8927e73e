/// @file progress.hpp
/// How long stages report how far they are: a callback that receives the stage's name,
/// the work done and the work in all. Stages call it often and cheaply; the callback
/// decides how often to draw (see `progress_bar`).
///
/// `progress_bar` draws a redrawn bar on a terminal and, when its stream is not one (a
/// log file, CI, nohup), writes a plain line every few seconds and one when a stage
/// ends, so that a log holds readable lines rather than hundreds of `\r` updates.
/// `set_progress_quiet(true)` silences every bar of the process (a `--quiet` flag).
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdio>
#include <functional>
#include <string>
#include <string_view>
#include <utility>

#include <unistd.h>

namespace actatlas {

//! (stage, done, total). An empty function means nobody is listening.
using progress_fn = std::function<void(std::string_view stage, std::size_t done, std::size_t total)>;

//! Calls `fn` when it is set.
inline void report(const progress_fn& fn, std::string_view stage, std::size_t done, std::size_t total) {
  if (fn) fn(stage, done, total);
}

namespace detail {
inline std::atomic<bool>& progress_quiet_flag() {
  static std::atomic<bool> quiet{false};
  return quiet;
}
}  // namespace detail

//! Silences (or restores) every progress_bar of the process, whatever its options: what a
//! program's `--quiet` flag sets once, before the work starts.
inline void set_progress_quiet(bool quiet) { detail::progress_quiet_flag().store(quiet); }
inline bool progress_quiet() { return detail::progress_quiet_flag().load(); }

//! How a progress_bar writes.
enum class progress_style {
  automatic,  //!< `bar` when the stream is a terminal, `lines` otherwise
  bar,        //!< one line redrawn with `\r`
  lines,      //!< a plain line every `line_interval`, and one when a stage ends
  quiet,      //!< nothing
};

//! Options of progress_bar (outside the class, so that `= {}` can be a default argument).
struct progress_bar_options {
  std::FILE* out = stderr;
  progress_style style = progress_style::automatic;
  //! Least time between two redraws of the bar (a terminal keeps up with far more, a
  //! person does not read it).
  std::chrono::milliseconds bar_interval{100};
  //! Least time between two plain lines: a log of an hour-long collection gets ~720
  //! lines, a stage shorter than this gets only its final line.
  std::chrono::milliseconds line_interval{5000};
  //! The clock (empty: std::chrono::steady_clock::now). Tests set it.
  std::function<std::chrono::steady_clock::time_point()> now = {};
};

//! A progress_fn that draws on stderr (or `options::out`): rate and ETA, as a bar on a
//! terminal, as plain lines elsewhere (see progress_style). Copyable, as progress_fn needs.
class progress_bar {
 public:
  using options = progress_bar_options;
  using clock = std::chrono::steady_clock;

  explicit progress_bar(options o = {}) : opts_(std::move(o)) {
    if (opts_.style == progress_style::automatic)
      opts_.style = ::isatty(::fileno(opts_.out)) ? progress_style::bar : progress_style::lines;
  }
  explicit progress_bar(std::FILE* out) : progress_bar(options{.out = out}) {}

  //! The style in use (automatic resolved at construction).
  progress_style style() const { return opts_.style; }

  void operator()(std::string_view stage, std::size_t done, std::size_t total) {
    if (opts_.style == progress_style::quiet || progress_quiet()) return;
    const bool finished = total > 0 && done >= total;
    // A stage may report its end twice (its last step, then a closing call): one line is enough.
    if (finished && stage_.empty() && stage == ended_) return;
    const auto now = opts_.now ? opts_.now() : clock::now();
    if (stage != stage_) {
      if (!stage_.empty() && opts_.style == progress_style::bar) std::fputc('\n', opts_.out);
      ended_.clear();
      stage_ = std::string(stage);
      start_ = last_ = now;
      drawn_ = false;
    }
    const auto interval = opts_.style == progress_style::bar ? opts_.bar_interval : opts_.line_interval;
    // The bar is drawn at once when a stage starts; a line only once there is news.
    const bool due = opts_.style == progress_style::bar ? !drawn_ || now - last_ >= interval : now - last_ >= interval;
    if (!finished && !due) return;
    last_ = now;
    drawn_ = true;
    const double secs = std::chrono::duration<double>(now - start_).count();
    const double rate = secs > 0 ? static_cast<double>(done) / secs : 0.0;
    const double frac = total ? static_cast<double>(done) / static_cast<double>(total) : 0.0;
    const double eta = rate > 0 && total >= done ? static_cast<double>(total - done) / rate : 0.0;
    if (opts_.style == progress_style::bar) {
      constexpr int width = 30;
      const int filled = static_cast<int>(frac * width);
      std::fprintf(opts_.out, "\r%-12.*s [%.*s%*s] %zu/%zu %.1f/s %s %.0fs   ", static_cast<int>(stage_.size()),
                   stage_.data(), filled, "##############################", width - filled, "", done, total, rate,
                   finished ? "took" : "eta", finished ? secs : eta);
      if (finished) std::fputc('\n', opts_.out);
    } else {
      std::fprintf(opts_.out, "%.*s: %zu/%zu (%.0f%%), %.1f/s, %s %.0fs\n", static_cast<int>(stage_.size()),
                   stage_.data(), done, total, 100.0 * frac, rate, finished ? "took" : "eta", finished ? secs : eta);
    }
    if (finished) {
      ended_ = stage_;
      stage_.clear();
    }
    std::fflush(opts_.out);
  }

 private:
  options opts_;
  std::string stage_;
  std::string ended_;  //!< the stage that ended last, until another one starts
  clock::time_point start_{};
  clock::time_point last_{};
  bool drawn_ = false;
};

}  // namespace actatlas
