/// @file concepts/reducer.hpp
/// The reducer role: N×D activations to an N×dims layout (dims is 2 for an atlas, 1 for
/// the vertical axis of a two-class comparison).
///
/// Minimal complete definition:
/// @code
/// struct my_reducer {
///   using role = actatlas::role::reducer;
///   static constexpr std::string_view name = "my_reducer";
///   struct options {};
///   actatlas::matrix reduce(actatlas::matrix_cref x, std::size_t dims,
///                           const actatlas::progress_fn& progress = {}) const;
/// };
/// @endcode
/// A reducer that needs the attributions too (the two-class comparison places samples by
/// them) says so with `static constexpr bool reads_attributions = true;` and declares
/// `reduce(x, attributions, dims, progress)` instead; the pipeline passes them.
///
/// Models: `reducer::umap`, `reducer::tsne`, `reducer::comparison`.
#pragma once

#include <cstddef>
#include <type_traits>

#include "../matrix.hpp"
#include "../progress.hpp"
#include "roles.hpp"

namespace actatlas {

//! True when `R` declares `static constexpr bool reads_attributions = true`. A plain trait
//! rather than a concept: GCC 12 takes a concept naming a member that does not exist as
//! satisfied inside `if constexpr` in a class template's member (seen with reducer::umap).
template <class R, class = void>
struct reads_attributions : std::false_type {};
template <class R>
struct reads_attributions<R, std::enable_if_t<R::reads_attributions>> : std::true_type {};
template <class R>
inline constexpr bool reads_attributions_v = reads_attributions<R>::value;

//! A reducer that lays out from the attributions as well as the activations.
template <class R>
concept attribution_reducer = reads_attributions_v<R> &&
                              requires(const R& r, matrix_cref x, matrix_cref t, std::size_t dims, const progress_fn& p) {
                                { r.reduce(x, t, dims, p) } -> std::same_as<matrix>;
                              };

template <class R>
concept reducer_policy = plays_role<R, role::reducer> &&
                         (attribution_reducer<R> || requires(const R& r, matrix_cref x, std::size_t dims, const progress_fn& p) {
                           { r.reduce(x, dims, p) } -> std::same_as<matrix>;
                         });

}  // namespace actatlas
