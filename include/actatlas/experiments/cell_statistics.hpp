/// @file experiments/cell_statistics.hpp
/// Where two image sets laid out in one atlas differ: per cell, the two counts, the log2
/// ratio of the cell's share of set A to its share of set B, a two-sided exact binomial
/// test, and Benjamini–Hochberg q-values over the cells of a grid level. No LibTorch: the
/// numbers come from cell member counts alone (torch/compare_datasets.hpp gathers them).
///
/// - The test: given the cell's n = n_A + n_B samples, is n_A ~ Binomial(n, π) with π =
///   N_A / (N_A + N_B), the share of A among all samples laid out? Two-sided by the minimum
///   likelihood rule (R's binom.test, scipy.stats.binomtest): the p-value sums the
///   probabilities of every outcome no more likely than the one observed (relative
///   tolerance 1e-7, as R). Conditioning on the cell's total makes it the exact test of
///   "this cell holds A and B in the proportion of the whole sets".
/// - The ratio: log2(((n_A + κ·π) / N_A) / ((n_B + κ·(1−π)) / N_B)) with one pseudo-sample
///   per cell (κ = 1) split between the sets in proportion to their sizes. So a cell with
///   no samples has ratio 0, the ratio's sign is always the sign of n_A/N_A − n_B/N_B (a
///   pseudo-count of ½ each would flip it for small cells of very unequal sets), and a cell
///   that only one set reaches has a finite ratio that grows with its count.
/// - q-values: Benjamini–Hochberg (step-up, monotone, capped at 1) over the cells the
///   level shows (those at or above the binning's minimum count): the false discovery rate
///   among cells called significant at q < α is at most α.
///
/// When one set is a subset of the other (a deployment set against the training set that
/// contains it) the ratio still reads "share in A over share in B": a cell above 0 is
/// where the subset concentrates. The test then treats the overlap as independent samples;
/// shared samples make n_A and n_B move together, so the test is conservative (fewer cells
/// called significant than with disjoint sets), never overconfident. Comparing A with
/// B minus A gives the full power.
///
/// @code
/// auto stats = actatlas::experiments::compare_counts({{40, 2}, {10, 12}}, 500, 520);
/// stats[0].side;   // +1: significantly more of A
/// @endcode
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <numeric>
#include <string>
#include <vector>

#include "../error.hpp"

namespace actatlas::experiments {

//! How cells are compared.
struct cell_statistics_options {
  double pseudo_count = 1.0;  //!< κ: pseudo-samples per cell in the ratio, split in proportion to the set sizes
  double alpha = 0.05;        //!< a cell is significant when its q-value is below this
};

}  // namespace actatlas::experiments

namespace actatlas {

//! How two sets are compared and shown (torch/compare_datasets.hpp; here, without
//! LibTorch, so that a command line declares its flags from these defaults).
struct dataset_comparison_options {
  std::string name_a, name_b;  //!< the sets' names in the legend and summary (default: the folders' names)
  experiments::cell_statistics_options statistics{};
  std::size_t top = 8;         //!< cells listed on each side (summary, picture marks, viewer panel)
  int patches_per_side = 6;    //!< dataset patches of each set shown for a listed cell
};

}  // namespace actatlas

