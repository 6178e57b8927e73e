// experiments/cell_statistics.hpp: the exact binomial test against R's documented
// binom.test example and against exact sums of binomial probabilities (Python's
// fractions, worked outside this code; small cases by hand), Benjamini–Hochberg against
// hand-sorted lists, and the ratio's stated pseudo-count.
#include <catch2/catch.hpp>

#include <actatlas/experiments/cell_statistics.hpp>

#include <cmath>
#include <vector>

namespace {

using namespace actatlas::experiments;

TEST_CASE("binomial test: R's example and exact sums", "[dataset_comparison]") {
  // R's ?binom.test: binom.test(c(682, 243), p = 3/4) gives p-value = 0.3825.
  CHECK(binomial_test_two_sided(682, 925, 0.75) == Approx(0.3825).margin(5e-5));
  // By hand: n = 5, p = 1/2. P(0) = 1/32: outcomes as unlikely are 0 and 5.
  CHECK(binomial_test_two_sided(0, 5, 0.5) == Approx(2.0 / 32));
  // P(1) = 5/32: outcomes 0, 1, 4, 5 → 12/32.
  CHECK(binomial_test_two_sided(1, 5, 0.5) == Approx(12.0 / 32));
  // n = 3, p = 1/4 (asymmetric): P = 27/64, 27/64, 9/64, 1/64.
  CHECK(binomial_test_two_sided(3, 3, 0.25) == Approx(1.0 / 64));
  CHECK(binomial_test_two_sided(2, 3, 0.25) == Approx(10.0 / 64));
  CHECK(binomial_test_two_sided(1, 3, 0.25) == Approx(1.0));
  // Exact sums over fractions (Python): larger n, asymmetric p, far tails.
  CHECK(binomial_test_two_sided(30, 40, 0.4) == Approx(1.1876423538971288e-05).epsilon(1e-9));
  CHECK(binomial_test_two_sided(12, 20, 1.0 / 11) == Approx(1.9936915808591787e-08).epsilon(1e-9));
  CHECK(binomial_test_two_sided(0, 50, 10.0 / 11) == Approx(8.51855127950064e-53).epsilon(1e-9));
  CHECK(binomial_test_two_sided(0, 0, 0.3) == 1.0);
  CHECK_THROWS_AS(binomial_test_two_sided(1, 2, 1.0), actatlas::input_error);
}

TEST_CASE("Benjamini–Hochberg q-values", "[dataset_comparison]") {
  // Sorted 0.005, 0.01, 0.03, 0.04 → 4p/j = 0.02, 0.02, 0.04, 0.04.
  const auto q = benjamini_hochberg({0.01, 0.04, 0.03, 0.005});
  REQUIRE(q.size() == 4);
  CHECK(q[0] == Approx(0.02));
  CHECK(q[1] == Approx(0.04));
  CHECK(q[2] == Approx(0.04));
  CHECK(q[3] == Approx(0.02));
  // Sorted 0.001, 0.02, 0.021, 0.5, 0.9 → 5p/j = 0.005, 0.05, 0.035, 0.625, 0.9; the step-up
  // takes the minimum from the top, so 0.05 becomes 0.035.
  const auto r = benjamini_hochberg({0.02, 0.5, 0.021, 0.9, 0.001});
  CHECK(r[0] == Approx(0.035));
  CHECK(r[1] == Approx(0.625));
  CHECK(r[2] == Approx(0.035));
  CHECK(r[3] == Approx(0.9));
  CHECK(r[4] == Approx(0.005));
  CHECK(benjamini_hochberg({0.9, 0.95})[1] == Approx(0.95));
}

TEST_CASE("log2 ratio: one pseudo-sample split by set size", "[dataset_comparison]") {
  // Equal sets: ½ each. 10 of 100 against 5 of 100 → log2(10.5 / 5.5).
  CHECK(log2_share_ratio(10, 5, 100, 100) == Approx(std::log2(10.5 / 5.5)));
  // An empty cell has ratio 0 whatever the sizes.
  CHECK(log2_share_ratio(0, 0, 1000, 100) == Approx(0.0).margin(1e-12));
  // Sets 10:1: one A sample in a cell B never reaches is A-heavy (share 1/1000 against 0),
  // which a pseudo-count of ½ for each would turn B-heavy: log2((1.5/1000)/(0.5/100)) < 0.
  CHECK(log2_share_ratio(1, 0, 1000, 100) > 0);
  CHECK(log2_share_ratio(1, 0, 1000, 100) == Approx(std::log2(((1 + 1000.0 / 1100) / 1000) / ((100.0 / 1100) / 100))));
  // Proportional counts: ratio 0.
  CHECK(log2_share_ratio(100, 10, 1000, 100) == Approx(0.0).margin(1e-12));
}

TEST_CASE("compare_counts: sides, q-values, sizes 10:1", "[dataset_comparison]") {
  // A has 10× the samples of B. Cell 0: about in proportion (leaning A, not significantly);
  // cell 1: only A; cell 2: B-heavy.
  const auto c = compare_counts({{{210, 19}}, {{60, 0}}, {{20, 30}}}, 1000, 100);
  REQUIRE(c.size() == 3);
  CHECK(c[0].side == 0);
  CHECK(c[0].log2_ratio > 0);
  CHECK(c[0].p_value > 0.5);
  CHECK(c[1].side == 1);
  CHECK(c[1].log2_ratio > 0);
  CHECK(c[2].side == -1);
  CHECK(c[2].log2_ratio < 0);
  // q = BH of the three p-values.
  const auto q = benjamini_hochberg({c[0].p_value, c[1].p_value, c[2].p_value});
  for (int i = 0; i < 3; ++i) CHECK(c[static_cast<std::size_t>(i)].q_value == Approx(q[static_cast<std::size_t>(i)]));
  // p of cell 1: 60 of 60 against 10/11.
  CHECK(c[1].p_value == Approx(binomial_test_two_sided(60, 60, 10.0 / 11)));
  CHECK_THROWS_AS(compare_counts({{{1, 0}}}, 0, 10), actatlas::input_error);
}

}  // namespace
