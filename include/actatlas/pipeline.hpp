/// @file pipeline.hpp
/// `actatlas::pipeline<Policies...>`: the atlas engine, assembled from policies, one per
/// role (sampler, reducer, binning, filter, objective), given in any order. Roles left
/// out get the paper's defaults, so `pipeline<>` is the article's atlas and
/// `pipeline<reducer::tsne, filter::rank>` a class activation atlas.
///
/// The pipeline runs every stage with its own policies, each on its own over folders or
/// all in one call:
///
///   collect  (sampler)                 images → run/activations.npy, attributions.npy, provenance.csv
///   lay_out  (filter, reducer)         run/activations.npy → layout.npy (+ layout.json: what made it)
///   render   (binning, objective)      run + layout → atlas folder: icons, pictures, cells JSON, viewer
///   atlas                              the three above into out/run and out/atlas
///
/// `lay_out` and `run` (the same middle stages in memory) need no LibTorch; `collect`,
/// `render` and `atlas` are defined in <actatlas/torch/pipeline.hpp> (included by
/// <actatlas/actatlas.hpp> in builds with LibTorch). Each folder stage writes a record of
/// the options and input fingerprints that shaped it (stage_record.hpp) and reuses its
/// output on a later run only when they match; `on_stage()` hears which stages were
/// reused or redone, and why.
///
/// @code
/// actatlas::pipeline<actatlas::reducer::tsne, actatlas::filter::rank> p(actatlas::filter::rank({.cls = 3}));
/// p.collection().layer = "conv4";
/// p.icons().steps = 256;
/// auto result = p.atlas(model, "images", "out");   // collect → lay out → bin → icons → pictures
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

#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "binning/grid.hpp"
#include "cells.hpp"
#include "concepts/binning.hpp"
#include "concepts/filter.hpp"
#include "concepts/objective.hpp"
#include "concepts/reducer.hpp"
#include "concepts/sampler.hpp"
#include "filter/no_filter.hpp"
#include "io/fingerprint.hpp"
#include "io/folder_lock.hpp"
#include "io/npy.hpp"
#include "layout/normalise.hpp"
#include "objective/cossim_dot.hpp"
#include "reducer/umap.hpp"
#include "sampler/random_position.hpp"
#include "stage_options.hpp"
#include "stage_record.hpp"

namespace actatlas {

// The model side, defined in <actatlas/torch/...>: this header stays free of LibTorch.
class classifier;
class process_group;
struct collect_summary;
struct render_result;
struct atlas_result;

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

//! A stage output's record: the same name with .json (layout.npy → layout.json).
inline std::filesystem::path record_path(const std::filesystem::path& output) {
  auto p = output;
  return p.replace_extension(".json");
}

//! The sample ids a layout record names: its "samples", or all `rows` rows when the
//! filter kept everything (or the layout came from elsewhere, without a record).
inline std::vector<std::uint32_t> record_samples(const std::optional<nlohmann::json>& record, std::size_t rows) {
  std::vector<std::uint32_t> ids;
  if (record && record->contains("samples")) ids = record->at("samples").get<std::vector<std::uint32_t>>();
  else for (std::size_t i = 0; i < rows; ++i) ids.push_back(static_cast<std::uint32_t>(i));
  if (ids.size() != rows)
    throw input_error("layout", "has " + std::to_string(rows) + " rows but its record names " + std::to_string(ids.size()) +
                                    " samples");
  return ids;
}

}  // namespace detail

//! What `pipeline::run` produces from an activation set.
struct pipeline_result {
  std::vector<std::uint32_t> samples;        //!< the sample ids the filter kept
  matrix layout;                             //!< their layout, normalised to the unit square (rows follow `samples`)
  std::vector<grid_level> levels;            //!< cells per grid level; members are sample ids of the full set
  std::vector<std::vector<cell_summary>> cells;  //!< per level, per cell: means, count, density
};

//! What `pipeline::lay_out` made (or found).
struct layout_result {
  std::vector<std::uint32_t> samples;  //!< the sample ids laid out (rows of the activation set), in layout row order
  matrix layout;                       //!< N×dims, as the reducer made it (not yet normalised)
  stage_report report;
};

