// actatlas layout: N×D activations (.npy, float32) → N×dims layout (.npy), by UMAP or t-SNE.
// The input is memory-mapped, so a million rows of 512 floats need no copy in memory
// (cosine search makes one normalised copy).
#include <actatlas/io/npy.hpp>
#include <actatlas/progress.hpp>
#include <actatlas/reducer/umap.hpp>
#if __has_include(<actatlas/reducer/tsne.hpp>)
#include <actatlas/reducer/tsne.hpp>
#define ACTATLAS_LAYOUT_HAS_TSNE 1
#endif

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "cli.hpp"

namespace {

const char* const usage = R"(actatlas layout --in X.npy --method umap|tsne [options] --out Y.npy

Lays out the rows of an N×D float32 .npy file in 1 or 2 dimensions.

  --in PATH             N×D float32 activations (memory-mapped)
  --out PATH            N×dims float32 layout (written atomically)
  --method umap|tsne    reducer (default umap)
  --preset NAME         starting options: article (UMAP: 50 neighbours, min_dist 0.05, cosine),
                        article-early (UMAP: 200, 0.05, euclidean), lucid-class (t-SNE: cosine,
                        perplexity 50, learning rate 10); options below override it
  --dims 1|2            output dimensions (default 2)
  --metric cosine|euclidean
  --seed N              (default 42)   --threads N (default 0 = all cores)
UMAP:  --neighbors N (15)  --min-dist X (0.1)  --epochs N (0 = 500 for N <= 10000, else 200)
       --learning-rate X (1)  --knn automatic|exact|nn-descent|hnsw
t-SNE: --perplexity X (30)  --learning-rate X (0 = automatic)  --iterations N (1000)
       --early-exaggeration X (12)  --theta X (0.5)  --knn automatic|exact|nn-descent|hnsw

The same seed and thread count give the same layout. Progress goes to stderr.)";

actatlas::knn_options::method parse_knn(const std::string& s) {
  using m = actatlas::knn_options::method;
  if (s == "automatic") return m::automatic;
  if (s == "exact") return m::exact;
  if (s == "nn-descent") return m::nn_descent;
  if (s == "hnsw") return m::hnsw;
  throw cli::usage_error("layout: --knn expects automatic, exact, nn-descent or hnsw, got '" + s + "'");
}

int run_layout(const std::vector<std::string>& argv) {
  const cli::args a("layout", argv);
  const std::string in = a.str("in"), out = a.str("out");
  const std::string method = a.str("method", "umap");
  const std::string preset = a.str("preset", "");
  const auto dims = a.number<std::size_t>("dims", 2);
  if (dims != 1 && dims != 2) throw cli::usage_error("layout: --dims must be 1 or 2");
  if (method != "umap" && method != "tsne") throw cli::usage_error("layout: --method must be umap or tsne");

  actatlas::matrix y;
  const auto start = std::chrono::steady_clock::now();
  actatlas::progress_bar bar;
  actatlas::progress_fn progress = [&bar](std::string_view s, std::size_t d, std::size_t t) { bar(s, d, t); };

  if (method == "umap") {
    using actatlas::reducer::umap;
    umap::options o;
    if (preset == "article") o = umap::options::article();
    else if (preset == "article-early") o = umap::options::article_early_layers();
    else if (!preset.empty()) throw cli::usage_error("layout: --preset for umap is article or article-early, got '" + preset + "'");
    if (a.has("metric")) o.metric = actatlas::parse_metric(a.str("metric"));
    o.n_neighbors = a.number<std::size_t>("neighbors", o.n_neighbors);
    o.min_dist = a.number<float>("min-dist", o.min_dist);
    o.epochs = a.number<std::size_t>("epochs", o.epochs);
    o.learning_rate = a.number<float>("learning-rate", o.learning_rate);
    o.seed = a.number<std::uint64_t>("seed", o.seed);
    o.threads = a.number<unsigned>("threads", o.threads);
    if (a.has("knn")) o.knn.algorithm = parse_knn(a.str("knn"));
    a.reject_unknown();
    const actatlas::io::mapped_npy x(in);
    y = umap(o).reduce(x.view(), dims, progress);
  } else {
#ifdef ACTATLAS_LAYOUT_HAS_TSNE
    using actatlas::reducer::tsne;
    tsne::options o;
    if (preset == "lucid-class") o = tsne::lucid_class();
    else if (!preset.empty()) throw cli::usage_error("layout: --preset for tsne is lucid-class, got '" + preset + "'");
    if (a.has("metric")) o.metric = actatlas::parse_metric(a.str("metric"));
    o.perplexity = a.number<double>("perplexity", o.perplexity);
    o.learning_rate = a.number<double>("learning-rate", o.learning_rate);
    o.iterations = a.number<std::size_t>("iterations", o.iterations);
    o.early_exaggeration = a.number<double>("early-exaggeration", o.early_exaggeration);
    o.theta = a.number<double>("theta", o.theta);
    o.seed = a.number<std::uint64_t>("seed", o.seed);
    o.threads = a.number<unsigned>("threads", o.threads);
    if (a.has("knn")) o.knn = parse_knn(a.str("knn"));
    a.reject_unknown();
    const actatlas::io::mapped_npy x(in);
    y = tsne(o).reduce(x.view(), dims, progress);
#else
    throw cli::usage_error("layout: this build has no t-SNE reducer");
#endif
  }
  actatlas::io::write_npy<float, 2>(out, y);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::fprintf(stderr, "layout: %zu rows → %s (%zu-D) in %.1f s\n", y.shape(0), out.c_str(), dims, secs);
  return 0;
}

const bool registered = cli::add_command({"layout", "N×D activations to an N×2 (or N×1) layout by UMAP or t-SNE",
                                          usage, run_layout});

}  // namespace
