/// @file torch/patch_attack.hpp
/// The article's patch attacks: a small picture (an icon cut from a class atlas, or any
/// image) pasted into images of a source class, to see whether a concept the atlas shows
/// for a target class is enough to make the model answer the target.
///
/// Every image is tried with the patch in each of the four corners and at each size
/// (`sizes`, fractions of the image side; the patch is resized to a square of that side),
/// and with a random-noise patch (uniform RGB, one per size, from `noise_seed`) at the same
/// places, which tells an argument *for* the target from mere occlusion of the source.
/// experiments/patch_attack_table.hpp turns the predictions into the article's figures.
///
/// @code
/// actatlas::patch_attack_options o;                       // sizes 20/30/40 %, fixed: bottom-right 30 %
/// auto images = actatlas::class_images("demo-images", "ball", model.info().class_names);
/// auto row = actatlas::patch_attack(model, actatlas::io::read_image("icon.png"), "icon.png", images,
///                                   source, target, o);   // row.flipped_fixed, row.noise_fixed, …
/// @endcode
#pragma once

#include <torch/torch.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include "../error.hpp"
#include "../experiments/patch_attack_table.hpp"
#include "../io/image_folder.hpp"
#include "../io/png.hpp"
#include "../progress.hpp"
#include "classifier.hpp"

