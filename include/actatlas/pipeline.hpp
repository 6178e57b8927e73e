/// @file pipeline.hpp
/// `actatlas::pipeline<Policies...>`: an atlas recipe assembled from policies, one per
/// role (sampler, reducer, binning, filter, objective), given in any order. Roles left
/// out get the paper's defaults, so `pipeline<>` is the article's atlas and
/// `pipeline<reducer::tsne<>, filter::rank>` a class activation atlas.
///
/// @code
/// actatlas::pipeline<actatlas::binning::grid, actatlas::filter::rank> p(
///     actatlas::filter::rank({.cls = 3}), actatlas::binning::grid({.grid_size = 8}));
/// auto result = p.run(activations, attributions);   // filter → layout → bins → cells
/// @endcode
///
/// Mistakes are caught at compile time with one message that names the role: two
/// policies for one role, a type that plays no role, a policy that lacks what its role
/// needs. Define ACTATLAS_DISABLE_POLICY_CHECKS to turn the last check off.
///
/// Boost.Hana stays inside this header: users see plain member types (`reducer_type`…).
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <utility>
#include <vector>

#include <boost/hana/append.hpp>
#include <boost/hana/count_if.hpp>
#include <boost/hana/filter.hpp>
#include <boost/hana/front.hpp>
#include <boost/hana/integral_constant.hpp>
#include <boost/hana/tuple.hpp>
#include <boost/hana/type.hpp>

#include "binning/grid.hpp"
#include "cells.hpp"
#include "concepts/binning.hpp"
#include "concepts/filter.hpp"
#include "concepts/objective.hpp"
#include "concepts/reducer.hpp"
#include "concepts/sampler.hpp"
#include "filter/no_filter.hpp"
#include "layout/normalise.hpp"
#include "objective/cossim_dot.hpp"
#include "reducer/umap.hpp"
#include "sampler/random_position.hpp"

namespace actatlas {

//! The policies a role gets when a pipeline does not name one: the article's atlas.
struct default_policies {
  using sampler = actatlas::sampler::random_position;
  using reducer = actatlas::reducer::umap;
  using binning = actatlas::binning::grid;
  using filter = actatlas::filter::no_filter;
  using objective = actatlas::objective::cossim_dot<>;
};

namespace detail {

namespace hana = boost::hana;

template <class P>
inline constexpr bool plays_a_role = plays_role<P, role::sampler> || plays_role<P, role::reducer> ||
                                     plays_role<P, role::binning> || plays_role<P, role::filter> ||
                                     plays_role<P, role::objective>;

//! How many of `Ps` play role `R`.
template <class R, class... Ps>
inline constexpr std::size_t role_count = (std::size_t{0} + ... + std::size_t{plays_role<Ps, R>});

//! The policy among `Ps` that plays `R`, else `Default` (Hana: filter the type list by
//! role, append the default, take the front).
template <class R, class Default, class... Ps>
using policy_for = typename std::remove_cvref_t<decltype(hana::front(hana::append(
    hana::filter(hana::tuple_t<Ps...>,
                 [](auto t) { return hana::bool_c<plays_role<typename decltype(t)::type, R>>; }),
    hana::type_c<Default>)))>::type;

//! One static_assert per role requirement, for the policies a pipeline resolved. The
//! pipeline derives from this (empty) class: a concept check written directly in the
//! pipeline's body is skipped by GCC 12 without a word, a base class is always checked.
template <class S, class R, class B, class F, class O>
struct policy_checks {
#ifndef ACTATLAS_DISABLE_POLICY_CHECKS
  static_assert(sampler_policy<S>,
                "actatlas::pipeline: the sampler policy lacks `std::vector<position> positions(std::uint64_t image, "
                "std::size_t h, std::size_t w) const` (see docs/policies.md)");
  static_assert(reducer_policy<R>,
                "actatlas::pipeline: the reducer policy lacks `matrix reduce(matrix_cref, std::size_t dims, "
                "const progress_fn&) const` (see docs/policies.md)");
  static_assert(binning_policy<B>,
                "actatlas::pipeline: the binning policy lacks `std::vector<grid_level> bin(matrix_cref) const` "
                "(see docs/policies.md)");
  static_assert(filter_policy<F>,
                "actatlas::pipeline: the filter policy lacks `std::vector<std::uint32_t> select(matrix_cref) const` "
                "(see docs/policies.md)");
  static_assert(objective_policy<O>,
                "actatlas::pipeline: the objective policy lacks a role, name or options (see docs/policies.md)");
#endif
};

template <class... Ps>
using policy_checks_for = policy_checks<policy_for<role::sampler, default_policies::sampler, Ps...>,
                                        policy_for<role::reducer, default_policies::reducer, Ps...>,
                                        policy_for<role::binning, default_policies::binning, Ps...>,
                                        policy_for<role::filter, default_policies::filter, Ps...>,
                                        policy_for<role::objective, default_policies::objective, Ps...>>;

}  // namespace detail

//! What `pipeline::run` produces from an activation set.
struct pipeline_result {
  std::vector<std::uint32_t> samples;        //!< the sample ids the filter kept
  matrix layout;                             //!< their layout, normalised to the unit square (rows follow `samples`)
  std::vector<grid_level> levels;            //!< cells per grid level; members are sample ids of the full set
  std::vector<std::vector<cell_summary>> cells;  //!< per level, per cell: means, count, density
};

template <class... Policies>
class pipeline : private detail::policy_checks_for<Policies...> {
  static_assert((detail::plays_a_role<Policies> && ...),
                "actatlas::pipeline: a template argument plays no role; a policy declares "
                "`using role = actatlas::role::<sampler|reducer|binning|filter|objective>;`, a `name` and an `options` struct");
  static_assert(detail::role_count<role::sampler, Policies...> <= 1,
                "actatlas::pipeline: two policies for the role 'sampler'");
  static_assert(detail::role_count<role::reducer, Policies...> <= 1,
                "actatlas::pipeline: two policies for the role 'reducer'");
  static_assert(detail::role_count<role::binning, Policies...> <= 1,
                "actatlas::pipeline: two policies for the role 'binning'");
  static_assert(detail::role_count<role::filter, Policies...> <= 1,
                "actatlas::pipeline: two policies for the role 'filter'");
  static_assert(detail::role_count<role::objective, Policies...> <= 1,
                "actatlas::pipeline: two policies for the role 'objective'");

