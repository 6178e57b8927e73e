// Stage records: a folder stage is reused only when the options and inputs that shaped its
// output are the same, redone otherwise, and says which and why (pipeline::lay_out here;
// the model-side stages in tests/torch/pipeline_stages_test.cpp).
#include <catch2/catch.hpp>

#include <actatlas/actatlas.hpp>

#include <csignal>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include <sys/wait.h>
#include <unistd.h>

#include <actatlas/io/folder_lock.hpp>

#include "test_tools.hpp"

using namespace actatlas;
namespace fs = std::filesystem;

namespace {

// A policy of a user's that gives no description of its options.
struct mute_reducer {
  using role = actatlas::role::reducer;
  static constexpr std::string_view name = "mute_reducer";
  struct options {
    int scale = 1;
  };
  options o;
  matrix reduce(matrix_cref x, std::size_t dims, const progress_fn& = {}) const {
    matrix y = matrix::from_shape({x.rows(), dims});
    for (std::size_t i = 0; i < x.rows(); ++i)
      for (std::size_t j = 0; j < dims; ++j) y(i, j) = static_cast<float>(o.scale) * x(i, j);
    return y;
  }
};

// Every report a pipeline gives, in order.
template <class P>
std::vector<stage_report>& listen(P& p) {
  static thread_local std::vector<stage_report> heard;
  heard.clear();
  p.on_stage() = [](const stage_report& r) { heard.push_back(r); };
  return heard;
}

}  // namespace

TEST_CASE("lay_out reuses its layout when nothing changed and redoes it, saying why, when something did",
          "[pipeline][stages]") {
  test::temp_dir dir;
  const fs::path acts = dir.path() / "activations.npy", layout = dir.path() / "layout.npy";
  io::write_npy(acts, test::random_matrix(120, 5, 1));

  pipeline<> p(reducer::umap({.n_neighbors = 15, .epochs = 20, .seed = 3}));
  auto& heard = listen(p);
  const auto first = p.lay_out(acts, layout);
  REQUIRE(heard.size() == 1);
  CHECK_FALSE(heard[0].reused);
  CHECK(heard[0].why == "no earlier output");
  CHECK(fs::exists(dir.path() / "layout.json"));
  CHECK(first.layout.shape(0) == 120);

  const auto again = p.lay_out(acts, layout);
  CHECK(heard.back().reused);
  CHECK(test::all_close(again.layout, first.layout, 0.0));

  // Threads change no result: still reused.
  auto threads = p;
  threads.reducer() = reducer::umap({.n_neighbors = 15, .epochs = 20, .seed = 3, .threads = 1});
  listen(threads);
  threads.lay_out(acts, layout);
  CHECK(heard.back().reused);

  // Another option: redone, and the reason names it.
  auto other = p;
  other.reducer() = reducer::umap({.n_neighbors = 10, .epochs = 20, .seed = 3});
  listen(other);
  other.lay_out(acts, layout);
  CHECK_FALSE(heard.back().reused);
  CHECK(heard.back().why == "reducer.options.n_neighbors was 15, now 10");

  // Other activations under the same name: redone.
  io::write_npy(acts, test::random_matrix(120, 5, 2));
  listen(other);
  other.lay_out(acts, layout);
  CHECK_FALSE(heard.back().reused);
  CHECK(heard.back().why.rfind("inputs.activations was", 0) == 0);

  // A lost output: redone.
  fs::remove(layout);
  listen(other);
  other.lay_out(acts, layout);
  CHECK(heard.back().why == "its output is missing");
}

