/// @file torch/attribution.hpp
/// Activations at sampled positions and their attribution to every class.
///
/// For a sample at position p of layer h, the attribution to class c is
///     attr_c = h_p · ∂logit_c/∂h_p                    (a D-vector dot product)
/// i.e. the directional derivative of every logit along the activation vector at p:
/// a Jacobian-vector product J·dir with dir = h at p and 0 elsewhere. Reverse mode gives
/// one class per backward pass; we get all C at once with the double-backward trick:
///     g(u) = ∂(logits·u)/∂h = Jᵀu                      (one backward, graph kept; linear in u)
///     ∂(g(u)·dir)/∂u = J·dir = attr                    (one more backward, through the first)
/// Both backward passes only run from the logits down to h; the layers below h are not
/// differentiated. Works on any `classifier` whose graph is twice differentiable (every
/// standard layer is), with no knowledge of its insides.
///
/// A token layer ([B,T,D], classifier.hpp's layer_layout) is differentiated as the model
/// made it, since the logits depend on that tensor and not on any view of it; the gradient
/// g is then read through the same layer_map() view as the activations, so a patch token's
/// attribution is h_t · ∂logit/∂h_t and the leading (class) tokens are never sites.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

#include "../concepts/sampler.hpp"
#include "../error.hpp"
#include "classifier.hpp"