 public:
  using sampler_type = detail::policy_for<role::sampler, default_policies::sampler, Policies...>;
  using reducer_type = detail::policy_for<role::reducer, default_policies::reducer, Policies...>;
  using binning_type = detail::policy_for<role::binning, default_policies::binning, Policies...>;
  using filter_type = detail::policy_for<role::filter, default_policies::filter, Policies...>;
  using objective_type = detail::policy_for<role::objective, default_policies::objective, Policies...>;


  //! All policies default-constructed (their options hold the reference defaults).
  pipeline() = default;

  //! Configured policies, in any order; roles not given keep their defaults.
  template <class... Given>
    requires(sizeof...(Given) > 0 && (detail::plays_a_role<std::remove_cvref_t<Given>> && ...))
  explicit pipeline(Given&&... given) {
    (assign(std::forward<Given>(given)), ...);
  }

  //! @name The policy of each role.
  //! @{
  const sampler_type& sampler() const noexcept { return sampler_; }
  sampler_type& sampler() noexcept { return sampler_; }
  const reducer_type& reducer() const noexcept { return reducer_; }
  reducer_type& reducer() noexcept { return reducer_; }
  const binning_type& binning() const noexcept { return binning_; }
  binning_type& binning() noexcept { return binning_; }
  const filter_type& filter() const noexcept { return filter_; }
  filter_type& filter() noexcept { return filter_; }
  const objective_type& objective() const noexcept { return objective_; }
  objective_type& objective() noexcept { return objective_; }
  //! @}

  //! How layouts are clipped and scaled before binning.
  const normalise_options& normalisation() const noexcept { return normalise_; }
  normalise_options& normalisation() noexcept { return normalise_; }

  //! The CPU stages after collection: filter → layout (reduce, normalise) → bins → cells.
  //! `attributions` may be empty only with a filter that ignores it (no_filter).
  pipeline_result run(matrix_cref activations, matrix_cref attributions, const progress_fn& progress = {}) const {
    pipeline_result r;
    if (!attributions.empty() && attributions.rows() != activations.rows())
      throw input_error("attributions", "has " + std::to_string(attributions.rows()) + " rows but activations have " +
                                            std::to_string(activations.rows()));
    r.samples = attributions.empty() ? filter::no_filter{}.select(activations) : filter_.select(attributions);
    if (r.samples.empty()) throw input_error("filter", "no samples left after the " + std::string(filter_type::name) + " filter");

    // Reduce the kept rows only. When the filter kept everything the input is used in
    // place (it may be a memory map larger than RAM).
    matrix gathered;
    matrix_cref kept = activations;
    if (r.samples.size() != activations.rows()) {
      gathered = matrix::from_shape({r.samples.size(), activations.cols()});
      for (std::size_t i = 0; i < r.samples.size(); ++i) {
        auto row = activations.row(r.samples[i]);
        std::copy(row.begin(), row.end(), gathered.data() + i * activations.cols());
      }
      kept = gathered;
    }
    r.layout = normalise_layout(reducer_.reduce(kept, 2, progress), normalise_);
    r.levels = binning_.bin(r.layout);
    // Binning numbered members by row of the kept subset; the outside world speaks sample ids.
    for (auto& level : r.levels)
      for (auto& c : level.cells)
        for (auto& m : c.members) m = r.samples[m];
    for (const auto& level : r.levels) r.cells.push_back(summarise(level, activations, attributions));
    return r;
  }

 private:
  template <class P>
  void assign(P&& p) {
    using T = std::remove_cvref_t<P>;
    static_assert(std::is_same_v<T, sampler_type> || std::is_same_v<T, reducer_type> || std::is_same_v<T, binning_type> ||
                      std::is_same_v<T, filter_type> || std::is_same_v<T, objective_type>,
                  "actatlas::pipeline: a constructor argument is not one of the pipeline's policy types; name its "
                  "type among the pipeline's template arguments");
    if constexpr (plays_role<T, role::sampler>) sampler_ = std::forward<P>(p);
    else if constexpr (plays_role<T, role::reducer>) reducer_ = std::forward<P>(p);
    else if constexpr (plays_role<T, role::binning>) binning_ = std::forward<P>(p);
    else if constexpr (plays_role<T, role::filter>) filter_ = std::forward<P>(p);
    else objective_ = std::forward<P>(p);
  }

  sampler_type sampler_{};
  reducer_type reducer_{};
  binning_type binning_{};
  filter_type filter_{};
  objective_type objective_{};
  normalise_options normalise_{};
};

}  // namespace actatlas