//! Fewer samples than this cannot be laid out in any meaningful way.
inline constexpr std::size_t min_layout_samples = 8;

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

  //! True when the layout needs the attributions: a class filter, or a reducer that reads them.
  static constexpr bool uses_attributions =
      !std::is_same_v<filter_type, actatlas::filter::no_filter> || reads_attributions_v<reducer_type>;

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

  //! @name The stages' settings that belong to no policy (stage_options.hpp).
  //! @{
  const collect_options& collection() const noexcept { return collect_; }
  collect_options& collection() noexcept { return collect_; }
  //! How layouts are clipped and scaled before binning.
  const normalise_options& normalisation() const noexcept { return normalise_; }
  normalise_options& normalisation() noexcept { return normalise_; }
  const icon_options& icons() const noexcept { return icons_; }
  icon_options& icons() noexcept { return icons_; }
  const picture_options& pictures() const noexcept { return pictures_; }
  picture_options& pictures() noexcept { return pictures_; }
  //! Called as long stages advance (see progress.hpp); empty = silent.
  const progress_fn& progress() const noexcept { return progress_; }
  progress_fn& progress() noexcept { return progress_; }
  //! Called once per folder stage: reused or (re)done, and why.
  const stage_fn& on_stage() const noexcept { return on_stage_; }
  stage_fn& on_stage() noexcept { return on_stage_; }
  //! The job this process is a rank of (torch/process_group.hpp); null: it runs alone.
  //! In a job every rank calls the same folder stages: collect and render split their
  //! work across the ranks, `atlas` lays out on rank 0 while the others wait, and only
  //! rank 0 reports progress and stages. `lay_out` called on its own is not split.
  const std::shared_ptr<process_group>& processes() const noexcept { return processes_; }
  std::shared_ptr<process_group>& processes() noexcept { return processes_; }
  //! @}

  //! @name The middle stages in memory (CPU).
  //! @{

  //! The sample ids the filter keeps (ascending). `attributions` may be empty only when
  //! the pipeline does not use them (no filter, a reducer that ignores them).
  std::vector<std::uint32_t> select(matrix_cref activations, matrix_cref attributions) const {
    if (!attributions.empty() && attributions.rows() != activations.rows())
      throw input_error("attributions", "has " + std::to_string(attributions.rows()) + " rows but activations have " +
                                            std::to_string(activations.rows()));
    if constexpr (uses_attributions) {
      if (attributions.empty())
        throw input_error("attributions", "are needed by the " + std::string(filter_type::name) + " filter and the " +
                                              std::string(reducer_type::name) + " reducer, but none were given");
      return filter_.select(attributions);
    } else {
      return actatlas::filter::no_filter{}.select(activations);
    }
  }

  //! The reducer's layout (N×dims, not normalised) of the rows `samples` (all rows when
  //! `samples` holds every id in order: then the input is used in place, e.g. a memory map).
  matrix reduce(matrix_cref activations, matrix_cref attributions, const std::vector<std::uint32_t>& samples,
                std::size_t dims = 2) const {
    if (samples.size() < min_layout_samples)
      throw input_error(std::string("filter::") + std::string(filter_type::name),
                        "kept " + std::to_string(samples.size()) + " sample(s); a layout needs at least " +
                            std::to_string(min_layout_samples) + " (collect more samples, or relax the filter)");
    const bool all = samples.size() == activations.rows();
    matrix kept_x, kept_t;
    const matrix_cref x = all ? activations : matrix_cref(kept_x = gather_rows(activations, samples));
    if constexpr (reads_attributions_v<reducer_type>) {
      const matrix_cref t = all ? attributions : matrix_cref(kept_t = gather_rows(attributions, samples));
      return reducer_.reduce(x, t, dims, progress_);
    } else {
      return reducer_.reduce(x, dims, progress_);
    }
  }

  //! Normalises a 2-D layout of the rows `samples` and bins it on every level of the
  //! binning; cell members are sample ids.
  std::vector<grid_level> bin(matrix_cref layout, const std::vector<std::uint32_t>& samples) const {
    if (layout.rows() != samples.size())
      throw input_error("layout", "has " + std::to_string(layout.rows()) + " rows for " + std::to_string(samples.size()) +
                                      " samples");
    auto levels = binning_.bin(normalise_layout(layout, normalise_));
    // Binning numbered members by layout row; the outside world speaks sample ids.
    for (auto& level : levels)
      for (auto& c : level.cells)
        for (auto& m : c.members) m = samples[m];
    return levels;
  }

  //! filter → layout (reduce, normalise) → bins → cell summaries, all in memory.
  pipeline_result run(matrix_cref activations, matrix_cref attributions) const {
    pipeline_result r;
    r.samples = select(activations, attributions);
    r.layout = normalise_layout(reduce(activations, attributions, r.samples), normalise_);
    r.levels = bin(r.layout, r.samples);
    // `layout` is normalised already; binning it again through bin() would renormalise.
    for (const auto& level : r.levels) r.cells.push_back(summarise(level, activations, attributions));
    return r;
  }
  //! @}

  //! @name The stages over folders.
  //! @{

  //! Lays out the rows of `activations` (an N×D float32 .npy; its sibling attributions.npy
  //! is read when the pipeline uses attributions) into `layout` (.npy, N'×dims, rows in the
  //! order of the kept samples), with a record `layout` → `.json` beside it that holds the
  //! kept sample ids when the filter dropped some. Reused when the record matches.
  layout_result lay_out(const std::filesystem::path& activations, const std::filesystem::path& layout, std::size_t dims = 2) const;

  //! Collects `images` into the run folder `run` with the sampler (torch/pipeline.hpp).
  collect_summary collect(classifier& model, const std::filesystem::path& images, const std::filesystem::path& run) const;

  //! Renders the atlas of `run` laid out by `layout` into `out` with the binning and the
  //! objective: icons, pictures per level, tiles, cells JSON, patches, viewer (torch/pipeline.hpp).
  render_result render(classifier& model, const std::filesystem::path& run, const std::filesystem::path& layout,
                       const std::filesystem::path& out) const;

  //! collect → out/run, lay_out → out/run/layout.npy, render → out/atlas (torch/pipeline.hpp).
  atlas_result atlas(classifier& model, const std::filesystem::path& images, const std::filesystem::path& out) const;
  //! @}

  //! The options and policies that shape a layout, as a stage record (without inputs).
  nlohmann::json layout_record(std::size_t dims) const {
    nlohmann::json r{{"stage", "layout"}, {"format", 1}, {"dims", dims},
                     {"filter", describe_policy(filter_)}, {"reducer", describe_policy(reducer_)}};
    if constexpr (!uses_attributions) r["filter"] = describe_policy(actatlas::filter::no_filter{});
    return r;
  }

 private:
  void tell(const stage_report& r) const {
    if (on_stage_) on_stage_(r);
  }

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
  collect_options collect_{};
  normalise_options normalise_{};
  icon_options icons_{};
  picture_options pictures_{};
  progress_fn progress_{};
  stage_fn on_stage_{};
  std::shared_ptr<process_group> processes_{};
};

