/// @file torch/inversion/icon_cache.hpp
/// Icons on disk: each cell's icon is `<cell>.png` in a folder, beside `<cell>.json` holding
/// its objective value and the key it was rendered under. The key is a 64-bit FNV-1a hash
/// of the rendering settings (model id, layer, objective and its n and options, every
/// render option, the transform list, the colour and whitening matrices) and of the
/// direction's float bytes. A rerun with the same settings finds the key and reuses the
/// PNG instead of optimising again; any change (one step more, another seed, a moved
/// direction) misses and re-renders. The PNG is written before its JSON (both atomically),
/// so a JSON on disk always has a complete picture beside it.
///
/// A cached icon was rendered in some batch; the same direction rendered in another batch
/// (other neighbours, another position) would be a different, equally valid icon. The key
/// deliberately ignores the batch, so that changing the grid re-renders only new cells.
///
/// @code
/// inversion::icon_cache cache(run_dir / "icons");
/// auto out = inversion::render_icons_cached(model, "conv4", names, directions,
///                                           objective::cossim_dot<4>{}, opts, cache, "demo-seed1");
/// // out.rendered new icons, out.reused from disk
/// @endcode
#pragma once

#include <torch/torch.h>

#include <cctype>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "../../error.hpp"
#include "../../io/atomic_file.hpp"
#include "../../io/png.hpp"
#include "render_icons.hpp"

namespace actatlas::inversion {

namespace detail {

//! FNV-1a, 64 bit: stable across platforms and runs (std::hash is neither).
inline std::uint64_t fnv1a(const void* data, std::size_t bytes, std::uint64_t h = 0xcbf29ce484222325ull) {
  const auto* p = static_cast<const unsigned char*>(data);
  for (std::size_t i = 0; i < bytes; ++i) {
    h ^= p[i];
    h *= 0x100000001b3ull;
  }
  return h;
}

inline std::string hex64(std::uint64_t h) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

//! Hash of a tensor's float32 values (CPU copy), "none" when undefined.
inline std::string tensor_hash(const torch::Tensor& t) {
  if (!t.defined()) return "none";
  auto c = t.detach().to(torch::kCPU, torch::kFloat32).contiguous();
  return hex64(fnv1a(c.data_ptr<float>(), static_cast<std::size_t>(c.numel()) * sizeof(float)));
}

inline nlohmann::json describe(const transform_step& step) {
  return std::visit(
      [](const auto& s) -> nlohmann::json {
        using S = std::decay_t<decltype(s)>;
        if constexpr (std::is_same_v<S, pad>) return {{"pad", s.width}, {"value", s.value}, {"reflect", s.reflect}};
        if constexpr (std::is_same_v<S, jitter>)
          return {{"jitter", s.d}, {"mode", s.mode == jitter_mode::crop ? "crop" : "translate"}};
        if constexpr (std::is_same_v<S, random_scale>) return {{"scale", s.factors}};
        if constexpr (std::is_same_v<S, random_rotate>) return {{"rotate", s.degrees}};
        if constexpr (std::is_same_v<S, crop_or_pad_to>) return {{"crop_or_pad_to", {s.height, s.width}}};
      },
      step);
}

inline bool valid_cell_name(std::string_view name) {
  if (name.empty() || name == "." || name == "..") return false;
  for (char ch : name)
    if (!(std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == '-' || ch == '.')) return false;
  return true;
}

}  // namespace detail

//! Everything that changes an icon except its direction, as canonical JSON text. `model_id`
//! names the weights (a file path and its modification time, a seed: the caller knows).
template <class Objective>
std::string icon_settings(const std::string& model_id, const std::string& layer, const Objective& objective,
                          const render_options& o) {
  nlohmann::json j;
  j["model"] = model_id;
  j["layer"] = layer;
  j["objective"] = std::string(Objective::name);
  if constexpr (requires { Objective::power; }) j["objective_power"] = Objective::power;
  if constexpr (requires { objective.opts().cos_floor; }) j["cos_floor"] = objective.opts().cos_floor;
  j["size"] = o.size;
  j["steps"] = o.steps;
  j["attempts"] = o.attempts;
  if (o.prune_after > 0) j["prune_after"] = o.prune_after;  // absent when off: older caches keep their keys
  j["learning_rate"] = o.learning_rate;
  j["seed"] = o.seed;
  j["alpha"] = o.alpha;
  j["boundary_penalty"] = o.boundary_penalty;
  j["boundary_width"] = o.boundary_width;
  j["sd"] = o.image.sd;
  j["decay_power"] = o.image.decay_power;
  j["color"] = detail::tensor_hash(o.color_sqrt.defined() ? o.color_sqrt : imagenet_color_sqrt());
  j["whitening"] = detail::tensor_hash(o.whitening);
  const transform_list list =
      o.no_transforms ? transform_list{} : (o.transforms.empty() ? article_reference_transforms(o.size) : o.transforms);
  j["transforms"] = nlohmann::json::array();
  for (const auto& step : list) j["transforms"].push_back(detail::describe(step));
  j["format"] = 1;
  return j.dump();
}

//! One icon read back from the cache.
struct cached_icon {
  io::image_u8 image;
  float objective = 0.0f;
};

//! A folder of `<cell>.png` + `<cell>.json` (see the file comment).
class icon_cache {
 public:
  explicit icon_cache(std::filesystem::path folder) : folder_(std::move(folder)) {}

