// The pipeline type: roles found in any order, defaults filled in, configured policies
// applied, and the CPU stages run end to end (filter → layout → bins → cells).
#include <catch2/catch.hpp>

#include <actatlas/actatlas.hpp>

#include <random>
#include <type_traits>

#include "test_tools.hpp"

using namespace actatlas;

namespace {

// A reducer that keeps the first two coordinates: makes the pipeline's own logic testable
// exactly, independent of UMAP.
struct first_two {
  using role = actatlas::role::reducer;
  static constexpr std::string_view name = "first_two";
  struct options {};
  matrix reduce(matrix_cref x, std::size_t dims, const progress_fn& = {}) const {
    matrix y = matrix::from_shape({x.rows(), dims});
    for (std::size_t i = 0; i < x.rows(); ++i)
      for (std::size_t j = 0; j < dims; ++j) y(i, j) = x(i, j);
    return y;
  }
};

// Well-separated clusters in D dimensions with a label per row.
std::pair<matrix, std::vector<int>> clusters(std::size_t per, int k, std::size_t d, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> noise(0.f, 0.3f);
  matrix x = matrix::from_shape({per * k, d});
  std::vector<int> label;
  for (int c = 0; c < k; ++c)
    for (std::size_t i = 0; i < per; ++i) {
      const std::size_t r = c * per + i;
      for (std::size_t j = 0; j < d; ++j) x(r, j) = noise(rng) + (j % k == static_cast<std::size_t>(c) ? 6.f : 0.f);
      label.push_back(c);
    }
  return {x, label};
}

}  // namespace

TEST_CASE("built-in policies satisfy their role's concept", "[pipeline]") {
  STATIC_REQUIRE(sampler_policy<sampler::random_position>);
  STATIC_REQUIRE(sampler_policy<sampler::center_position>);
  STATIC_REQUIRE(sampler_policy<sampler::all_positions>);
  STATIC_REQUIRE(reducer_policy<reducer::umap>);
  STATIC_REQUIRE(reducer_policy<reducer::tsne>);
  STATIC_REQUIRE(binning_policy<binning::grid>);
  STATIC_REQUIRE(binning_policy<binning::multires_grid>);
  STATIC_REQUIRE(filter_policy<filter::no_filter>);
  STATIC_REQUIRE(filter_policy<filter::rank>);
  STATIC_REQUIRE(filter_policy<filter::magnitude>);
  STATIC_REQUIRE(objective_policy<objective::dot>);
  STATIC_REQUIRE(objective_policy<objective::cossim_dot<2>>);
  STATIC_REQUIRE(objective_policy<objective::article_cossim<3>>);
  STATIC_REQUIRE(reducer_policy<first_two>);
  STATIC_REQUIRE_FALSE(reducer_policy<binning::grid>);  // a policy plays one role only
  STATIC_REQUIRE_FALSE(filter_policy<reducer::umap>);
}

TEST_CASE("pipeline<> is the article's atlas", "[pipeline]") {
  using p = pipeline<>;
  STATIC_REQUIRE(std::is_same_v<p::sampler_type, sampler::random_position>);
  STATIC_REQUIRE(std::is_same_v<p::reducer_type, reducer::umap>);
  STATIC_REQUIRE(std::is_same_v<p::binning_type, binning::grid>);
  STATIC_REQUIRE(std::is_same_v<p::filter_type, filter::no_filter>);
  STATIC_REQUIRE(std::is_same_v<p::objective_type, objective::cossim_dot<4>>);
}

TEST_CASE("policies are found by role in any order; the rest are defaults", "[pipeline]") {
  using a = pipeline<reducer::tsne, filter::rank>;
  using b = pipeline<filter::rank, reducer::tsne>;
  STATIC_REQUIRE(std::is_same_v<a::reducer_type, reducer::tsne>);
  STATIC_REQUIRE(std::is_same_v<a::filter_type, filter::rank>);
  STATIC_REQUIRE(std::is_same_v<a::reducer_type, b::reducer_type>);
  STATIC_REQUIRE(std::is_same_v<a::filter_type, b::filter_type>);
  STATIC_REQUIRE(std::is_same_v<a::binning_type, binning::grid>);
  STATIC_REQUIRE(std::is_same_v<a::sampler_type, sampler::random_position>);

  using all = pipeline<objective::dot, binning::multires_grid, sampler::center_position, filter::magnitude, first_two>;
  STATIC_REQUIRE(std::is_same_v<all::objective_type, objective::dot>);
  STATIC_REQUIRE(std::is_same_v<all::binning_type, binning::multires_grid>);
  STATIC_REQUIRE(std::is_same_v<all::sampler_type, sampler::center_position>);
  STATIC_REQUIRE(std::is_same_v<all::filter_type, filter::magnitude>);
  STATIC_REQUIRE(std::is_same_v<all::reducer_type, first_two>);
}

