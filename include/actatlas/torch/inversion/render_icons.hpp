/// @file torch/inversion/render_icons.hpp
/// Feature inversion, batched: one optimisation renders B icons, one per target direction,
/// the batch dimension being the icons (lucid's activation-atlas `render_icons`).
///
/// For each attempt: B Fourier-parameterised images (fourier_image.hpp) → colour
/// decorrelation and a sigmoid to [0, 1] (color_decorrelation.hpp) → with `alpha`, the RGB
/// is composited over a random smooth background (lucid's `collapse_alpha_random`) → the
/// transform list (transforms.hpp) → for a model with a fixed input size, a resize to it
/// (transforms.hpp's resize_to) → the model → the layer's activation at the centre of its
/// map (for a vision transformer, the centre patch token), h (B×D) → the objective
/// f(h, v) (B values) → Adam (lr 0.05) ascends Σ f, minus the optional boundary-complexity
/// penalty. After the last step, each icon is scored once
/// more without transforms (its final objective value), and over the attempts the one with
/// the largest final objective is kept per icon.
///
/// Directions may be whitened first (v ← S v, whitening.hpp); pass S as `whitening`.
///
/// Reproducibility: every random draw (initial spectra, transform offsets/angles/scales,
/// alpha backgrounds) comes from CPU generators seeded from `seed`, so the same seed gives
/// the same icon bytes on the CPU (same LibTorch, same thread count), and the same draws
/// on CUDA, where only floating-point summation order differs. Gradients are taken with
/// torch::autograd::grad with respect to the image parameters only, so the model's own
/// parameters never accumulate gradients.
///
/// @code
/// actatlas::inversion::render_options o;
/// o.steps = 256;
/// auto icons = actatlas::inversion::render_icons(model, "mixed4c", directions,
///                                                actatlas::objective::cossim_dot<4>{}, o);
/// // icons.pixels: [B, 80, 80, 3] uint8; icons.objective[i]: icon i's final objective
/// @endcode
#pragma once

#include <torch/torch.h>
#include <ATen/CPUGeneratorImpl.h>  // at::detail::createCPUGenerator

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "../../concepts/objective.hpp"
#include "../../error.hpp"
#include "../../progress.hpp"
#include "../classifier.hpp"
#include "color_decorrelation.hpp"
#include "fourier_image.hpp"
#include "transforms.hpp"

