/// @file detail/policy_json.hpp
/// The built-in policies' options as JSON, for the stage records (stage_record.hpp): a
/// stage is reused only when the options that shaped it are the same. Options that do not
/// change a result (thread counts) are left out on purpose, so that rerunning with more
/// threads reuses the stage. A field added to a policy's options must be added here too,
/// or a change of it would not be noticed (tests/cpu/stage_record_test.cpp checks each
/// field of each built-in policy).
#pragma once

#include <nlohmann/json.hpp>

#include "../binning/grid.hpp"
#include "../binning/multires_grid.hpp"
#include "../filter/class_pair.hpp"
#include "../filter/magnitude.hpp"
#include "../filter/no_filter.hpp"
#include "../filter/rank.hpp"
#include "../layout/normalise.hpp"
#include "../metric.hpp"
#include "../objective/cossim_dot.hpp"
#include "../neighbors/knn.hpp"
#include "../reducer/comparison.hpp"
#include "../reducer/tsne.hpp"
#include "../reducer/umap.hpp"
#include "../sampler/all_positions.hpp"
#include "../sampler/center_position.hpp"
#include "../sampler/random_position.hpp"

namespace actatlas {

NLOHMANN_JSON_SERIALIZE_ENUM(metric, {{metric::euclidean, "euclidean"}, {metric::cosine, "cosine"}})
NLOHMANN_JSON_SERIALIZE_ENUM(knn_options::method, {{knn_options::method::automatic, "automatic"},
                                                   {knn_options::method::exact, "exact"},
                                                   {knn_options::method::hnsw, "hnsw"},
                                                   {knn_options::method::nn_descent, "nn-descent"}})

inline void to_json(nlohmann::json& j, const knn_options& o) {
  // seed and threads are the reducer's (it overrides them); threads change no result.
  j = {{"algorithm", o.algorithm}, {"exact_below", o.exact_below}, {"trees", o.trees}, {"leaf_size", o.leaf_size},
       {"max_candidates", o.max_candidates}, {"iterations", o.iterations}, {"delta", o.delta}, {"hnsw_m", o.hnsw_m},
       {"hnsw_ef_construction", o.hnsw_ef_construction}, {"hnsw_ef_search", o.hnsw_ef_search}};
}

inline void to_json(nlohmann::json& j, const normalise_options& o) {
  j = {{"low_percentile", o.low_percentile}, {"high_percentile", o.high_percentile}, {"margin", o.margin}};
}

namespace reducer {
NLOHMANN_JSON_SERIALIZE_ENUM(umap::initialisation, {{umap::initialisation::spectral, "spectral"},
                                                    {umap::initialisation::random, "random"}})
NLOHMANN_JSON_SERIALIZE_ENUM(tsne::options::gradient_method, {{tsne::options::gradient_method::automatic, "automatic"},
                                                              {tsne::options::gradient_method::exact, "exact"},
                                                              {tsne::options::gradient_method::barnes_hut, "barnes_hut"},
                                                              {tsne::options::gradient_method::fft, "fft"}})

inline void to_json(nlohmann::json& j, const umap::options& o) {
  j = {{"n_neighbors", o.n_neighbors}, {"min_dist", o.min_dist}, {"spread", o.spread}, {"metric", o.metric},
       {"epochs", o.epochs}, {"learning_rate", o.learning_rate}, {"repulsion_strength", o.repulsion_strength},
       {"negative_sample_rate", o.negative_sample_rate}, {"local_connectivity", o.local_connectivity},
       {"set_op_mix_ratio", o.set_op_mix_ratio}, {"init", o.init}, {"a", o.a}, {"b", o.b}, {"seed", o.seed},
       {"knn", o.knn}, {"pca_dims", o.pca_dims}};
}

inline void to_json(nlohmann::json& j, const tsne::options& o) {
  j = {{"perplexity", o.perplexity}, {"learning_rate", o.learning_rate}, {"early_exaggeration", o.early_exaggeration},
       {"exaggeration_iterations", o.exaggeration_iterations}, {"iterations", o.iterations}, {"momentum", o.momentum},
       {"final_momentum", o.final_momentum}, {"min_gain", o.min_gain}, {"gradient", o.gradient}, {"theta", o.theta},
       {"fft_from", o.fft_from}, {"metric", o.metric}, {"neighbors", o.neighbors}, {"knn", o.knn}, {"seed", o.seed},
       {"pca_dims", o.pca_dims}};
}
inline void to_json(nlohmann::json& j, const comparison::options& o) {
  j = {{"class_a", o.class_a}, {"class_b", o.class_b}, {"vertical", o.vertical}};
}
}  // namespace reducer

namespace filter {
inline void to_json(nlohmann::json& j, const no_filter::options&) { j = nlohmann::json::object(); }
inline void to_json(nlohmann::json& j, const rank::options& o) { j = {{"cls", o.cls}, {"top_n", o.top_n}}; }
inline void to_json(nlohmann::json& j, const magnitude::options& o) {
  j = {{"cls", o.cls}, {"top_n", o.top_n}, {"threshold", o.threshold ? nlohmann::json(*o.threshold) : nlohmann::json()}};
}
inline void to_json(nlohmann::json& j, const class_pair::options& o) {
  j = {{"class_a", o.class_a}, {"class_b", o.class_b}, {"top_n", o.top_n}};
}
}  // namespace filter

namespace objective {
inline void to_json(nlohmann::json& j, const cossim_dot_options& o) { j = {{"cos_floor", o.cos_floor}}; }
}  // namespace objective

namespace binning {
inline void to_json(nlohmann::json& j, const grid::options& o) {
  j = {{"grid_size", o.grid_size}, {"min_count", o.min_count}};
}
inline void to_json(nlohmann::json& j, const multires_grid::options& o) {
  j = {{"base_grid", o.base_grid}, {"levels", o.levels}, {"min_count", o.min_count}};
}
}  // namespace binning

}  // namespace actatlas