namespace actatlas::experiments {

//! One cell of two sets.
struct cell_comparison {
  std::size_t n_a = 0, n_b = 0;  //!< the cell's samples of each set
  double log2_ratio = 0;         //!< log2 of (share of A) / (share of B), with the pseudo-count
  double p_value = 1;            //!< two-sided exact binomial test against the overall share of A
  double q_value = 1;            //!< Benjamini–Hochberg over the level's cells
  int side = 0;                  //!< +1 significantly more of A, −1 of B, 0 not significant
};

//! log P(X = k) for X ~ Binomial(n, p), 0 < p < 1.
inline double log_binomial_pmf(std::size_t k, std::size_t n, double p) {
  const double kk = static_cast<double>(k), nn = static_cast<double>(n);
  return std::lgamma(nn + 1) - std::lgamma(kk + 1) - std::lgamma(nn - kk + 1) + kk * std::log(p) + (nn - kk) * std::log1p(-p);
}

//! Two-sided exact binomial test of k successes in n trials against probability p (the
//! minimum-likelihood rule of R's binom.test): the sum of P(X = i) over every i with
//! P(X = i) ≤ P(X = k)·(1 + 1e-7). Summed in log space, so p-values far below 1e-300
//! come out as 0 rather than as an underflowed sum of rounding errors.
inline double binomial_test_two_sided(std::size_t k, std::size_t n, double p) {
  if (!(p > 0.0 && p < 1.0)) throw input_error("binomial_test_two_sided.p", "must lie strictly between 0 and 1, is " + std::to_string(p));
  if (k > n) throw input_error("binomial_test_two_sided.k", "exceeds the number of trials");
  if (n == 0) return 1.0;
  const double observed = log_binomial_pmf(k, n, p) + std::log1p(1e-7);
  // Log-sum-exp over the outcomes no more likely than k's.
  double top = -INFINITY;
  std::vector<double> terms;
  terms.reserve(n + 1);
  for (std::size_t i = 0; i <= n; ++i) {
    const double l = log_binomial_pmf(i, n, p);
    if (l <= observed) {
      terms.push_back(l);
      top = std::max(top, l);
    }
  }
  if (terms.empty()) return 1.0;
  double sum = 0;
  for (double l : terms) sum += std::exp(l - top);
  return std::min(1.0, std::exp(top + std::log(sum)));
}

//! Benjamini–Hochberg q-values of `p` (same order): q_(i) = min over j ≥ i of m·p_(j)/j,
//! capped at 1, for the p-values sorted ascending.
inline std::vector<double> benjamini_hochberg(const std::vector<double>& p) {
  const std::size_t m = p.size();
  std::vector<std::size_t> order(m);
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return p[a] < p[b]; });
  std::vector<double> q(m);
  double running = 1.0;
  for (std::size_t r = m; r-- > 0;) {
    running = std::min(running, p[order[r]] * static_cast<double>(m) / static_cast<double>(r + 1));
    q[order[r]] = std::min(1.0, running);
  }
  return q;
}

//! The ratio of the header comment: log2 of the cell's share of A over its share of B.
inline double log2_share_ratio(std::size_t n_a, std::size_t n_b, std::size_t total_a, std::size_t total_b,
                               double pseudo_count = cell_statistics_options{}.pseudo_count) {
  const double na = static_cast<double>(total_a), nb = static_cast<double>(total_b);
  const double share_a = na / (na + nb);
  return std::log2(((static_cast<double>(n_a) + pseudo_count * share_a) / na) /
                   ((static_cast<double>(n_b) + pseudo_count * (1.0 - share_a)) / nb));
}

//! Every cell of a level compared: `counts[i]` = {n_A, n_B} of cell i; `total_a` and
//! `total_b` are the samples of each set laid out (all cells, shown or not).
inline std::vector<cell_comparison> compare_counts(const std::vector<std::array<std::size_t, 2>>& counts, std::size_t total_a,
                                                   std::size_t total_b, const cell_statistics_options& o = {}) {
  if (total_a == 0 || total_b == 0)
    throw input_error(total_a == 0 ? "compare_counts.total_a" : "compare_counts.total_b",
                      "a set with no samples cannot be compared");
  if (!(o.pseudo_count >= 0.0)) throw input_error("cell_statistics_options.pseudo_count", "must be at least 0");
  const double share_a = static_cast<double>(total_a) / static_cast<double>(total_a + total_b);
  std::vector<cell_comparison> out(counts.size());
  std::vector<double> p(counts.size());
  for (std::size_t i = 0; i < counts.size(); ++i) {
    auto& c = out[i];
    c.n_a = counts[i][0];
    c.n_b = counts[i][1];
    c.log2_ratio = log2_share_ratio(c.n_a, c.n_b, total_a, total_b, o.pseudo_count);
    c.p_value = p[i] = binomial_test_two_sided(c.n_a, c.n_a + c.n_b, share_a);
  }
  const auto q = benjamini_hochberg(p);
  for (std::size_t i = 0; i < out.size(); ++i) {
    auto& c = out[i];
    c.q_value = q[i];
    // The side is the sign of the share difference n_A/N_A − n_B/N_B (exactly, in integers).
    const auto lhs = c.n_a * total_b, rhs = c.n_b * total_a;
    if (c.q_value < o.alpha && lhs != rhs) c.side = lhs > rhs ? 1 : -1;
  }
  return out;
}

}  // namespace actatlas::experiments