namespace actatlas {

enum class patch_corner { top_left = 0, top_right = 1, bottom_left = 2, bottom_right = 3 };

inline constexpr std::array<const char*, 4> patch_corner_names{"top-left", "top-right", "bottom-left", "bottom-right"};

inline patch_corner parse_patch_corner(const std::string& text) {
  for (std::size_t i = 0; i < patch_corner_names.size(); ++i)
    if (text == patch_corner_names[i]) return static_cast<patch_corner>(i);
  throw input_error("patch_attack_options.fixed_corner", "must be top-left, top-right, bottom-left or bottom-right, got '" + text + "'");
}

struct patch_attack_options {
  std::vector<double> sizes{0.2, 0.3, 0.4};          //!< patch side as a fraction of the image side
  patch_corner fixed_corner = patch_corner::bottom_right;
  std::size_t fixed_size = 1;                        //!< index into `sizes` of the fixed placement
  std::uint64_t noise_seed = 0;                      //!< the noise patches' pixels
  std::size_t batch = 32;                            //!< images per forward pass
  progress_fn progress{};                            //!< ("patch attack", images done, images)
};

//! The patch's side in pixels for `fraction` of an image `side` pixels wide; input_error when
//! the patch would not fit in the image (or would vanish).
inline std::int64_t patch_side_pixels(double fraction, std::int64_t side) {
  const auto px = static_cast<std::int64_t>(std::lround(fraction * static_cast<double>(side)));
  if (!(fraction > 0) || px < 1)
    throw input_error("patch_attack_options.sizes", "a patch size must be positive, got " + std::to_string(fraction));
  if (px > side)
    throw input_error("patch_attack_options.sizes", "a patch of " + std::to_string(px) + " px (" +
                                     std::to_string(static_cast<int>(std::lround(100 * fraction))) +
                                     "% of the side) is larger than the " + std::to_string(side) + "×" + std::to_string(side) +
                                     " image");
  return px;
}

//! `image` (any size, 3 or 4 channels) as a [3, side, side] float tensor in [0, 1]
//! (resized to cover the square, centre-cropped).
inline torch::Tensor patch_tensor(const io::image_u8& image, std::int64_t side) {
  std::vector<std::uint8_t> rgb(static_cast<std::size_t>(image.width) * image.height * 3);
  for (std::size_t p = 0; p < static_cast<std::size_t>(image.width) * image.height; ++p)
    for (int c = 0; c < 3; ++c) rgb[p * 3 + c] = image.pixels[p * image.channels + std::min(c, image.channels - 1)];
  auto planes = io::resize_and_crop(rgb.data(), image.height, image.width, static_cast<int>(side), static_cast<int>(side));
  return torch::from_blob(planes.pixels.data(), {3, side, side}, torch::kFloat32).clone();
}

//! Pastes `patch` ([3, s, s]) into every image of `images` ([B, 3, H, W]) at `corner`, in place.
inline void paste_patch(torch::Tensor& images, const torch::Tensor& patch, patch_corner corner) {
  const auto s = patch.size(1), h = images.size(2), w = images.size(3);
  if (s > h || s > w) throw input_error("patch", "a " + std::to_string(s) + " px patch is larger than the image");
  const bool right = corner == patch_corner::top_right || corner == patch_corner::bottom_right;
  const bool bottom = corner == patch_corner::bottom_left || corner == patch_corner::bottom_right;
  images.narrow(2, bottom ? h - s : 0, s).narrow(3, right ? w - s : 0, s).copy_(patch.unsqueeze(0).expand({images.size(0), 3, s, s}));
}

//! The images of class `name` under `dir`: those in a folder named after it (at any depth).
//! When no image sits in a folder named after *any* of `class_names`, `dir` is taken to
//! hold only images of that class and all are returned. input_error when none are found.
inline std::vector<std::filesystem::path> class_images(const std::filesystem::path& dir, const std::string& name,
                                                       const std::vector<std::string>& class_names) {
  const auto all = io::list_images(dir);
  std::vector<std::filesystem::path> mine;
  std::set<std::string> known(class_names.begin(), class_names.end()), folders;
  bool any_class_folder = false;
  for (const auto& p : all) {
    const std::string folder = p.parent_path().filename().string();
    if (folder == name) mine.push_back(p);
    if (known.count(folder)) any_class_folder = true, folders.insert(folder);
  }
  if (!any_class_folder) mine = all;
  if (mine.empty()) {
    std::string seen;
    for (const auto& f : folders) seen += (seen.empty() ? "" : ", ") + f;
    throw input_error(dir.string(), all.empty() ? "holds no images"
                                                : "holds no folder of class '" + name + "' images (class folders: " + seen + ")");
  }
  return mine;
}

//! Runs the attack (see the file comment) and summarises it in the article's terms.
inline experiments::patch_attack_summary patch_attack(classifier& model, const io::image_u8& patch, const std::string& patch_name,
                                                      const std::vector<std::filesystem::path>& images, std::int64_t source,
                                                      std::int64_t target, const patch_attack_options& o) {
  const auto& info = model.info();
  const auto classes = static_cast<std::int64_t>(info.class_names.size());
  if (source < 0 || target < 0 || (classes > 0 && (source >= classes || target >= classes)))
    throw input_error("patch_attack.source", "class index out of range (source " + std::to_string(source) + ", target " + std::to_string(target) + ")");
  if (source == target) throw input_error("patch_attack.target", "is the same class as the source");
  if (o.sizes.empty()) throw input_error("patch_attack_options.sizes", "needs at least one size");
  if (o.fixed_size >= o.sizes.size()) throw input_error("patch_attack_options.fixed_size", "is not one of the sizes tried");
  if (images.empty()) throw input_error("patch_attack.images", "no images to attack");
  const std::int64_t h = info.input_height, w = info.input_width, side = std::min(h, w);
  std::vector<torch::Tensor> patches, noises;
  auto gen = at::detail::createCPUGenerator(o.noise_seed);
  for (double fraction : o.sizes) {
    const auto px = patch_side_pixels(fraction, side);
    patches.push_back(patch_tensor(patch, px).to(model.device()));
    noises.push_back(torch::rand({3, px, px}, gen).to(model.device()));
  }
  const std::size_t placements = o.sizes.size() * 4;
  const std::size_t fixed = o.fixed_size * 4 + static_cast<std::size_t>(o.fixed_corner);

  torch::NoGradGuard no_grad;
  std::vector<experiments::attacked_image> results;
  const std::size_t batch = std::max<std::size_t>(1, o.batch);
  for (std::size_t start = 0; start < images.size(); start += batch) {
    std::vector<float> pixels;
    std::size_t loaded = 0;
    for (std::size_t k = start; k < std::min(images.size(), start + batch); ++k) {
      auto decoded = io::load_image(images[k], static_cast<int>(h), static_cast<int>(w));
      if (!std::holds_alternative<io::image_planes>(decoded)) continue;  // undecodable files are not attacked
      const auto& planes = std::get<io::image_planes>(decoded).pixels;
      pixels.insert(pixels.end(), planes.begin(), planes.end());
      ++loaded;
    }
    report(o.progress, "patch attack", std::min(images.size(), start + batch), images.size());
    if (loaded == 0) continue;
    const auto clean = torch::from_blob(pixels.data(), {static_cast<std::int64_t>(loaded), 3, h, w}, torch::kFloat32)
                           .clone()
                           .to(model.device());
    auto classify = [&](const torch::Tensor& x) {
      const auto p = torch::softmax(model.forward(x, {}).at("logits").to(torch::kFloat32), 1).cpu();
      return std::pair{p.argmax(1), p.select(1, target).contiguous()};
    };
    const auto [top0, p0] = classify(clean);
    std::vector<experiments::attacked_image> rows(loaded);
    for (std::size_t k = 0; k < loaded; ++k) {
      rows[k].predicted_before = top0[static_cast<std::int64_t>(k)].item<std::int64_t>();
      rows[k].target_probability_before = p0[static_cast<std::int64_t>(k)].item<float>();
      rows[k].predicted_patch.resize(placements);
      rows[k].predicted_noise.resize(placements);
      rows[k].target_probability_patch.resize(placements);
      rows[k].target_probability_noise.resize(placements);
    }
    for (std::size_t s = 0; s < o.sizes.size(); ++s)
      for (std::size_t c = 0; c < 4; ++c)
        for (int noise = 0; noise < 2; ++noise) {
          auto x = clean.clone();
          paste_patch(x, noise ? noises[s] : patches[s], static_cast<patch_corner>(c));
          const auto [top, p] = classify(x);
          for (std::size_t k = 0; k < loaded; ++k) {
            const auto ki = static_cast<std::int64_t>(k);
            (noise ? rows[k].predicted_noise : rows[k].predicted_patch)[s * 4 + c] = top[ki].item<std::int64_t>();
            (noise ? rows[k].target_probability_noise : rows[k].target_probability_patch)[s * 4 + c] = p[ki].item<float>();
          }
        }
    results.insert(results.end(), rows.begin(), rows.end());
  }
  auto summary = experiments::summarise_attack(results, source, target, fixed);
  summary.patch = patch_name;
  summary.source = source < classes ? info.class_names[static_cast<std::size_t>(source)] : std::to_string(source);
  summary.target = target < classes ? info.class_names[static_cast<std::size_t>(target)] : std::to_string(target);
  summary.fixed_placement = std::string(patch_corner_names[static_cast<std::size_t>(o.fixed_corner)]) + ", " +
                            std::to_string(static_cast<int>(std::lround(100 * o.sizes[o.fixed_size]))) + "% of the side";
  return summary;
}

}  // namespace actatlas
