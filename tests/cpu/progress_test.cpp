// progress_bar into a stream that is not a terminal (issue 18, item 3): plain lines, no
// `\r`, a bounded number of them, and quiet when asked. The clock is injected, so nothing
// here depends on how fast the test runs.
#include <catch2/catch.hpp>

#include <actatlas/progress.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>

namespace {

using namespace std::chrono_literals;
using clock_type = actatlas::progress_bar::clock;

//! A temporary file (never a terminal) and what was written to it.
struct captured_stream {
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file{std::tmpfile(), &std::fclose};
  std::string text() const {
    std::fflush(file.get());
    std::rewind(file.get());
    std::string out;
    for (int c; (c = std::fgetc(file.get())) != EOF;) out += static_cast<char>(c);
    return out;
  }
};

//! A clock the test moves by hand.
struct manual_clock {
  std::shared_ptr<clock_type::time_point> t = std::make_shared<clock_type::time_point>();
  void advance(clock_type::duration d) const { *t += d; }
  auto fn() const {
    return [t = t] { return *t; };
  }
};

std::size_t count(const std::string& s, char c) { return static_cast<std::size_t>(std::count(s.begin(), s.end(), c)); }

}  // namespace

TEST_CASE("progress_bar writes plain lines, at most one per interval, when its stream is not a terminal", "[progress]") {
  captured_stream stream;
  REQUIRE(stream.file);
  manual_clock clock;
  actatlas::progress_bar bar({.out = stream.file.get(), .now = clock.fn()});
  REQUIRE(bar.style() == actatlas::progress_style::lines);
  // 1000 steps over 100 simulated seconds: at most one line per 5 s and the final one.
  bar("collect", 0, 1000);
  for (std::size_t i = 1; i <= 1000; ++i) {
    clock.advance(100ms);
    bar("collect", i, 1000);
  }
  const auto text = stream.text();
  CHECK(count(text, '\r') == 0);
  CHECK(count(text, '\n') >= 20);
  CHECK(count(text, '\n') <= 100 / 5 + 1);
  CHECK(text.substr(0, text.find('\n')) == "collect: 50/1000 (5%), 10.0/s, eta 95s");
  CHECK(text.substr(text.rfind('\n', text.size() - 2) + 1) == "collect: 1000/1000 (100%), 10.0/s, took 100s\n");
}

TEST_CASE("progress_bar in lines: a quick stage writes only its final line", "[progress]") {
  captured_stream stream;
  manual_clock clock;
  actatlas::progress_bar bar({.out = stream.file.get(), .style = actatlas::progress_style::lines, .now = clock.fn()});
  for (std::size_t i = 0; i <= 10000; ++i) bar("umap", i, 10000);  // the clock does not move
  bar("umap", 10000, 10000);  // the end reported twice: still one line
  clock.advance(2s);
  for (std::size_t i = 0; i <= 10; ++i) bar("icons", i, 10);
  for (std::size_t i = 0; i <= 10; ++i) bar("icons", i, 10);  // the same stage run again: its own line
  CHECK(stream.text() ==
        "umap: 10000/10000 (100%), 0.0/s, took 0s\nicons: 10/10 (100%), 0.0/s, took 0s\n"
        "icons: 10/10 (100%), 0.0/s, took 0s\n");
}

TEST_CASE("progress_bar on a terminal redraws one line with \\r", "[progress]") {
  captured_stream stream;
  manual_clock clock;
  actatlas::progress_bar bar({.out = stream.file.get(), .style = actatlas::progress_style::bar, .now = clock.fn()});
  for (std::size_t i = 0; i <= 100; ++i) {
    clock.advance(10ms);
    bar("layout", i, 100);
  }
  const auto text = stream.text();
  // Drawn at the start, then every 100 ms of the 1 s, then finished: one line in all.
  CHECK(count(text, '\r') >= 10);
  CHECK(count(text, '\r') <= 12);
  CHECK(count(text, '\n') == 1);
}

TEST_CASE("progress_bar: quiet, by option or for the whole process", "[progress]") {
  captured_stream stream;
  actatlas::progress_bar quiet({.out = stream.file.get(), .style = actatlas::progress_style::quiet});
  for (std::size_t i = 0; i <= 10; ++i) quiet("collect", i, 10);
  CHECK(stream.text().empty());

  actatlas::progress_bar bar({.out = stream.file.get(), .style = actatlas::progress_style::bar});
  actatlas::set_progress_quiet(true);
  for (std::size_t i = 0; i <= 10; ++i) bar("collect", i, 10);
  actatlas::set_progress_quiet(false);
  CHECK(stream.text().empty());
  bar("collect", 10, 10);
  CHECK_FALSE(stream.text().empty());
}
