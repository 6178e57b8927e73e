/// @file demo/shifted_set.hpp
/// Image folders of the demo set with chosen counts per class: what a dataset comparison
/// (torch/compare_datasets.hpp) is shown and tested on, because the shift is known. The
/// demo's shifted set has the water scenes (boat, fish, lifebuoy) removed and the night
/// scenes doubled; against the plain set, its atlas must show water cells on the plain
/// side and night cells on the shifted side, and nothing else significant.
///
/// @code
/// actatlas::demo::write_folder_counts("a", actatlas::demo::uniform_counts(100), 1);
/// actatlas::demo::write_folder_counts("b", actatlas::demo::shifted_counts(100), 2);
/// @endcode
#pragma once

#include <cstdio>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "../error.hpp"
#include "../io/png.hpp"
#include "../progress.hpp"
#include "procedural_images.hpp"

namespace actatlas::demo {

//! The classes the shifted set removes (those on water) and the one it doubles.
inline const std::vector<std::string_view>& removed_in_shift() {
  static const std::vector<std::string_view> names{"boat", "fish", "lifebuoy"};
  return names;
}
inline constexpr std::string_view doubled_in_shift = "night";

//! `per_class` images of every class.
inline std::vector<std::size_t> uniform_counts(std::size_t per_class) { return std::vector<std::size_t>(class_count(), per_class); }

//! `per_class` images of every class but the water ones (none) and night (twice as many).
inline std::vector<std::size_t> shifted_counts(std::size_t per_class) {
  auto counts = uniform_counts(per_class);
  for (auto name : removed_in_shift()) counts[class_index(name)] = 0;
  counts[class_index(doubled_in_shift)] = 2 * per_class;
  return counts;
}

//! Writes `counts[c]` images of class c under `dir`/<class>/<class>_<index>.png, as
//! write_folder does (the same pictures for the same seed and index).
inline void write_folder_counts(const std::filesystem::path& dir, const std::vector<std::size_t>& counts, std::uint64_t seed,
                                int size = default_image_size, const progress_fn& progress = {}) {
  if (counts.size() != class_count())
    throw input_error("write_folder_counts.counts", "needs one count per class (" + std::to_string(class_count()) + "), has " +
                                                        std::to_string(counts.size()));
  std::size_t total = 0, done = 0;
  for (auto n : counts) total += n;
  report(progress, "images", 0, total);
  for (std::size_t c = 0; c < counts.size(); ++c) {
    const std::string name(image_classes[c].name);
    for (std::size_t i = 0; i < counts[c]; ++i) {
      char file[64];
      std::snprintf(file, sizeof file, "%s_%04zu.png", name.c_str(), i);
      io::write_png(dir / name / file, generate(c, seed, i, size));
      report(progress, "images", ++done, total);
    }
  }
}

}  // namespace actatlas::demo
