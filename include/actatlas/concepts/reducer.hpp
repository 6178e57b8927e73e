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
/// Models: `reducer::umap`, `reducer::tsne<metric>`.
#pragma once

#include <cstddef>

#include "../matrix.hpp"
#include "../progress.hpp"
#include "roles.hpp"

namespace actatlas {

template <class R>
concept reducer_policy = plays_role<R, role::reducer> &&
                         requires(const R& r, matrix_cref x, std::size_t dims, const progress_fn& p) {
                           { r.reduce(x, dims, p) } -> std::same_as<matrix>;
                         };

}  // namespace actatlas