  const std::filesystem::path& folder() const { return folder_; }
  std::filesystem::path png_path(const std::string& cell) const { return folder_ / (checked(cell) + ".png"); }
  std::filesystem::path json_path(const std::string& cell) const { return folder_ / (checked(cell) + ".json"); }

  //! The key of one icon: settings (icon_settings()) and the direction's D floats.
  static std::string key(const std::string& settings, const float* direction, std::size_t dims) {
    std::uint64_t h = detail::fnv1a(settings.data(), settings.size());
    h = detail::fnv1a(direction, dims * sizeof(float), h);
    return detail::hex64(h);
  }

  //! The cell's icon when it was stored under `key` and both files are readable; nothing
  //! otherwise (a missing, stale or damaged entry is simply rendered again).
  std::optional<cached_icon> find(const std::string& cell, const std::string& key, int channels) const {
    const auto json_file = json_path(cell), png_file = png_path(cell);
    std::error_code ec;
    if (!std::filesystem::exists(json_file, ec) || !std::filesystem::exists(png_file, ec)) return std::nullopt;
    try {
      std::ifstream in(json_file);
      const auto meta = nlohmann::json::parse(in);
      if (meta.value("key", std::string{}) != key || meta.value("channels", 0) != channels) return std::nullopt;
      cached_icon icon{io::read_png(png_file, channels), meta.at("objective").get<float>()};
      return icon;
    } catch (const std::exception&) {
      return std::nullopt;
    }
  }

  //! Writes the cell's PNG, then its JSON sidecar (objective, key, settings).
  void store(const std::string& cell, const std::string& key, const std::string& settings, const io::image_u8& image,
             float objective) const {
    io::write_png(png_path(cell), image);
    nlohmann::json meta;
    meta["cell"] = cell;
    meta["objective"] = objective;
    meta["key"] = key;
    meta["width"] = image.width;
    meta["height"] = image.height;
    meta["channels"] = image.channels;
    meta["settings"] = nlohmann::json::parse(settings);
    const std::string text = meta.dump(2);
    io::atomic_write(json_path(cell), [&](std::ostream& out) { out << text << '\n'; });
  }