namespace actatlas::inversion {

//! Everything render_icons can be told. Defaults: the article's reference (lucid's
//! activation-atlas recipe), except where noted.
struct render_options {
  std::int64_t size = 80;                //!< icon side in pixels
  std::int64_t steps = 1024;             //!< Adam steps per attempt (the article's reference)
  std::int64_t attempts = 4;             //!< independent restarts; the best per icon is kept
  double learning_rate = 0.05;           //!< Adam's learning rate (lucid's)
  std::uint64_t seed = 0;                //!< every random draw derives from it
  bool alpha = false;                    //!< optimise an alpha channel too; icons are then RGBA
  double boundary_penalty = 0.0;         //!< weight of the boundary-complexity penalty; 0 = off
  std::int64_t boundary_width = 5;       //!< width in pixels of the border band it acts on
  fourier_image_options image{};         //!< sd 0.01, decay power 1
  torch::Tensor color_sqrt{};            //!< 3×3 colour "square root"; undefined = ImageNet's
  transform_list transforms{};           //!< empty = article_reference_transforms(size)
  bool no_transforms = false;            //!< true: use no transforms at all (for tests/ablations)
  torch::Tensor whitening{};             //!< D×D matrix S (v ← S v); undefined = none
  progress_fn progress{};                //!< ("icons", steps done, steps in all)
  //! Also score every icon as the final pass does (no transforms) after each of these step
  //! counts, into rendered_icons::scores. A run of N steps passes through the exact state
  //! of every shorter run with the same seed (no schedule, the same draws), so one run
  //! measures the final objective against steps (bench/icon_steps.cpp) for one extra
  //! forward pass per entry.
  std::vector<std::int64_t> score_at_steps{};
  //! 0: every attempt runs all `steps`. p > 0 (with attempts > 1): every attempt runs p
  //! steps, then only the best one per icon (by its score without transforms) goes on to
  //! `steps`: attempts × p + steps − p steps instead of attempts × steps. On the demo CNN,
  //! p = 32 with 4 × 1,024 kept the mean final objective at 0.986 of the unpruned one,
  //! 3.24× faster (docs/inversion.md, "Speed").
  std::int64_t prune_after = 0;
};

//! What render_icons returns, all on the CPU.
struct rendered_icons {
  torch::Tensor pixels;            //!< [B, size, size, 3 or 4] uint8, rows top to bottom
  std::vector<float> objective;    //!< per icon, the kept attempt's final objective (no transforms)
  std::vector<int> attempt;        //!< per icon, which attempt was kept
  torch::Tensor history;           //!< [attempts, steps, B] float: the objective at every step (under transforms)
  torch::Tensor images;            //!< [B, 3 or 4, size, size] float in [0, 1]: the kept icons before quantisation
  torch::Tensor scores;            //!< [attempts, K, B] float: the final objective after score_at_steps[k] steps
  torch::Tensor attempt_objective; //!< [attempts, B] float: each attempt's final objective
};

namespace detail {

//! splitmix64: decorrelated seeds for (seed, attempt, icon) triples.
inline std::uint64_t mix_seed(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

//! lucid's penalize_boundary_complexity, per icon: in a band of `width` pixels along the
//! border, the squared difference from a 5×5 box blur (high frequencies) plus 0.8 × the
//! squared distance from grey 0.5, averaged over the band. Returns B values.
inline torch::Tensor boundary_complexity(const torch::Tensor& rgb, std::int64_t width) {
  const auto h = rgb.size(2), w = rgb.size(3);
  auto mask = torch::ones({1, 1, h, w}, rgb.options());
  if (h > 2 * width && w > 2 * width) mask.narrow(2, width, h - 2 * width).narrow(3, width, w - 2 * width).zero_();
  namespace F = torch::nn::functional;
  auto blurred = F::avg_pool2d(rgb, F::AvgPool2dFuncOptions(5).stride(1).padding(2).count_include_pad(false));
  auto diffs = (blurred - rgb).pow(2) + 0.8 * (rgb - 0.5).pow(2);
  return (diffs * mask).sum({1, 2, 3}) / (mask.sum() * rgb.size(1));
}

//! The activation at the centre of the layer's map, [B, D]: for a token layer, the centre
//! patch token (classifier.hpp's layer_map). Through classifier::features: nothing after
//! the layer can change it, so a model that stops there saves that work. A model with a
//! fixed input size (model_info::fixed_input_size) sees `x` resized to it.
inline torch::Tensor centre_activation(classifier& model, const torch::Tensor& x, const std::string& layer) {
  const auto& info = model.info();
  const auto seen = info.fixed_input_size ? resize_to(x, info.input_height, info.input_width) : x;
  auto out = model.features(seen, {layer});
  const auto it = out.find(layer);
  if (it == out.end()) throw input_error(layer, "the model did not return this layer");
  const auto& raw = it->second;
  if (raw.dim() == 2) return raw;  // a flat layer (e.g. logits-like): no position to pick
  torch::Tensor act;
  try {
    act = layer_map(find_layer(info, layer), raw);
  } catch (const std::invalid_argument& e) {
    throw input_error(layer, e.what());
  } catch (const std::out_of_range&) {  // a model that does not list the layer it returns
    if (raw.dim() != 4) throw input_error(layer, "layer output must be [B, D, h, w] or [B, D]");
    act = raw;
  }
  return act.select(3, act.size(3) / 2).select(2, act.size(2) / 2);
}

}  // namespace detail

//! Renders one icon per row of `directions` ([B, D], any float type; moved to the model's
//! device). See the file comment for the procedure.
//! @tparam Objective a policy of the objective role, e.g. objective::cossim_dot<4>.
template <class Objective>
  requires objective_for<Objective, torch::Tensor>
rendered_icons render_icons(classifier& model, const std::string& layer, const torch::Tensor& directions,
                            const Objective& objective, const render_options& opts = {}) {
  if (directions.dim() != 2 || directions.size(0) < 1)
    throw input_error("render_icons", "directions must be a non-empty [B, D] matrix");
  if (opts.size < 8) throw input_error("render_icons", "icon size must be at least 8 pixels");
  if (opts.steps < 1 || opts.attempts < 1) throw input_error("render_icons", "steps and attempts must be >= 1");
  const torch::Device device = model.device();
  const std::int64_t batch = directions.size(0);
  const std::int64_t channels = opts.alpha ? 4 : 3;

  torch::Tensor targets = directions.detach().to(device, torch::kFloat32);
  if (opts.whitening.defined()) {
    if (opts.whitening.dim() != 2 || opts.whitening.size(0) != targets.size(1) || opts.whitening.size(1) != targets.size(1))
      throw input_error("render_icons", "whitening matrix must be D×D with D = " + std::to_string(targets.size(1)));
    // lucid: vec @ S; S is symmetric, so this is S v for each row.
    targets = targets.matmul(opts.whitening.to(device, torch::kFloat32));
  }
  const torch::Tensor color = opts.color_sqrt.defined() ? opts.color_sqrt : imagenet_color_sqrt();
  const transform_list transforms =
      opts.no_transforms ? transform_list{} : (opts.transforms.empty() ? article_reference_transforms(opts.size) : opts.transforms);

  // Pre-activation image → [0, 1] RGB(A).
  auto to_rgba = [&](const torch::Tensor& raw) {
    auto rgb = torch::sigmoid(decorrelated_to_rgb(raw.narrow(1, 0, 3), color));
    if (!opts.alpha) return rgb;
    return torch::cat({rgb, torch::sigmoid(raw.narrow(1, 3, 1))}, 1);
  };

  // The score of the images as they are now, without transforms (alpha over grey 0.5):
  // B values on the CPU, and the [0, 1] images on the CPU.
  auto score = [&](const fourier_image& param) {
    torch::NoGradGuard no_grad;
    auto image = to_rgba(param.image());
    auto rgb = image.narrow(1, 0, 3);
    if (opts.alpha) {
      auto a = image.narrow(1, 3, 1);
      rgb = rgb * a + 0.5 * (1 - a);
    }
    auto values = objective(detail::centre_activation(model, rgb, layer), targets).to(torch::kCPU, torch::kFloat32);
    return std::pair{values, image};
  };
  for (std::size_t k = 0; k < opts.score_at_steps.size(); ++k)
    if (opts.score_at_steps[k] < 1 || opts.score_at_steps[k] > opts.steps ||
        (k > 0 && opts.score_at_steps[k] <= opts.score_at_steps[k - 1]))
      throw input_error("render_icons", "score_at_steps must rise strictly within [1, steps]");

  const bool prune = opts.prune_after > 0 && opts.attempts > 1 && opts.prune_after < opts.steps;
  if (opts.prune_after < 0) throw input_error("render_icons", "prune_after must be >= 0");
  if (prune && !opts.score_at_steps.empty())
    throw input_error("render_icons", "score_at_steps measures whole attempts: it cannot be combined with prune_after");
  const std::int64_t first_leg = prune ? opts.prune_after : opts.steps;
  const std::size_t total_steps =
      static_cast<std::size_t>(first_leg * opts.attempts + (prune ? opts.steps - opts.prune_after : 0));
  std::size_t steps_done = 0;

  // One attempt: its own initial spectra, transform draws and Adam state.
  struct attempt_state {
    fourier_image param;
    at::Generator gen;
    std::unique_ptr<torch::optim::Adam> adam;
    std::vector<torch::Tensor> objectives;  // per step, [B] under transforms
    std::vector<torch::Tensor> scores;      // per score_at_steps entry, [B]
  };
  auto start_attempt = [&](std::int64_t attempt) {
    const std::uint64_t attempt_seed = detail::mix_seed(opts.seed ^ detail::mix_seed(static_cast<std::uint64_t>(attempt) + 1));
    std::vector<std::uint64_t> seeds(static_cast<std::size_t>(batch));
    for (std::int64_t i = 0; i < batch; ++i)
      seeds[static_cast<std::size_t>(i)] = detail::mix_seed(attempt_seed + static_cast<std::uint64_t>(i) * 0x632BE59BD9B4E019ull);
    attempt_state st{fourier_image(seeds, channels, opts.size, opts.size, device, opts.image),
                     at::detail::createCPUGenerator(detail::mix_seed(attempt_seed ^ 0x7A11F0Bull)), nullptr, {}, {}};
    st.adam = std::make_unique<torch::optim::Adam>(std::vector<torch::Tensor>{st.param.spectrum()},
                                                   torch::optim::AdamOptions(opts.learning_rate));
    st.objectives.reserve(static_cast<std::size_t>(opts.steps));
    return st;
  };
  // Steps [from, to) of an attempt.
  auto run_steps = [&](attempt_state& st, std::int64_t from, std::int64_t to) {
    auto& param = st.param;
    for (std::int64_t step = from; step < to; ++step) {
      auto image = to_rgba(param.image());
      auto rgb = image.narrow(1, 0, 3);
      if (opts.alpha) {
        // Composite over a random smooth background: the alpha channel only pays off where
        // the content matters, whatever lies behind it. Drawn small on the CPU, upsampled.
        auto background = torch::rand({batch, 3, 4, 4}, st.gen, torch::kFloat32).to(device);
        background = torch::nn::functional::interpolate(
            background, torch::nn::functional::InterpolateFuncOptions()
                            .size(std::vector<std::int64_t>{opts.size, opts.size})
                            .mode(torch::kBilinear)
                            .align_corners(false));
        auto a = image.narrow(1, 3, 1);
        rgb = rgb * a + background * (1 - a);
      }
      auto seen = apply_transforms(transforms, rgb, st.gen);
      auto h = detail::centre_activation(model, seen, layer);
      torch::Tensor values = objective(h, targets);
      auto loss = -values.sum();
      if (opts.boundary_penalty > 0)
        loss = loss + opts.boundary_penalty * detail::boundary_complexity(image.narrow(1, 0, 3), opts.boundary_width).sum();
      auto grads = torch::autograd::grad({loss}, {param.spectrum()});
      param.spectrum().mutable_grad() = grads[0];
      st.adam->step();
      st.objectives.push_back(values.detach());
      for (auto s : opts.score_at_steps)
        if (s == step + 1) st.scores.push_back(score(param).first);
      report(opts.progress, "icons", ++steps_done, total_steps);
    }
  };
  // Whether attempt value v beats the kept one: strictly larger, so ties keep the earlier
  // attempt; a NaN never wins and is replaced by any number (a first attempt that diverged
  // must not lock out the later ones).
  auto beats = [](float v, float kept, bool first) { return first || (!std::isnan(v) && (std::isnan(kept) || v > kept)); };

  rendered_icons result;
  result.objective.assign(static_cast<std::size_t>(batch), -std::numeric_limits<float>::infinity());
  result.attempt.assign(static_cast<std::size_t>(batch), 0);
  torch::Tensor best_images;  // [B, C, size, size] float, CPU
  std::vector<torch::Tensor> histories, scores, attempt_objectives;

  if (!prune) {
    for (std::int64_t attempt = 0; attempt < opts.attempts; ++attempt) {
      auto st = start_attempt(attempt);
      run_steps(st, 0, opts.steps);
      histories.push_back(torch::stack(st.objectives).to(torch::kCPU, torch::kFloat32));
      if (!st.scores.empty()) scores.push_back(torch::stack(st.scores));

      // Score the final images once, without transforms.
      auto [final_values, final_image] = score(st.param);
      attempt_objectives.push_back(final_values);
      auto final_cpu = final_image.to(torch::kCPU, torch::kFloat32).contiguous();
      if (!best_images.defined()) best_images = final_cpu.clone();
      const float* v = final_values.template data_ptr<float>();
      for (std::int64_t i = 0; i < batch; ++i) {
        const auto k = static_cast<std::size_t>(i);
        if (beats(v[i], result.objective[k], attempt == 0)) {
          result.objective[k] = v[i];
          result.attempt[k] = static_cast<int>(attempt);
          best_images[i].copy_(final_cpu[i]);
        }
      }
    }
    result.history = torch::stack(histories);
  } else {
    // Every attempt runs prune_after steps; per icon, the attempt with the best score then
    // is the only one that goes on. The survivors are gathered into attempt 0's state
    // (spectra and Adam's moments; all have taken the same number of steps), which then
    // continues with attempt 0's transform draws.
    std::vector<attempt_state> states;
    std::vector<float> early_best(static_cast<std::size_t>(batch), 0.0f);
    for (std::int64_t attempt = 0; attempt < opts.attempts; ++attempt) {
      states.push_back(start_attempt(attempt));
      run_steps(states.back(), 0, opts.prune_after);
      const auto early = score(states.back().param).first;
      const float* v = early.template data_ptr<float>();
      for (std::int64_t i = 0; i < batch; ++i) {
        const auto k = static_cast<std::size_t>(i);
        if (beats(v[i], early_best[k], attempt == 0)) {
          early_best[k] = v[i];
          result.attempt[k] = static_cast<int>(attempt);
        }
      }
    }
    const auto chosen = torch::tensor(std::vector<std::int64_t>(result.attempt.begin(), result.attempt.end()), torch::kLong);
    const auto rows = torch::arange(batch, torch::kLong);
    auto& survivor = states.front();
    {
      torch::NoGradGuard no_grad;
      auto gather = [&](auto&& tensor_of) {
        std::vector<torch::Tensor> all;
        for (auto& st : states) all.push_back(tensor_of(st));
        return torch::stack(all).index({chosen.to(device), rows.to(device)});
      };
      auto moments = [](attempt_state& st) -> torch::optim::AdamParamState& {
        const auto key = c10::guts::to_string(st.param.spectrum().unsafeGetTensorImpl());
        return static_cast<torch::optim::AdamParamState&>(*st.adam->state().at(key));
      };
      const auto spectra = gather([](attempt_state& st) { return st.param.spectrum().detach(); });
      const auto first = gather([&](attempt_state& st) { return moments(st).exp_avg(); });
      const auto second = gather([&](attempt_state& st) { return moments(st).exp_avg_sq(); });
      survivor.param.spectrum().copy_(spectra);
      moments(survivor).exp_avg().copy_(first);
      moments(survivor).exp_avg_sq().copy_(second);
    }
    run_steps(survivor, opts.prune_after, opts.steps);

    // history: every attempt's first prune_after steps; after them, the survivor's values
    // in its own attempt's row, NaN in the others.
    const float nan = std::numeric_limits<float>::quiet_NaN();
    result.history = torch::full({opts.attempts, opts.steps, batch}, nan, torch::kFloat32);
    for (std::int64_t a = 0; a < opts.attempts; ++a) {
      auto& objectives = states[static_cast<std::size_t>(a)].objectives;
      const auto first_leg_values = torch::stack(std::vector<torch::Tensor>(objectives.begin(), objectives.begin() + opts.prune_after));
      result.history[a].narrow(0, 0, opts.prune_after).copy_(first_leg_values.to(torch::kCPU, torch::kFloat32));
    }
    const auto& go_on = survivor.objectives;
    const auto later = torch::stack(std::vector<torch::Tensor>(go_on.begin() + opts.prune_after, go_on.end())).to(torch::kCPU, torch::kFloat32);
    const auto is_chosen = torch::nn::functional::one_hot(chosen, opts.attempts).t().to(torch::kBool);  // [A, B]
    result.history.narrow(1, opts.prune_after, opts.steps - opts.prune_after)
        .copy_(torch::where(is_chosen.unsqueeze(1), later.unsqueeze(0), torch::full({}, nan)));

    auto [final_values, final_image] = score(survivor.param);
    best_images = final_image.to(torch::kCPU, torch::kFloat32).contiguous();
    result.objective.assign(final_values.template data_ptr<float>(), final_values.template data_ptr<float>() + batch);
    // attempt_objective: the survivor's final objective in its attempt's row, NaN elsewhere.
    attempt_objectives.push_back(torch::where(is_chosen, final_values.unsqueeze(0), torch::full({}, nan)));
  }
  result.attempt_objective = prune ? attempt_objectives.front() : torch::stack(attempt_objectives);
  if (!scores.empty()) result.scores = torch::stack(scores);
  result.images = best_images;
  result.pixels = best_images.mul(255.0).round().clamp(0, 255).to(torch::kUInt8).permute({0, 2, 3, 1}).contiguous();
  return result;
}

}  // namespace actatlas::inversion