TEST_CASE("a filtered layout records its samples and gives them back when reused", "[pipeline][stages]") {
  test::temp_dir dir;
  io::write_npy(dir.path() / "activations.npy", test::random_matrix(200, 4, 5));
  const matrix attr = test::random_matrix(200, 3, 6, -1.f, 1.f);
  io::write_npy(dir.path() / "attributions.npy", attr);
  pipeline<filter::rank, reducer::tsne> p(filter::rank({.cls = 2}), reducer::tsne({.iterations = 250, .seed = 1}));
  const auto made = p.lay_out(dir.path() / "activations.npy", dir.path() / "class2.npy");
  CHECK(made.samples == filter::rank({.cls = 2}).select(attr));
  CHECK(made.layout.shape(0) == made.samples.size());
  auto& heard = listen(p);
  const auto reused = p.lay_out(dir.path() / "activations.npy", dir.path() / "class2.npy");
  CHECK(heard.back().reused);
  CHECK(reused.samples == made.samples);
  // The filter's class is part of the record.
  p.filter() = filter::rank({.cls = 1});
  p.lay_out(dir.path() / "activations.npy", dir.path() / "class2.npy");
  CHECK(heard.back().why == "filter.options.cls was 2, now 1");
}

TEST_CASE("a policy that does not describe its options is always redone, and says so", "[pipeline][stages]") {
  test::temp_dir dir;
  io::write_npy(dir.path() / "activations.npy", test::random_matrix(30, 3, 7));
  pipeline<mute_reducer> p;
  auto& heard = listen(p);
  p.lay_out(dir.path() / "activations.npy", dir.path() / "layout.npy");
  p.lay_out(dir.path() / "activations.npy", dir.path() / "layout.npy");
  CHECK_FALSE(heard.back().reused);
  CHECK(heard.back().why.find("cannot be compared") != std::string::npos);
}

TEST_CASE("every option of the built-in reducers and filters is in their description", "[pipeline][stages]") {
  // Change one field at a time: the description must change. A field missing from
  // detail/policy_json.hpp would let a changed option reuse a stale stage.
  using U = reducer::umap::options;
  const std::vector<std::function<void(U&)>> umap_changes = {
      [](U& o) { o.n_neighbors = 7; },        [](U& o) { o.min_dist = 0.3f; },
      [](U& o) { o.spread = 2.f; },           [](U& o) { o.metric = metric::cosine; },
      [](U& o) { o.epochs = 9; },             [](U& o) { o.learning_rate = 0.5f; },
      [](U& o) { o.repulsion_strength = 2.f; }, [](U& o) { o.negative_sample_rate = 3.f; },
      [](U& o) { o.local_connectivity = 2.f; }, [](U& o) { o.set_op_mix_ratio = 0.5f; },
      [](U& o) { o.init = reducer::umap::initialisation::random; }, [](U& o) { o.a = 1.5; },
      [](U& o) { o.b = 0.8; },                [](U& o) { o.seed = 99; },
      [](U& o) { o.knn.algorithm = knn_options::method::hnsw; }, [](U& o) { o.knn.trees = 3; },
      [](U& o) { o.knn.max_candidates = 9; }, [](U& o) { o.knn.hnsw_ef_search = 5; },
      [](U& o) { o.pca_dims = 20; }};
  const auto base_u = describe_policy(reducer::umap{});
  for (std::size_t i = 0; i < umap_changes.size(); ++i) {
    U o;
    umap_changes[i](o);
    INFO("umap change " << i);
    CHECK(describe_policy(reducer::umap(o)) != base_u);
  }
  using T = reducer::tsne::options;
  const std::vector<std::function<void(T&)>> tsne_changes = {
      [](T& o) { o.perplexity = 5; },        [](T& o) { o.learning_rate = 100; },
      [](T& o) { o.early_exaggeration = 4; }, [](T& o) { o.exaggeration_iterations = 9; },
      [](T& o) { o.iterations = 9; },        [](T& o) { o.momentum = 0.1; },
      [](T& o) { o.final_momentum = 0.2; },  [](T& o) { o.min_gain = 0.5; },
      [](T& o) { o.gradient = T::gradient_method::exact; }, [](T& o) { o.theta = 0.1; },
      [](T& o) { o.fft_from = 9; },          [](T& o) { o.metric = metric::cosine; },
      [](T& o) { o.neighbors = 9; },         [](T& o) { o.knn = knn_options::method::exact; },
      [](T& o) { o.seed = 9; },             [](T& o) { o.pca_dims = 0; }};
  const auto base_t = describe_policy(reducer::tsne{});
  for (std::size_t i = 0; i < tsne_changes.size(); ++i) {
    T o;
    tsne_changes[i](o);
    INFO("tsne change " << i);
    CHECK(describe_policy(reducer::tsne(o)) != base_t);
  }
  CHECK(describe_policy(reducer::umap({.threads = 1})) == base_u);
  CHECK(describe_policy(filter::rank({.cls = 1})) != describe_policy(filter::rank({.cls = 2})));
  CHECK(describe_policy(filter::rank({.top_n = 3})) != describe_policy(filter::rank()));
  CHECK(describe_policy(filter::magnitude({.threshold = 0.5f})) != describe_policy(filter::magnitude()));
  CHECK(describe_policy(binning::multires_grid({.levels = 2})) != describe_policy(binning::multires_grid()));
  CHECK(describe_policy(objective::cossim_dot<4>{}) != describe_policy(objective::cossim_dot<2>{}));
  CHECK(describe_policy(objective::cossim_dot<4>({.cos_floor = 0.2})) != describe_policy(objective::cossim_dot<4>{}));
  // Every built-in policy describes itself: none is "not described".
  for (const auto& j : {describe_policy(objective::dot{}), describe_policy(objective::article_cossim<4>{}),
                        describe_policy(objective::cossim_dot<4>{}), describe_policy(filter::no_filter{}),
                        describe_policy(filter::class_pair{}), describe_policy(reducer::comparison{}),
                        describe_policy(binning::grid{})})
    CHECK(j.dump().find(detail::not_described) == std::string::npos);
}

