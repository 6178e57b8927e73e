// Runs actatlas's t-SNE on the first N rows of a memory-mapped N×D float32 .npy and
// prints the wall time of each stage and the peak resident set size.
//
//   bench_tsne_large IN.npy OUT.npy [--rows N] [--dims 1|2] [--metric cosine|euclidean]
//                    [--neighbors K] [--knn automatic|exact|nn_descent|hnsw]
//                    [--gradient automatic|barnes_hut|fft] [--threads T] [--iterations I]
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include <actatlas/io/npy.hpp>
#include <actatlas/reducer/tsne.hpp>

namespace {
double peak_rss_gib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / (1024.0 * 1024.0);  // ru_maxrss is in KiB
}
}  // namespace

int main(int argc, char** argv) try {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s IN.npy OUT.npy [--rows N] [--dims 1|2] [--metric M] [--neighbors K] "
                         "[--knn automatic|exact|nn_descent|hnsw] [--gradient automatic|barnes_hut|fft] "
                         "[--threads T] [--iterations I]\n", argv[0]);
    return 2;
  }
  using actatlas::reducer::tsne;
  tsne::options o;
  std::size_t rows = 0, dims = 2;
  for (int a = 3; a + 1 < argc; a += 2) {
    const std::string_view key = argv[a];
    const std::string value = argv[a + 1];
    if (key == "--rows") rows = std::stoull(value);
    else if (key == "--dims") dims = std::stoull(value);
    else if (key == "--metric") o.metric = actatlas::parse_metric(value);
    else if (key == "--neighbors") o.neighbors = std::stoull(value);
    else if (key == "--threads") o.threads = static_cast<unsigned>(std::stoul(value));
    else if (key == "--iterations") o.iterations = std::stoull(value);
    else if (key == "--knn") {
      using m = actatlas::knn_options::method;
      o.knn = value == "exact" ? m::exact : value == "nn_descent" ? m::nn_descent : value == "hnsw" ? m::hnsw : m::automatic;
    } else if (key == "--gradient") {
      using g = tsne::options::gradient_method;
      o.gradient = value == "barnes_hut" ? g::barnes_hut : value == "fft" ? g::fft : value == "exact" ? g::exact : g::automatic;
    } else {
      std::fprintf(stderr, "unknown option %s\n", argv[a]);
      return 2;
    }
  }
  const actatlas::io::mapped_npy file(argv[1]);
  actatlas::matrix_cref x = file.view();
  if (rows && rows < x.rows()) x = actatlas::matrix_cref(x.data(), rows, x.cols());

  const auto start = std::chrono::steady_clock::now();
  auto last = start;
  std::string stage;
  const actatlas::progress_fn progress = [&](std::string_view s, std::size_t done, std::size_t total) {
    if (done == total && total > 0 && s != stage) {
      const auto now = std::chrono::steady_clock::now();
      std::fprintf(stderr, "%-20.*s %8.2f s  (peak RSS %.2f GiB)\n", static_cast<int>(s.size()), s.data(),
                   std::chrono::duration<double>(now - last).count(), peak_rss_gib());
      last = now;
      stage = std::string(s);
    }
  };
  const actatlas::matrix y = tsne(o).reduce(x, dims, progress);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  actatlas::io::write_npy<float, 2>(argv[2], y);
  std::printf("tsne rows=%zu cols=%zu dims=%zu wall=%.2f s peak_rss=%.3f GiB\n", x.rows(), x.cols(), dims, secs,
              peak_rss_gib());
  return 0;
} catch (const actatlas::input_error& e) {
  std::fprintf(stderr, "%s\n", e.what());
  return 2;
} catch (const std::exception& e) {
  std::fprintf(stderr, "internal error: %s\n", e.what());
  return 1;
}