namespace actatlas {

//! A position in one image of a batch.
struct sample_site {
  std::int64_t image = 0;  //!< row of the batch
  position where;
};

//! What one batch yields.
struct layer_samples {
  ::torch::Tensor logits;        //!< [B,C]
  ::torch::Tensor activations;   //!< [K,D], row k = layer at sites[k]
  ::torch::Tensor attributions;  //!< [K,C], row k = attribution of sites[k] to each class (undefined if not asked)
  std::int64_t height = 0;       //!< the layer's map size, h×w
  std::int64_t width = 0;
};

namespace detail {

//! h [B,D,h,w] at the sites → [K,D].
inline ::torch::Tensor gather_sites(const ::torch::Tensor& h, const std::vector<sample_site>& sites) {
  std::vector<std::int64_t> b, y, x;
  for (const auto& s : sites) {
    b.push_back(s.image);
    y.push_back(s.where.y);
    x.push_back(s.where.x);
  }
  const auto bi = ::torch::tensor(b, ::torch::kLong).to(h.device());
  const auto yi = ::torch::tensor(y, ::torch::kLong).to(h.device());
  const auto xi = ::torch::tensor(x, ::torch::kLong).to(h.device());
  // [B,h,w,D] indexed by (b,y,x) → [K,D]
  return h.permute({0, 2, 3, 1}).index({bi, yi, xi});
}

inline void check_sites(const std::vector<sample_site>& sites, std::int64_t batch, std::int64_t hh, std::int64_t ww,
                        const std::string& layer) {
  for (const auto& s : sites)
    if (s.image < 0 || s.image >= batch || s.where.y < 0 || s.where.y >= hh || s.where.x < 0 || s.where.x >= ww)
      throw std::out_of_range("sample site outside layer " + layer + "'s " + std::to_string(hh) + "x" +
                              std::to_string(ww) + " map");
}

}  // namespace detail

namespace detail {

//! `layer`'s output in `out` as a [B,D,h,w] map (classifier.hpp's layer_map); a tensor
//! that breaks the layer's declaration is an input_error naming the layer.
inline ::torch::Tensor output_map(const model_info& info, const layer_outputs& out, const std::string& layer) {
  const auto it = out.find(layer);
  if (it == out.end()) throw input_error(layer, "the model did not return this layer");
  try {
    return layer_map(find_layer(info, layer), it->second);
  } catch (const std::logic_error& e) {  // invalid_argument (shape), out_of_range (not in info)
    throw input_error(layer, e.what());
  }
}

}  // namespace detail

//! The map size of `layer` for this model's input (one blank image through the network):
//! for a token layer, its patch grid.
inline std::pair<std::int64_t, std::int64_t> layer_map_size(classifier& model, const std::string& layer) {
  ::torch::NoGradGuard no_grad;
  const auto& info = model.info();
  const auto x = ::torch::full({1, 3, info.input_height, info.input_width}, 0.5f,
                               ::torch::TensorOptions().device(model.device()));
  const auto h = detail::output_map(info, model.forward(x, {layer}), layer);
  return {h.size(2), h.size(3)};
}

//! Runs `x` ([B,3,H,W] on the model's device) through `model` and returns the activations of
//! `layer` at `sites` and, when `with_attribution`, their attribution to every class.
//! Sites of one image beyond its first cost one more backward pass each (the direction
//! of one pass can hold only one position per image).
inline layer_samples sample_layer(classifier& model, const ::torch::Tensor& x, const std::string& layer,
                                  const std::vector<sample_site>& sites, bool with_attribution) {
  layer_samples out;
  if (!with_attribution) {
    ::torch::NoGradGuard no_grad;
    auto result = model.forward(x, {layer});
    const auto h = detail::output_map(model.info(), result, layer);
    out.height = h.size(2);
    out.width = h.size(3);
    detail::check_sites(sites, h.size(0), out.height, out.width, layer);
    out.logits = result.at("logits");
    out.activations = sites.empty() ? h.new_empty({0, h.size(1)}) : detail::gather_sites(h, sites);
    return out;
  }

  ::torch::AutoGradMode grad_on(true);
  // The input needs a gradient so that the graph exists whatever the model's weights say;
  // the backward passes below stop at h and never reach it.
  const auto input = x.detach().requires_grad_(true);
  auto result = model.forward(input, {layer});
  const auto raw = result.at(layer);  // what the logits depend on (a token layer's [B,T,D])
  const auto h = detail::output_map(model.info(), result, layer);
  const auto logits = result.at("logits");
  out.height = h.size(2);
  out.width = h.size(3);
  detail::check_sites(sites, h.size(0), out.height, out.width, layer);
  out.logits = logits.detach();
  out.activations = sites.empty() ? h.new_empty({0, h.size(1)}) : detail::gather_sites(h.detach(), sites);
  out.attributions = logits.new_zeros({static_cast<std::int64_t>(sites.size()), logits.size(1)});
  if (sites.empty()) return out;
  if (!raw.requires_grad()) throw input_error(layer, "the layer's activations carry no gradient");

  // Round r takes the r-th site of every image: one direction per image per pass.
  std::vector<std::vector<std::size_t>> rounds;
  {
    std::vector<std::size_t> seen(static_cast<std::size_t>(h.size(0)), 0);
    for (std::size_t k = 0; k < sites.size(); ++k) {
      const std::size_t r = seen[static_cast<std::size_t>(sites[k].image)]++;
      if (rounds.size() <= r) rounds.resize(r + 1);
      rounds[r].push_back(k);
    }
  }

  const auto u = ::torch::zeros_like(logits).requires_grad_(true);
  const auto g_raw = ::torch::autograd::grad({(logits * u).sum()}, {raw}, {}, /*retain_graph=*/true,
                                             /*create_graph=*/true, /*allow_unused=*/true)[0];
  if (!g_raw.defined() || !g_raw.requires_grad()) {
    // The logits do not depend on h (or only through something constant): attribution 0.
    return out;
  }
  const auto g = layer_map(find_layer(model.info(), layer), g_raw);  // [B,D,h,w], still a function of u
  const auto h_detached = h.detach();
  for (std::size_t r = 0; r < rounds.size(); ++r) {
    std::vector<std::int64_t> bs, ys, xs;
    for (auto k : rounds[r]) {
      bs.push_back(sites[k].image);
      ys.push_back(sites[k].where.y);
      xs.push_back(sites[k].where.x);
    }
    // dir = h at each image's site of this round, 0 elsewhere.
    auto mask = ::torch::zeros({h.size(0), out.height, out.width}, h.options());
    mask.index_put_({::torch::tensor(bs, ::torch::kLong).to(h.device()), ::torch::tensor(ys, ::torch::kLong).to(h.device()),
                     ::torch::tensor(xs, ::torch::kLong).to(h.device())},
                    1.0f);
    const auto dir = h_detached * mask.unsqueeze(1);
    const bool last = r + 1 == rounds.size();
    const auto jvp = ::torch::autograd::grad({(g * dir).sum()}, {u}, {}, /*retain_graph=*/!last,
                                             /*create_graph=*/false, /*allow_unused=*/true)[0];
    if (!jvp.defined()) continue;
    std::vector<std::int64_t> rows, images;
    for (auto k : rounds[r]) {
      rows.push_back(static_cast<std::int64_t>(k));
      images.push_back(sites[k].image);
    }
    const auto row_index = ::torch::tensor(rows, ::torch::kLong).to(logits.device());
    const auto image_index = ::torch::tensor(images, ::torch::kLong).to(logits.device());
    out.attributions.index_copy_(0, row_index, jvp.detach().index_select(0, image_index));
  }
  return out;
}

}  // namespace actatlas