TEST_CASE("configured policies passed in any order reach their roles", "[pipeline]") {
  pipeline<binning::grid, filter::rank, first_two> p(filter::rank({.cls = 2}), binning::grid({.grid_size = 7, .min_count = 2}));
  CHECK(p.filter().opts().cls == 2);
  CHECK(p.binning().opts().grid_size == 7);
  CHECK(p.binning().opts().min_count == 2);
  p.binning().opts().grid_size = 9;  // the non-const accessor edits in place
  CHECK(p.binning().opts().grid_size == 9);
  const pipeline<> defaults;
  CHECK(defaults.binning().opts().grid_size == 20);
  CHECK(defaults.reducer().opts().n_neighbors == 15);
}

TEST_CASE("run: filter, layout, bins and cells agree with a direct computation", "[pipeline]") {
  const std::size_t n = 500;
  matrix x = test::random_matrix(n, 6, 21);
  matrix attr = test::random_matrix(n, 3, 22, -1.f, 1.f);
  pipeline<first_two, filter::rank, binning::grid> p(filter::rank({.cls = 1}), binning::grid({.grid_size = 4, .min_count = 1}));
  const auto r = p.run(x, attr);

  const auto kept = filter::rank({.cls = 1}).select(attr);
  REQUIRE(r.samples == kept);
  REQUIRE(r.layout.shape(0) == kept.size());
  // Members are sample ids of the full set, every kept sample in exactly one cell.
  std::vector<int> seen(n, 0);
  for (const auto& c : r.levels.at(0).cells)
    for (auto m : c.members) ++seen[m];
  for (std::size_t i = 0; i < n; ++i)
    CHECK(seen[i] == (std::find(kept.begin(), kept.end(), i) != kept.end() ? 1 : 0));
  // Each cell's mean activation is the mean over its members' rows of the full set.
  const auto& cell0 = r.levels[0].cells[0];
  double sum = 0;
  for (auto m : cell0.members) sum += x(m, 3);
  CHECK(r.cells[0][0].mean_activation[3] == Approx(sum / cell0.members.size()).epsilon(1e-5));
  // The layout is the kept rows' first two coordinates, normalised.
  matrix gathered = matrix::from_shape({kept.size(), 6});
  for (std::size_t i = 0; i < kept.size(); ++i)
    for (std::size_t j = 0; j < 6; ++j) gathered(i, j) = x(kept[i], j);
  CHECK(test::all_close(r.layout, normalise_layout(first_two{}.reduce(gathered, 2)), 0.0));
}

TEST_CASE("run with the default UMAP keeps separated clusters in separate cells", "[pipeline][umap]") {
  auto [x, label] = clusters(150, 4, 16, 5);
  pipeline<binning::grid> p(binning::grid({.grid_size = 10, .min_count = 1}));
  const auto r = p.run(x, {});
  REQUIRE(r.samples.size() == x.shape(0));
  // Purity: nearly every cell holds one cluster only.
  std::size_t pure_members = 0;
  for (const auto& c : r.levels[0].cells) {
    std::vector<std::size_t> counts(4, 0);
    for (auto m : c.members) ++counts[static_cast<std::size_t>(label[m])];
    pure_members += *std::max_element(counts.begin(), counts.end());
  }
  CHECK(double(pure_members) / x.shape(0) > 0.97);
}

TEST_CASE("run rejects inconsistent inputs with one clear line", "[pipeline]") {
  matrix x = test::random_matrix(10, 3, 1);
  matrix attr = test::random_matrix(9, 2, 2);
  pipeline<first_two, filter::rank> p;
  CHECK_THROWS_WITH(p.run(x, attr), Catch::Contains("attributions") && Catch::Contains("9 rows"));
  matrix attr_ok = xt::zeros<float>({10, 2});
  attr_ok(0, 1) = 1.f;  // only sample 0 prefers class 1; class 0 wins the ties
  pipeline<first_two, filter::rank> one(filter::rank({.cls = 1}));
  CHECK(one.select(x, attr_ok) == std::vector<std::uint32_t>{0});
  CHECK_THROWS_WITH(one.run(x, attr_ok), Catch::Contains("filter::rank") && Catch::Contains("kept 1 sample") &&
                                             Catch::Contains("at least 8"));
}