template <class... Policies>
layout_result pipeline<Policies...>::lay_out(const std::filesystem::path& activations, const std::filesystem::path& layout,
                                             std::size_t dims) const {
  namespace fs = std::filesystem;
  const fs::path attributions_path = activations.parent_path() / "attributions.npy";
  const fs::path record_path = detail::record_path(layout);
  nlohmann::json wanted = layout_record(dims);
  wanted["inputs"]["activations"] = io::file_fingerprint(activations);
  if constexpr (uses_attributions) wanted["inputs"]["attributions"] = io::file_fingerprint(attributions_path);

  const auto on_disk = detail::read_record(record_path);
  layout_result result;
  result.report = detail::decide("layout", on_disk, wanted, fs::exists(layout), {"samples", "rows"});
  if (result.report.reused) {
    try {
      result.layout = io::read_npy<float, 2>(layout);
      result.samples = detail::record_samples(*on_disk, result.layout.shape(0));
    } catch (const input_error& e) {
      result.report = {"layout", false, std::string("its output is unreadable: ") + e.what()};
    }
  }
  tell(result.report);
  if (result.report.reused) return result;

  const io::mapped_npy x(activations);
  std::optional<io::mapped_npy> t;
  if constexpr (uses_attributions) t.emplace(attributions_path);
  const matrix_cref t_view = t ? t->view() : matrix_cref{};
  result.samples = select(x.view(), t_view);
  result.layout = reduce(x.view(), t_view, result.samples, dims);
  // One writer per folder (io/folder_lock.hpp): layout.npy and its record are written by
  // one holder. Taken here, not on entry, because the lock creates the folder, and a
  // layout that fails (a filter that keeps too few samples) must leave nothing behind.
  // Re-entrant, so `atlas` (collect holds the run) is fine.
  const io::folder_lock lock(layout.has_parent_path() ? layout.parent_path() : fs::path("."));
  io::write_npy(layout, result.layout);
  nlohmann::json record = wanted;
  record["rows"] = result.samples.size();
  if (result.samples.size() != x.view().rows()) record["samples"] = result.samples;
  detail::write_record(record_path, record);
  return result;
}

}  // namespace actatlas