TEST_CASE("lay_out holds its folder's lock: a second process writing there is one error naming the folder",
          "[pipeline][stages][faults]") {
  test::temp_dir dir;
  const fs::path run = dir.path() / "run";
  fs::create_directories(run);
  io::write_npy(run / "activations.npy", test::random_matrix(40, 3, 2));
  // A child holds the lock (as a collect or a second layout into this folder would), says so, waits.
  int ready[2];
  REQUIRE(::pipe(ready) == 0);
  const pid_t holder = ::fork();
  REQUIRE(holder >= 0);
  if (holder == 0) {
    ::close(ready[0]);
    io::folder_lock lock(run);
    (void)!::write(ready[1], "1", 1);
    for (;;) ::pause();
  }
  ::close(ready[1]);
  char c = 0;
  REQUIRE(::read(ready[0], &c, 1) == 1);
  ::close(ready[0]);

  pipeline<mute_reducer> p;
  CHECK_THROWS_WITH(p.lay_out(run / "activations.npy", run / "layout.npy"),
                    Catch::StartsWith(run.string() + ": in use by another actatlas process"));
  CHECK_FALSE(fs::exists(run / "layout.npy"));
  CHECK_FALSE(fs::exists(run / "layout.json"));
  ::kill(holder, SIGKILL);
  int status = 0;
  ::waitpid(holder, &status, 0);
  CHECK(p.lay_out(run / "activations.npy", run / "layout.npy").layout.shape(0) == 40);
}

TEST_CASE("a layout record holding an empty object means: redo the layout (fuzz/records.cpp found it threw)",
          "[pipeline][stages][faults]") {
  test::temp_dir dir;
  const fs::path acts = dir.path() / "activations.npy", layout = dir.path() / "layout.npy";
  io::write_npy(acts, test::random_matrix(30, 3, 4));
  pipeline<mute_reducer> p;
  auto& heard = listen(p);
  p.lay_out(acts, layout);
  for (const char* damaged : {"{}", "{\"rows\": 30}"}) {  // "rows" is a result, erased before comparing
    INFO(damaged);
    { std::ofstream(dir.path() / "layout.json") << damaged; }
    heard.clear();
    CHECK_NOTHROW(p.lay_out(acts, layout));  // std::out_of_range from record_differences before the fix
    REQUIRE(heard.size() == 1);
    CHECK_FALSE(heard[0].reused);
    CHECK_THAT(heard[0].why, Catch::Contains("is new"));
  }
}