TEST_CASE("a class filter without attributions is an error, never a silent switch to no filter", "[pipeline]") {
  // Review bug: run(x, {}) used to replace the rank filter by no_filter and lay out everything.
  matrix x = test::random_matrix(40, 3, 1);
  const pipeline<filter::rank> rank_atlas;
  const pipeline<first_two, filter::magnitude> magnitude_atlas;
  const pipeline<first_two> full_atlas;
  CHECK_THROWS_WITH(rank_atlas.run(x, {}), Catch::Contains("attributions") && Catch::Contains("rank"));
  CHECK_THROWS_WITH(magnitude_atlas.select(x, {}), Catch::Contains("magnitude"));
  CHECK(full_atlas.select(x, {}).size() == 40);
}

TEST_CASE("a class index out of range names the library option, not a command-line flag", "[pipeline]") {
  matrix attr = test::random_matrix(20, 3, 4);
  CHECK_THROWS_WITH(filter::rank({.cls = 7}).select(attr), Catch::StartsWith("filter::rank.cls: class index 7"));
  CHECK_THROWS_WITH(filter::magnitude({.cls = 3}).select(attr), Catch::StartsWith("filter::magnitude.cls:"));
  const filter::class_pair pair({.class_a = 0, .class_b = 5});
  CHECK_THROWS_WITH(pair.select(attr), Catch::StartsWith("filter::class_pair.class_b:"));
}

TEST_CASE("rank with top_n keeps the N rank-filtered samples with the largest attribution", "[pipeline]") {
  matrix attr = test::random_matrix(300, 3, 9, -1.f, 1.f);
  const auto all = filter::rank({.cls = 2}).select(attr);
  const auto top = filter::rank({.cls = 2, .top_n = 10}).select(attr);
  REQUIRE(all.size() > 10);
  REQUIRE(top.size() == 10);
  CHECK(std::is_sorted(top.begin(), top.end()));
  float weakest_kept = 1e9f, strongest_dropped = -1e9f;
  for (auto i : all) {
    const bool kept = std::find(top.begin(), top.end(), i) != top.end();
    if (kept) weakest_kept = std::min(weakest_kept, attr(i, 2));
    else strongest_dropped = std::max(strongest_dropped, attr(i, 2));
  }
  CHECK(weakest_kept >= strongest_dropped);
}

TEST_CASE("class_pair keeps the union of both classes' top N", "[pipeline]") {
  matrix attr = test::random_matrix(200, 4, 10, -1.f, 1.f);
  const auto a = filter::magnitude({.cls = 1, .top_n = 15}).select(attr);
  const auto b = filter::magnitude({.cls = 3, .top_n = 15}).select(attr);
  const auto both = filter::class_pair({.class_a = 1, .class_b = 3, .top_n = 15}).select(attr);
  std::vector<std::uint32_t> expected;
  for (std::uint32_t i = 0; i < 200; ++i)
    if (std::count(a.begin(), a.end(), i) || std::count(b.begin(), b.end(), i)) expected.push_back(i);
  CHECK(both == expected);
  const filter::class_pair same({.class_a = 2, .class_b = 2});
  CHECK_THROWS_WITH(same.select(attr), Catch::Contains("same class"));
}

TEST_CASE("grids beyond the limit are an error that states it, before any allocation", "[pipeline][binning]") {
  // Review bug: render --grid 2048 --levels 6 looped or ended in bad_alloc (a 32-bit cell index).
  matrix unit = test::random_matrix(50, 2, 3, 0.f, 1.f);
  const binning::multires_grid huge({.base_grid = 2048, .levels = 6}), deep({.base_grid = 3, .levels = 200});
  CHECK_THROWS_WITH(huge.bin(unit),
                    Catch::Contains("multires_grid.levels") && Catch::Contains("4096"));
  CHECK_THROWS_WITH(deep.bin(unit), Catch::Contains("4096"));
  CHECK_THROWS_WITH(binning::grid({.grid_size = 4097}).bin(unit), Catch::Contains("4096"));
  CHECK(binning::multires_grid({.base_grid = 2048, .levels = 2}).finest_grid() == 4096);
  const auto finest = binning::grid({.grid_size = 4096, .min_count = 1}).bin(unit).at(0);
  std::size_t members = 0;
  for (const auto& c : finest.cells) {
    members += c.members.size();
    CHECK(c.ix < 4096);
    CHECK(c.iy < 4096);
  }
  CHECK(members == 50);
}
