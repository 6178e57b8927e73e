// Runs actatlas's UMAP or t-SNE on a memory-mapped N×D float32 .npy with the options the
// reducer benchmark varies, and prints the wall time of each stage. Unlike the actatlas
// program it links no model code, so it builds in seconds.
//
//   bench_reducer_layout IN.npy OUT.npy --method umap|tsne [--threads T] [--seed S]
//                        [--pca DIMS (0 = off, default: the reducer's)] [--knn automatic|exact|nn_descent|hnsw]
//                        [--epochs E] [--iterations I] [--neighbors K] [--metric euclidean|cosine]
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <string_view>

#include <actatlas/io/npy.hpp>
#include <actatlas/reducer/tsne.hpp>
#include <actatlas/reducer/umap.hpp>

namespace {
double peak_rss_gib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / (1024.0 * 1024.0);
}
}  // namespace

int main(int argc, char** argv) try {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s IN.npy OUT.npy --method umap|tsne [--threads T] [--seed S] [--pca D] "
                         "[--knn M] [--epochs E] [--iterations I] [--neighbors K] [--metric M]\n", argv[0]);
    return 2;
  }
  std::string method = "umap";
  actatlas::reducer::umap::options uo;
  actatlas::reducer::tsne::options to;
  for (int a = 3; a + 1 < argc; a += 2) {
    const std::string_view key = argv[a];
    const std::string value = argv[a + 1];
    if (key == "--method") method = value;
    else if (key == "--threads") uo.threads = to.threads = static_cast<unsigned>(std::stoul(value));
    else if (key == "--seed") uo.seed = to.seed = std::stoull(value);
    else if (key == "--pca") uo.pca_dims = to.pca_dims = std::stoull(value);
    else if (key == "--epochs") uo.epochs = std::stoull(value);
    else if (key == "--iterations") to.iterations = std::stoull(value);
    else if (key == "--neighbors") uo.n_neighbors = to.neighbors = std::stoull(value);
    else if (key == "--metric") uo.metric = to.metric = actatlas::parse_metric(value);
    else if (key == "--knn") {
      using m = actatlas::knn_options::method;
      const m v = value == "exact" ? m::exact : value == "nn_descent" ? m::nn_descent : value == "hnsw" ? m::hnsw : m::automatic;
      uo.knn.algorithm = v;
      to.knn = v;
    } else {
      std::fprintf(stderr, "unknown option %s\n", argv[a]);
      return 2;
    }
  }
  const actatlas::io::mapped_npy file(argv[1]);
  const actatlas::matrix_cref x = file.view();
  const auto start = std::chrono::steady_clock::now();
  auto last = start;
  std::string stage;
  const actatlas::progress_fn progress = [&](std::string_view s, std::size_t done, std::size_t total) {
    if (done == total && total > 0 && s != stage) {
      const auto now = std::chrono::steady_clock::now();
      std::fprintf(stderr, "%-20.*s %8.2f s\n", static_cast<int>(s.size()), s.data(),
                   std::chrono::duration<double>(now - last).count());
      last = now;
      stage = std::string(s);
    }
  };
  actatlas::matrix y;
  if (method == "umap") y = actatlas::reducer::umap(uo).reduce(x, 2, progress);
  else if (method == "tsne") y = actatlas::reducer::tsne(to).reduce(x, 2, progress);
  else {
    std::fprintf(stderr, "unknown method %s\n", method.c_str());
    return 2;
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  actatlas::io::write_npy<float, 2>(argv[2], y);
  std::printf("%s rows=%zu cols=%zu wall=%.2f s peak_rss=%.3f GiB\n", method.c_str(), x.rows(), x.cols(), secs,
              peak_rss_gib());
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "%s\n", e.what());
  return 1;
}
