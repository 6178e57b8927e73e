/// @file experiments/patch_attack_table.hpp
/// The statistics of a patch attack (the article's "Testing dozens of patches on thousands
/// of images") and their CSV and Markdown forms.
///
/// For every image of the source class and every placement (4 corners × the patch sizes),
/// the attack records the predicted class and the target's probability; `summarise_attack`
/// turns that into the article's figures, all over the images the model classified
/// correctly *before* the patch (an image already misclassified cannot be flipped):
/// - flipped at the fixed corner and size: the share now classified as the target;
/// - flipped with the best placement per image: the share for which *some* corner and size
///   makes the target the top class;
/// - the same two for a random-noise patch of the same size (is the patch an argument for
///   the target, or does it just hide evidence for the source?);
/// - the mean probability of the target before, and after the patch at the fixed placement.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "../error.hpp"

namespace actatlas::experiments {

//! What one image gave: its prediction and target probability before any patch, and per
//! placement (index = size × 4 + corner) with the patch and with noise.
struct attacked_image {
  std::int64_t predicted_before = -1;
  float target_probability_before = 0;
  std::vector<std::int64_t> predicted_patch, predicted_noise;
  std::vector<float> target_probability_patch, target_probability_noise;
};

//! One row of the article's table.
struct patch_attack_summary {
  std::string patch;                 //!< the patch's name (its file)
  std::string source, target;        //!< class names
  std::size_t images = 0;            //!< images of the source class tried
  std::size_t correct_before = 0;    //!< of those, classified as the source without a patch
  double flipped_fixed = 0;          //!< share of correct_before classified as the target, fixed placement
  double flipped_best = 0;           //!< … with the best placement per image
  double noise_fixed = 0;            //!< the same two for the noise patch
  double noise_best = 0;
  double target_probability_before = 0;  //!< mean over correct_before
  double target_probability_after = 0;   //!< mean over correct_before, patch at the fixed placement
  double noise_probability_after = 0;    //!< mean over correct_before, noise at the fixed placement
  std::string fixed_placement;       //!< e.g. "bottom-right, 30%"
};

//! The article's figures from per-image results; `fixed` is the fixed placement's index.
inline patch_attack_summary summarise_attack(const std::vector<attacked_image>& images, std::int64_t source, std::int64_t target,
                                             std::size_t fixed) {
  patch_attack_summary s;
  s.images = images.size();
  std::size_t fixed_hits = 0, best_hits = 0, noise_fixed_hits = 0, noise_best_hits = 0;
  double before = 0, after = 0, noise_after = 0;
  for (const auto& im : images) {
    if (im.predicted_before != source) continue;
    if (fixed >= im.predicted_patch.size() || im.predicted_noise.size() != im.predicted_patch.size())
      throw input_error("patch attack", "fixed placement outside the placements tried");
    ++s.correct_before;
    fixed_hits += im.predicted_patch[fixed] == target;
    noise_fixed_hits += im.predicted_noise[fixed] == target;
    bool any = false, any_noise = false;
    for (std::size_t p = 0; p < im.predicted_patch.size(); ++p) {
      any = any || im.predicted_patch[p] == target;
      any_noise = any_noise || im.predicted_noise[p] == target;
    }
    best_hits += any;
    noise_best_hits += any_noise;
    before += im.target_probability_before;
    after += im.target_probability_patch[fixed];
    noise_after += im.target_probability_noise[fixed];
  }
  if (s.correct_before > 0) {
    const double n = static_cast<double>(s.correct_before);
    s.flipped_fixed = fixed_hits / n;
    s.flipped_best = best_hits / n;
    s.noise_fixed = noise_fixed_hits / n;
    s.noise_best = noise_best_hits / n;
    s.target_probability_before = before / n;
    s.target_probability_after = after / n;
    s.noise_probability_after = noise_after / n;
  }
  return s;
}

namespace detail {
inline std::string percent(double share) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f%%", 100.0 * share);
  return buf;
}
inline std::string fixed3(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", v);
  return buf;
}
inline std::string csv_quote(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}
}  // namespace detail

//! CSV with a header line; shares as fractions, probabilities as numbers.
inline std::string attack_csv(const std::vector<patch_attack_summary>& rows) {
  std::string out =
      "patch,source,target,images,correct_before,flipped_fixed,flipped_best,noise_fixed,noise_best,"
      "target_probability_before,target_probability_after,noise_probability_after,fixed_placement\n";
  for (const auto& r : rows) {
    char buf[512];
    std::snprintf(buf, sizeof buf, "%zu,%zu,%.4f,%.4f,%.4f,%.4f,%.4f,%.4f,%.4f,", r.images, r.correct_before, r.flipped_fixed,
                  r.flipped_best, r.noise_fixed, r.noise_best, r.target_probability_before, r.target_probability_after,
                  r.noise_probability_after);
    out += detail::csv_quote(r.patch) + "," + detail::csv_quote(r.source) + "," + detail::csv_quote(r.target) + "," + buf +
           detail::csv_quote(r.fixed_placement) + "\n";
  }
  return out;
}

//! The article's table: one row per patch, the flip rates with the noise patch beside them.
inline std::string attack_markdown(const std::vector<patch_attack_summary>& rows) {
  std::string out =
      "| patch | source → target | correct before | flipped (fixed) | flipped (best corner & size) | noise (fixed) | "
      "noise (best) | p(target) before | p(target) after |\n"
      "|---|---|---:|---:|---:|---:|---:|---:|---:|\n";
  for (const auto& r : rows)
    out += "| " + r.patch + " | " + r.source + " → " + r.target + " | " + std::to_string(r.correct_before) + " / " +
           std::to_string(r.images) + " | " + detail::percent(r.flipped_fixed) + " | " + detail::percent(r.flipped_best) + " | " +
           detail::percent(r.noise_fixed) + " | " + detail::percent(r.noise_best) + " | " +
           detail::fixed3(r.target_probability_before) + " | " + detail::fixed3(r.target_probability_after) + " |\n";
  if (!rows.empty()) out += "\nFixed placement: " + rows.front().fixed_placement + ".\n";
  return out;
}

}  // namespace actatlas::experiments