 private:
  static const std::string& checked(const std::string& cell) {
    if (!detail::valid_cell_name(cell))
      throw input_error(cell, "icon cell names may use letters, digits, '_', '-' and '.' only");
    return cell;
  }
  std::filesystem::path folder_;
};

//! Which icons of a set of cells the cache lacks, and the batches that render them: the
//! plan render_icons_cached follows, shared with ranks of a job that split its batches.
struct icon_plan {
  std::string settings;                             //!< icon_settings() of the render
  std::vector<std::string> keys;                    //!< per cell: its cache key
  std::vector<std::vector<std::int64_t>> batches;   //!< cell indices of each batch to render
  std::vector<std::int64_t> cached;                 //!< cells the cache holds under their key
  std::vector<cached_icon> hits;                    //!< their icons, parallel to `cached`
};

//! Plans the icons of `cells` (names; `directions` [K, D], one row per cell): the cells whose
//! key the cache does not hold, `batch_size` per batch, in cell order.
template <class Objective>
icon_plan plan_icons(const std::string& layer, const std::vector<std::string>& cells, const torch::Tensor& directions,
                     const Objective& objective, const render_options& opts, const icon_cache& cache,
                     const std::string& model_id, std::int64_t batch_size = 64) {
  if (directions.dim() != 2 || directions.size(0) != static_cast<std::int64_t>(cells.size()))
    throw input_error("render_icons_cached", "need one direction row per cell");
  if (batch_size < 1) throw input_error("render_icons_cached", "batch size must be >= 1");
  const int channels = opts.alpha ? 4 : 3;
  icon_plan plan;
  plan.settings = icon_settings(model_id, layer, objective, opts);
  auto dirs = directions.detach().to(torch::kCPU, torch::kFloat32).contiguous();
  const auto dims = static_cast<std::size_t>(dirs.size(1));
  std::vector<std::int64_t> todo;
  for (std::size_t k = 0; k < cells.size(); ++k) {
    plan.keys.push_back(icon_cache::key(plan.settings, dirs[static_cast<std::int64_t>(k)].template data_ptr<float>(), dims));
    if (auto hit = cache.find(cells[k], plan.keys[k], channels)) {
      plan.cached.push_back(static_cast<std::int64_t>(k));
      plan.hits.push_back(std::move(*hit));
    } else {
      todo.push_back(static_cast<std::int64_t>(k));
    }
  }
  for (std::size_t start = 0; start < todo.size(); start += static_cast<std::size_t>(batch_size))
    plan.batches.emplace_back(todo.begin() + static_cast<std::ptrdiff_t>(start),
                              todo.begin() + static_cast<std::ptrdiff_t>(std::min(todo.size(), start + static_cast<std::size_t>(batch_size))));
  return plan;
}

//! One icon made by render_icon_batch.
struct rendered_icon {
  std::int64_t cell;
  io::image_u8 image;
  float objective;
};

//! Renders batch `b` of `plan` and stores its icons in the cache. The batch's seed comes
//! from `opts.seed` and the batch's first key, so a batch's icons depend neither on how many
//! batches came before it nor on which process renders it.
template <class Objective>
std::vector<rendered_icon> render_icon_batch(classifier& model, const std::string& layer, const std::vector<std::string>& cells,
                                             const torch::Tensor& directions, const Objective& objective,
                                             const render_options& opts, const icon_cache& cache, const icon_plan& plan,
                                             std::size_t b) {
  const auto& members = plan.batches.at(b);
  const int channels = opts.alpha ? 4 : 3;
  auto dirs = directions.detach().to(torch::kCPU, torch::kFloat32).contiguous();
  render_options batch_opts = opts;
  batch_opts.seed = detail::mix_seed(opts.seed ^ std::stoull(plan.keys[static_cast<std::size_t>(members.front())], nullptr, 16));
  auto icons = render_icons(model, layer, dirs.index_select(0, torch::tensor(members, torch::kLong)), objective, batch_opts);
  std::vector<rendered_icon> out;
  for (std::size_t i = 0; i < members.size(); ++i) {
    const auto k = static_cast<std::size_t>(members[i]);
    auto px = icons.pixels[static_cast<std::int64_t>(i)].contiguous();
    io::image_u8 image{static_cast<int>(px.size(1)), static_cast<int>(px.size(0)), channels,
                       std::vector<std::uint8_t>(px.template data_ptr<std::uint8_t>(), px.template data_ptr<std::uint8_t>() + px.numel())};
    cache.store(cells[k], plan.keys[k], plan.settings, image, icons.objective[i]);
    out.push_back({members[i], std::move(image), icons.objective[i]});
  }
  return out;
}

//! The icons of many cells, in cell order.
struct cached_icons {
  std::vector<io::image_u8> images;
  std::vector<float> objective;
  std::size_t rendered = 0;  //!< optimised in this call
  std::size_t reused = 0;    //!< read back from the cache
};

//! Renders the icons of `cells` (names; `directions` [K, D], one row per cell) that the
//! cache does not already hold under the current settings, `batch_size` icons per
//! optimisation (plan_icons, render_icon_batch), stores them, and returns all K icons.
template <class Objective>
cached_icons render_icons_cached(classifier& model, const std::string& layer, const std::vector<std::string>& cells,
                                 const torch::Tensor& directions, const Objective& objective, const render_options& opts,
                                 const icon_cache& cache, const std::string& model_id, std::int64_t batch_size = 64) {
  auto plan = plan_icons(layer, cells, directions, objective, opts, cache, model_id, batch_size);
  cached_icons out;
  out.images.resize(cells.size());
  out.objective.assign(cells.size(), 0.0f);
  for (std::size_t i = 0; i < plan.cached.size(); ++i) {
    const auto k = static_cast<std::size_t>(plan.cached[i]);
    out.images[k] = std::move(plan.hits[i].image);
    out.objective[k] = plan.hits[i].objective;
    ++out.reused;
  }
  for (std::size_t b = 0; b < plan.batches.size(); ++b)
    for (auto& icon : render_icon_batch(model, layer, cells, directions, objective, opts, cache, plan, b)) {
      out.images[static_cast<std::size_t>(icon.cell)] = std::move(icon.image);
      out.objective[static_cast<std::size_t>(icon.cell)] = icon.objective;
      ++out.rendered;
    }
  return out;
}

}  // namespace actatlas::inversion
