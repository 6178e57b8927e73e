/// @file progress.hpp
/// How long stages report how far they are: a callback that receives the stage's name,
/// the work done and the work in all. Stages call it often and cheaply; the callback
/// decides how often to draw (see `progress_bar`).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdio>
#include <functional>
#include <string>
#include <string_view>

namespace actatlas {

//! (stage, done, total). An empty function means nobody is listening.
using progress_fn = std::function<void(std::string_view stage, std::size_t done, std::size_t total)>;

//! Calls `fn` when it is set.
inline void report(const progress_fn& fn, std::string_view stage, std::size_t done, std::size_t total) {
  if (fn) fn(stage, done, total);
}

//! A one-line progress bar on stderr with rate and ETA, redrawn at most ten times a second.
class progress_bar {
 public:
  explicit progress_bar(std::FILE* out = stderr) : out_(out) {}

  void operator()(std::string_view stage, std::size_t done, std::size_t total) {
    const auto now = clock::now();
    if (stage != stage_) {
      if (!stage_.empty()) std::fputc('\n', out_);
      stage_ = std::string(stage);
      start_ = now;
      last_ = clock::time_point{};
    }
    const bool finished = total > 0 && done >= total;
    if (!finished && now - last_ < std::chrono::milliseconds(100)) return;
    last_ = now;
    const double secs = std::chrono::duration<double>(now - start_).count();
    const double rate = secs > 0 ? static_cast<double>(done) / secs : 0.0;
    const double frac = total ? static_cast<double>(done) / static_cast<double>(total) : 0.0;
    const double eta = rate > 0 && total >= done ? static_cast<double>(total - done) / rate : 0.0;
    constexpr int width = 30;
    const int filled = static_cast<int>(frac * width);
    std::fprintf(out_, "\r%-12.*s [%.*s%*s] %zu/%zu %.1f/s %s %.0fs   ", static_cast<int>(stage_.size()),
                 stage_.data(), filled, "##############################", width - filled, "", done, total, rate,
                 finished ? "took" : "eta", finished ? secs : eta);
    if (finished) {
      std::fputc('\n', out_);
      stage_.clear();
    }
    std::fflush(out_);
  }

 private:
  using clock = std::chrono::steady_clock;
  std::FILE* out_;
  std::string stage_;
  clock::time_point start_{};
  clock::time_point last_{};
};

}  // namespace actatlas
